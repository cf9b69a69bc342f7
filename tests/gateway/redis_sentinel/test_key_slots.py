"""Which Redis Cluster slots each script and multi-key command of ragway touches.

Real traffic of every Redis role (quota reservations, settlements and the month's seed,
console sessions and the sign-in failure count, a key-change announcement, the Dramatiq
broker's enqueue / fetch / ack / dead-worker sweep / stats, worker presence) runs against a
Redis of the test's own while ``MONITOR`` records every command, the commands scripts run
inside them included. For each script call the test computes the slot (``redis.crc.key_slot``)
of every key it was given and every key it touched (``COMMAND GETKEYS`` of each inner
command): what docs/deployment.md ("Redis Cluster") says is measured here.

- The quota scripts touch only the keys they are given, all in the API key's slot
  (``quota:{key_id}:...``).
- No MULTI/EXEC anywhere, and no plain command names keys of two slots.
- Dramatiq's ``dispatch.lua`` is given only the namespace and touches other keys it builds
  itself, in several slots: the Redis broker is not cluster-safe (use RabbitMQ).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import dramatiq
import pytest
import redis
from redis.asyncio import Redis as AsyncRedis
from redis.crc import key_slot

from configs import ConsoleSettings, QuotaSettings, WorkerSettings
from gateway.api.console import SessionStore
from gateway.entry.runtime import EmbeddedRedis
from gateway.platform.prices import Price, PriceBook
from gateway.policy import quotas as quotas_package
from gateway.policy.auth import Principal, RedisKeyEvents
from gateway.policy.quotas import QuotaService, RedisLane
from ingestion.queue import build_broker, record_worker, sweep_dead_workers
from tests.support.net import free_port

_LINE = re.compile(rb"^\d+\.\d+ \[\d+ ([^\]]+)\] (.*)$")
_ARG = re.compile(rb'"((?:[^"\\]|\\.)*)"')
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"a": b"\a", b"b": b"\b"}


def _unescape(raw: bytes) -> bytes:
    out, i = bytearray(), 0
    while i < len(raw):
        if raw[i : i + 1] == b"\\" and i + 1 < len(raw):
            nxt = raw[i + 1 : i + 2]
            if nxt == b"x":
                out += bytes([int(raw[i + 2 : i + 4], 16)])
                i += 4
                continue
            out += _ESCAPES.get(nxt, nxt)
            i += 2
            continue
        out += raw[i : i + 1]
        i += 1
    return bytes(out)


@dataclass
class ScriptCall:
    sha: str
    declared: list[bytes]
    inner: list[list[bytes]] = field(default_factory=list)


@dataclass
class Recording:
    scripts: list[ScriptCall] = field(default_factory=list)
    commands: list[list[bytes]] = field(default_factory=list)  # outside scripts


class Monitor:
    """Everything one Redis runs, from ``MONITOR``, until ``stop``."""

    def __init__(self, url: str) -> None:
        self._client = redis.Redis.from_url(url, socket_timeout=0.2)
        self._monitor = self._client.monitor()  # type: ignore[no-untyped-call]
        self._lines: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)

    def __enter__(self) -> Monitor:
        self._monitor.__enter__()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._monitor.__exit__()
        self._client.close()

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                line = self._monitor.connection.read_response()
            except redis.TimeoutError:
                continue
            except redis.ConnectionError:
                return
            if isinstance(line, bytes):
                self._lines.append(line)

    def recording(self) -> Recording:
        recorded = Recording()
        current: ScriptCall | None = None
        for line in self._lines:
            match = _LINE.match(line)
            if match is None:
                continue
            source, args = match.group(1), [_unescape(a) for a in _ARG.findall(match.group(2))]
            if not args:
                continue
            if source == b"lua":
                assert current is not None, line
                current.inner.append(args)
                continue
            name = args[0].upper()
            if name in (b"EVAL", b"EVALSHA"):
                sha = args[1].decode() if name == b"EVALSHA" else "eval"
                numkeys = int(args[2])
                current = ScriptCall(sha, args[3 : 3 + numkeys])
                recorded.scripts.append(current)
            else:
                current = None
                recorded.commands.append(args)
        return recorded


class _NoSpend:
    async def spent_micro(self, key_id: str, start: datetime, end: datetime) -> int:
        return 0


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(tmp_path / "redis", port=free_port(), persist=False)
    server.start()
    yield server
    server.stop()


async def _every_role(url: str, prefix: str) -> tuple[str, str, tuple[str, str], str]:
    """Traffic of every Redis role; the shas of reserve.lua, settle.lua, Dramatiq's
    dispatch.lua and maxstack.lua, and the quota key id."""
    key_id = f"key_{secrets.token_hex(6)}"
    principal = Principal(
        key_id=key_id,
        name="slots",
        role="member",
        display_prefix="sk-rgw-x",
        rpm=1000,
        tpm=100_000,
        tokens_per_day=1_000_000,
        monthly_budget_usd=100.0,
    )
    lane = RedisLane(url, timeout_s=2)
    prices = PriceBook({"m": Price(1.0, 2.0)}, {"m": ["m"]})
    quotas = QuotaService(
        redis=lane, settings=QuotaSettings(), key_prefix=prefix, prices=prices, spend=_NoSpend()
    )
    quotas.start()
    for _ in range(3):
        held = await quotas.reserve(principal, model="m", prompt_tokens=10, max_tokens=20)
        quotas.settle(held, model="m", deployment="m", prompt_tokens=10, completion_tokens=5)
    await quotas.drain()
    await quotas.close()
    await lane.aclose()

    client = AsyncRedis.from_url(url)
    sessions = SessionStore(client, ConsoleSettings(), key_prefix=prefix)
    token, _ = await sessions.start(key_id)
    assert await sessions.find(token) is not None
    await sessions.count_failure("203.0.113.7")
    await sessions.check_failures("203.0.113.7")
    await sessions.end(token)
    await RedisKeyEvents(client, channel=f"{prefix}keys:changed").key_changed(key_id)
    await client.aclose()

    def broker_traffic() -> tuple[str, str]:
        broker = build_broker(url, WorkerSettings(namespace=f"{prefix}dramatiq", queues=("q",)))
        try:
            message: dramatiq.Message[Any] = dramatiq.Message(
                queue_name="q", actor_name="a", args=(1,), kwargs={}, options={}
            )
            broker.enqueue(message)
            broker.enqueue(message.copy(), delay=60_000)
            consumer = broker.consume("q", prefetch=1, timeout=100)
            fetched = next(consumer)
            assert fetched is not None
            consumer.ack(fetched)
            consumer.close()
            sweep_dead_workers(broker, "q")
            record_worker(broker)
            broker.depth("q"), broker.dead_letters("q"), broker.live_workers("q")
            return str(broker.scripts["dispatch"].sha), str(broker.scripts["maxstack"].sha)
        finally:
            broker.close()

    dramatiq_shas = await asyncio.to_thread(broker_traffic)
    return _sha("reserve.lua"), _sha("settle.lua"), dramatiq_shas, key_id


def _sha(script: str) -> str:
    """The SHA1 Redis names a script of the quota package by."""
    source = (Path(quotas_package.__file__).parent / script).read_text()
    return hashlib.sha1(source.encode()).hexdigest()


def _keys(client: redis.Redis, command: list[bytes]) -> list[bytes]:
    """The keys of ``command`` as the server itself finds them (none for a keyless one)."""
    try:
        keys = client.command_getkeys(*command)
    except redis.ResponseError:
        return []  # e.g. PUBLISH, PING: no key arguments
    return [k if isinstance(k, bytes) else str(k).encode() for k in keys]


def _slots(keys: list[bytes]) -> set[int]:
    return {key_slot(key) for key in keys}


async def test_every_script_and_multi_key_command_stays_in_one_slot_but_dramatiqs_broker(
    own_redis: EmbeddedRedis,
) -> None:
    prefix = "ragway:"  # the default prefix and namespace: what a deployment would run
    with Monitor(own_redis.url) as monitor:
        reserve, settle, (dispatch, maxstack), key_id = await _every_role(own_redis.url, prefix)
        await asyncio.sleep(0.3)  # the last lines reach the monitor
    recording = monitor.recording()
    client = redis.Redis.from_url(own_redis.url)
    report: dict[str, Any] = {}
    try:
        by_sha: dict[str, list[ScriptCall]] = {}
        for call in recording.scripts:
            by_sha.setdefault(call.sha, []).append(call)
        assert set(by_sha) <= {reserve, settle, dispatch, maxstack}, set(by_sha)
        assert {reserve, settle, dispatch} <= set(by_sha)
        for call in by_sha.get(maxstack, []):  # Dramatiq's probe of Lua's stack: no keys
            assert call.declared == []
            assert not [k for inner in call.inner for k in _keys(client, inner)]

        for name, sha in (("reserve.lua", reserve), ("settle.lua", settle)):
            for call in by_sha[sha]:
                touched = {k for inner in call.inner for k in _keys(client, inner)}
                assert touched <= set(call.declared), (name, touched - set(call.declared))
                assert _slots(call.declared) == {key_slot(key_id.encode())}, name
                assert all(f"{{{key_id}}}".encode() in k for k in call.declared)
            report[name] = f"{len(by_sha[sha])} calls, 1 slot, only declared keys"

        undeclared: set[bytes] = set()
        slots: set[int] = set()
        for call in by_sha[dispatch]:
            assert call.declared == [f"{prefix}dramatiq".encode()]
            touched = {k for inner in call.inner for k in _keys(client, inner)}
            undeclared |= touched - set(call.declared)
            slots |= _slots([*call.declared, *touched])
        assert undeclared, "dispatch.lua touched only its declared key"
        assert len(slots) > 1  # not cluster-safe: keys it builds itself, in several slots
        report["dramatiq dispatch.lua"] = (
            f"{len(by_sha[dispatch])} calls, {len(undeclared)} undeclared keys, {len(slots)} slots"
        )

        names = {command[0].upper() for command in recording.commands}
        assert not names & {b"MULTI", b"EXEC", b"WATCH"}, names
        multi_key = [c for c in recording.commands if len(_keys(client, c)) > 1]
        for command in multi_key:
            assert len(_slots(_keys(client, command))) == 1, command
        report["plain commands"] = (
            f"{len(recording.commands)} ({len(multi_key)} with several keys, each one slot); "
            "no MULTI"
        )
    finally:
        client.close()
    print(report)
