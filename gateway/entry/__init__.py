"""Entry points: the Litestar app factory, the `ragway` CLI, the process supervisor."""
