"""chat endpoints."""
