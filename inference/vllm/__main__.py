"""``python -m inference.vllm``: the vLLM supervisor inside vLLM's own image.

The vLLM container has vLLM's dependencies, not ragway's (no psycopg, litestar, click), so it
runs this entry point rather than ``ragway inference serve --backend vllm``; both call
``serve_vllm`` with the same settings. Needs only pydantic, PyYAML and httpx.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from configs import SettingsError, configure_logging, load_settings
from inference.errors import InferenceError
from inference.vllm._serve import serve_vllm


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m inference.vllm", description=__doc__)
    parser.add_argument("--config", action="append", type=Path, default=None)
    parser.add_argument("--model", help="manifest model to serve (inference.vllm.model)")
    args = parser.parse_args(argv)
    try:
        settings = load_settings(config_files=args.config)
    except SettingsError as exc:
        print(exc, file=sys.stderr)  # noqa: T201 - a CLI's error message
        return 2
    configure_logging(settings.logging, process="vllm-supervisor")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        serve_vllm(settings.inference, model=args.model, stop=stop)
    except InferenceError as exc:
        print(f"error: {exc}", file=sys.stderr)  # noqa: T201
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
