"""Dramatiq actors, declared on an explicit broker with their collaborators injected.

Actors take ids (never payloads), are idempotent and declare their retry policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import dramatiq
from dramatiq import Actor, Broker

__all__ = ["PING_ACTOR", "Actors", "KeyValueStore", "declare_actors"]

PING_ACTOR = "ping"


class KeyValueStore(Protocol):
    """The part of a Redis client the system actors need."""

    def set(self, name: str, value: str, ex: int | None = None) -> Any: ...


@dataclass(frozen=True, slots=True)
class Actors:
    """The actors a worker runs, by name."""

    ping: Actor[[str], None]


def declare_actors(broker: Broker, *, store: KeyValueStore, key_prefix: str) -> Actors:
    """Declare every actor on ``broker``; call once per process."""

    def ping(token: str) -> None:
        """Liveness probe of the queue path: records that a worker picked up ``token``."""
        store.set(f"{key_prefix}worker:ping:{token}", "pong", ex=300)

    return Actors(
        ping=dramatiq.actor(
            broker=broker, actor_name=PING_ACTOR, queue_name="default", max_retries=3
        )(ping),
    )
