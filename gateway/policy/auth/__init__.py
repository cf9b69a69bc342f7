"""Authentication: bearer API keys to Principals, cached per process and kept coherent."""

from __future__ import annotations

from gateway.policy.auth._cache import KeyCache
from gateway.policy.auth._db import DatabaseAuthenticator, active_principal, principal_from_record
from gateway.policy.auth._dependency import bearer_token, principal_dependency, request_key
from gateway.policy.auth._invalidation import KeyChangeListener, RedisKeyEvents, key_change_channel
from gateway.policy.auth._principal import Authenticator, Principal, Role

__all__ = [
    "Authenticator",
    "DatabaseAuthenticator",
    "KeyCache",
    "KeyChangeListener",
    "Principal",
    "RedisKeyEvents",
    "Role",
    "active_principal",
    "bearer_token",
    "key_change_channel",
    "principal_dependency",
    "principal_from_record",
    "request_key",
]
