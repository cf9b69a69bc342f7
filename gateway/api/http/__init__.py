"""The gateway's HTTP server: uvicorn protocol, direct exchanges, request class."""
