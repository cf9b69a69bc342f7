"""The job queue: a Dramatiq broker on Redis and the actors workers run."""

from __future__ import annotations

from ingestion.queue._actors import PING_ACTOR, Actors, KeyValueStore, declare_actors
from ingestion.queue._broker import build_broker

__all__ = ["PING_ACTOR", "Actors", "KeyValueStore", "build_broker", "declare_actors"]
