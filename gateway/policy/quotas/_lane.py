"""A lean, pipelined Redis connection for the quota scripts (one per process).

- commands are packed with hiredis and replies parsed with ``hiredis.Reader``;
- every command issued in one event-loop turn leaves in ONE socket write (automatic
  pipelining), or at once when nothing is in flight; replies are matched in order;
- commands that can wait (settlements) ride along with the next write, or leave after
  ``defer_s`` at the latest;
- a script missing on the server (``NOSCRIPT``) is loaded and run again;
- each connect asks where the master is (``ingestion.redis_clients``: the URL's server, or
  the one Redis Sentinel names), and a ``READONLY`` reply (a demoted master) drops the
  connection, so after a fail-over the next command reaches the new master.

Errors are redis-py's, so callers keep one exception tree. A lost connection fails the
commands in flight and the next command reconnects; one unanswered for ``timeout_s`` closes
the connection. Why and what it saves: docs/architecture.md (hot path), docs/performance.md.
"""

from __future__ import annotations

import asyncio
import hashlib
import ssl
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import hiredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ingestion.redis_clients import RedisAddress, RedisConnector

__all__ = ["LuaScript", "RedisLane"]


@dataclass(frozen=True)
class LuaScript:
    """A Lua script run by its SHA1, loaded on demand."""

    source: str
    sha: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sha", hashlib.sha1(self.source.encode()).hexdigest())  # noqa: S324 - Redis names scripts by SHA1


def _pack(args: tuple[str | int | float | bytes, ...]) -> bytes:
    packed: bytes = hiredis.pack_command(args)  # type: ignore[arg-type]  # stub: a 1-tuple
    return packed


async def _settled(futures: list[asyncio.Future[Any]]) -> list[Any]:
    """Every future's result; the first exception (connection lost, timeout) is raised after
    all are done, so none is left unretrieved."""
    if len(futures) == 1:  # the usual batch of one: no gather machinery
        return [await futures[0]]
    results = await asyncio.gather(*futures, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException) and not isinstance(result, hiredis.ReplyError):
            raise result  # error replies are results (hiredis.ReplyError), handled by callers
    return results


def _reply_error(error: hiredis.ReplyError) -> ResponseError:
    message = str(error)
    if message.startswith("NOSCRIPT"):
        return NoScriptError(message)
    return ResponseError(message)


def _demoted(reply: Any) -> bool:
    """A master turned replica refuses writes: the connection is to the wrong server."""
    return isinstance(reply, hiredis.ReplyError) and str(reply).startswith("READONLY")


class _Protocol(asyncio.Protocol):
    """One connection: replies resolve the waiting futures in order."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.waiters: deque[tuple[asyncio.Future[Any], float]] = deque()
        self.closed = False
        self._reader = hiredis.Reader()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast("asyncio.Transport", transport)  # uvloop's is no subclass of it

    def data_received(self, data: bytes) -> None:
        self._reader.feed(data)
        waiters = self.waiters
        try:
            while waiters:
                reply = self._reader.gets()
                if reply is False:
                    return
                future = waiters.popleft()[0]
                if not future.done():  # a cancelled caller's reply is dropped
                    future.set_result(reply)
        except hiredis.ProtocolError as exc:
            self.fail(RedisConnectionError(f"Redis protocol error: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.fail(
            RedisConnectionError(f"connection to Redis lost: {exc or 'closed by the server'}")
        )

    def fail(self, error: Exception) -> None:
        self.closed = True
        while self.waiters:
            future = self.waiters.popleft()[0]
            if not future.done():
                future.set_exception(error)
        if self.transport is not None:
            self.transport.close()


class RedisLane:
    """One pipelined connection per process; ``call`` and ``run`` are safe from any task."""

    def __init__(self, redis: str | RedisConnector, *, timeout_s: float) -> None:
        self._locator = RedisConnector.of(redis).locator()
        self._timeout_s = timeout_s
        self._protocol: _Protocol | None = None
        self._connecting: asyncio.Future[_Protocol] | None = None
        self._pending: list[bytes] = []
        self._flush_scheduled = False
        self._deferred: asyncio.TimerHandle | None = None
        self._watchdog: asyncio.TimerHandle | None = None

    async def call(self, *args: str | int | float | bytes) -> Any:
        """Send one command (pipelined with others of this loop turn); its decoded reply."""
        protocol = await self._ready()
        reply = await self._enqueue(protocol, args)
        if isinstance(reply, hiredis.ReplyError):
            self._check_role(protocol, reply)
            raise _reply_error(reply)
        return reply

    async def run(self, script: LuaScript, keys: list[str], args: list[str | int]) -> Any:
        """EVALSHA, loading the script first when Redis does not know it (restart, flush)."""
        command = ("EVALSHA", script.sha, len(keys), *keys, *args)
        protocol = await self._ready()
        reply = await self._enqueue(protocol, command)
        if isinstance(reply, hiredis.ReplyError):
            self._check_role(protocol, reply)
            if not str(reply).startswith("NOSCRIPT"):
                raise _reply_error(reply)
            await self.call("SCRIPT", "LOAD", script.source)
            return await self.call(*command)
        return reply

    async def run_many(
        self,
        script: LuaScript,
        calls: Sequence[tuple[list[str], list[str | int]]],
        *,
        defer_s: float = 0.0,
    ) -> list[Any]:
        """One script for each (keys, args), all in one write; the replies in order.

        ``defer_s``: the write may wait that long for another command to ride along with
        (it leaves with the next command that cannot wait). An error reply raises
        ``ResponseError`` after every call was answered."""
        protocol = await self._ready()
        futures = [
            self._enqueue(protocol, ("EVALSHA", script.sha, len(keys), *keys, *args), defer_s)
            for keys, args in calls
        ]
        replies = await _settled(futures)
        for reply in replies:
            self._check_role(protocol, reply)
        missing = [
            i
            for i, reply in enumerate(replies)
            if isinstance(reply, hiredis.ReplyError) and str(reply).startswith("NOSCRIPT")
        ]
        if missing:
            await self.call("SCRIPT", "LOAD", script.source)
            protocol = await self._ready()
            again = await _settled(
                [
                    self._enqueue(protocol, ("EVALSHA", script.sha, len(keys), *keys, *args))
                    for keys, args in (calls[i] for i in missing)
                ]
            )
            for i, reply in zip(missing, again, strict=True):
                replies[i] = reply
        for reply in replies:
            if isinstance(reply, hiredis.ReplyError):
                raise _reply_error(reply)
        return replies

    async def aclose(self) -> None:
        if self._deferred is not None:
            self._deferred.cancel()
            self._deferred = None
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        if self._protocol is not None:
            self._protocol.fail(RedisConnectionError("the Redis lane was closed"))
            self._protocol = None
        await self._locator.aclose()

    # -- internals -------------------------------------------------------------------
    def _check_role(self, protocol: _Protocol, reply: Any) -> None:
        """A ``READONLY`` reply: this server was demoted; drop it (the next command asks
        where the master is now) and fail as a lost connection would."""
        if _demoted(reply):
            error = RedisConnectionError("the Redis master was demoted to a replica")
            protocol.fail(error)
            raise error

    async def _ready(self) -> _Protocol:
        protocol = self._protocol
        if protocol is None or protocol.closed:
            protocol = await self._connect()
        return protocol

    def _enqueue(
        self,
        protocol: _Protocol,
        args: tuple[str | int | float | bytes, ...],
        defer_s: float = 0.0,
    ) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        idle = len(protocol.waiters) == len(self._pending)  # nothing written is unanswered
        protocol.waiters.append((future, time.monotonic()))
        self._pending.append(_pack(args))
        if not self._flush_scheduled:
            if defer_s <= 0.0:
                if idle:
                    self._flush(protocol)  # deferred commands ride along
                else:
                    self._flush_scheduled = True
                    loop.call_soon(self._flush, protocol)
            elif self._deferred is None:
                self._deferred = loop.call_later(defer_s, self._flush, protocol)
        if self._watchdog is None:
            self._watchdog = loop.call_later(self._timeout_s, self._check)
        return future

    def _flush(self, protocol: _Protocol) -> None:
        self._flush_scheduled = False
        if self._deferred is not None:
            self._deferred.cancel()
            self._deferred = None
        if not self._pending:
            return
        data, self._pending = b"".join(self._pending), []
        if protocol.closed or protocol.transport is None:
            protocol.fail(RedisConnectionError("connection to Redis lost"))
            return
        protocol.transport.write(data)

    def _check(self) -> None:
        """Watchdog: the oldest command in flight must have been answered within the timeout."""
        self._watchdog = None
        protocol = self._protocol
        if protocol is None or protocol.closed or not protocol.waiters:
            return
        age = time.monotonic() - protocol.waiters[0][1]
        if age >= self._timeout_s:
            protocol.fail(RedisTimeoutError(f"Redis did not answer within {self._timeout_s:g} s"))
            return
        loop = asyncio.get_running_loop()
        self._watchdog = loop.call_later(self._timeout_s - age, self._check)

    async def _connect(self) -> _Protocol:
        if self._connecting is None:
            self._connecting = asyncio.get_running_loop().create_future()
            try:
                protocol = await self._open()
            except BaseException as exc:
                self._connecting.set_exception(exc)
                self._connecting.exception()  # retrieved here: other callers may be none
                self._connecting = None
                raise
            self._protocol = protocol
            self._connecting.set_result(protocol)
            self._connecting = None
            return protocol
        return await asyncio.shield(self._connecting)

    async def _open(self) -> _Protocol:
        loop = asyncio.get_running_loop()
        protocol: _Protocol | None = None
        try:
            async with asyncio.timeout(self._timeout_s):
                address = await self._locator.master()
                if address.path is not None:
                    _, protocol = await loop.create_unix_connection(_Protocol, address.path)
                else:
                    context = ssl.create_default_context() if address.tls else None
                    _, protocol = await loop.create_connection(
                        _Protocol, address.host, address.port, ssl=context
                    )
                await self._handshake(protocol, address)
        except BaseException as exc:
            if protocol is not None:
                protocol.fail(RedisConnectionError("connection set-up failed"))
            if isinstance(exc, TimeoutError):  # asyncio.timeout's (the builtin)
                message = f"connecting to Redis timed out after {self._timeout_s:g} s"
                raise RedisTimeoutError(message) from exc
            if isinstance(exc, OSError):
                raise RedisConnectionError(f"cannot connect to Redis: {exc}") from exc
            raise
        return protocol

    async def _handshake(self, protocol: _Protocol, address: RedisAddress) -> None:
        commands: list[tuple[str | int, ...]] = []
        if address.password is not None:
            auth: tuple[str, ...] = ("AUTH", address.password)
            if address.username:
                auth = ("AUTH", address.username, address.password)
            commands.append(auth)
        if address.db:
            commands.append(("SELECT", address.db))
        if not commands:
            return
        assert protocol.transport is not None
        loop = asyncio.get_running_loop()
        futures = []
        for _ in commands:
            future: asyncio.Future[Any] = loop.create_future()
            protocol.waiters.append((future, time.monotonic()))
            futures.append(future)
        protocol.transport.write(b"".join(_pack(c) for c in commands))
        for future in futures:
            reply = await future
            if isinstance(reply, hiredis.ReplyError):
                raise RedisConnectionError(f"Redis refused the connection set-up: {reply}")
