"""completions endpoints."""
