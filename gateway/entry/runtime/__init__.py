"""Running the whole stack on one machine: embedded services, the run lock and the supervisor."""

from __future__ import annotations

from gateway.entry.runtime._lock import AlreadyRunningError, RunLock
from gateway.entry.runtime._postgres import EmbeddedPostgres
from gateway.entry.runtime._redis import EmbeddedRedis, redis_executable
from gateway.entry.runtime._stackfile import RunningStack, StackFile, with_running_stack
from gateway.entry.runtime._supervisor import StackError, Supervisor

__all__ = [
    "AlreadyRunningError",
    "EmbeddedPostgres",
    "EmbeddedRedis",
    "RunLock",
    "RunningStack",
    "StackError",
    "StackFile",
    "Supervisor",
    "redis_executable",
    "with_running_stack",
]
