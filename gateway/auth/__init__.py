"""Authentication: bearer API keys to Principals."""

from __future__ import annotations

from gateway.auth._db import DatabaseAuthenticator
from gateway.auth._principal import Authenticator, Principal, Role

__all__ = ["Authenticator", "DatabaseAuthenticator", "Principal", "Role"]
