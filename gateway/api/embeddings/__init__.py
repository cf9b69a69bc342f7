"""embeddings endpoints."""
