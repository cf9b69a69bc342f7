"""Policy: the hook pipeline and every step it runs (auth, quotas, PII, tools, ...)."""
