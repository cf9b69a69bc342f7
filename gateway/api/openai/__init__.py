"""The OpenAI-compatible endpoint families and their shared serving core."""
