"""API keys: generation, hashing, the start-up admin key and the service that manages keys."""

from __future__ import annotations

from gateway.policy.keys._bootstrap import ADMIN_KEY_ENV, BootstrapResult, ensure_admin_key
from gateway.policy.keys._model import CreatedKey, KeyCreate, KeyRecord, KeyUpdate
from gateway.policy.keys._secrets import (
    KEY_PREFIX,
    SUPPLIED_DISPLAY,
    NewKey,
    display_prefix,
    hash_key,
    key_label,
    new_key,
)
from gateway.policy.keys._service import (
    KEY_COLUMNS,
    KeyEvents,
    KeyInactiveError,
    KeyNotFoundError,
    KeyService,
    record_from_row,
)
from gateway.policy.keys._strength import (
    MIN_SUPPLIED_KEY_BITS,
    WeakKeyError,
    check_supplied_key,
    estimated_bits,
)

__all__ = [
    "ADMIN_KEY_ENV",
    "KEY_COLUMNS",
    "KEY_PREFIX",
    "MIN_SUPPLIED_KEY_BITS",
    "SUPPLIED_DISPLAY",
    "BootstrapResult",
    "CreatedKey",
    "KeyCreate",
    "KeyEvents",
    "KeyInactiveError",
    "KeyNotFoundError",
    "KeyRecord",
    "KeyService",
    "KeyUpdate",
    "NewKey",
    "WeakKeyError",
    "check_supplied_key",
    "display_prefix",
    "ensure_admin_key",
    "estimated_bits",
    "hash_key",
    "key_label",
    "new_key",
    "record_from_row",
]
