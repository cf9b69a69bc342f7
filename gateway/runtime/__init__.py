"""Running the whole stack on one machine: embedded services, the run lock and the supervisor."""

from __future__ import annotations

from gateway.runtime._lock import AlreadyRunningError, RunLock
from gateway.runtime._postgres import EmbeddedPostgres
from gateway.runtime._redis import EmbeddedRedis, redis_executable
from gateway.runtime._stackfile import RunningStack, StackFile, with_running_stack
from gateway.runtime._supervisor import StackError, Supervisor

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
