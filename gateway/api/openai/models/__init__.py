"""models endpoints."""
