"""The rules of ``Idempotency-Key``, independent of how a request reaches them.

A request with a key first ``claim``s it. The one that gets the claim runs and, before its
answer goes out, ``settle``s it: kept if it may be replayed (``replayable``), else the key
is released, so a retry runs again. A request that does not get the claim is a duplicate:
once its body is digested, ``replay`` waits (at most ``wait_s``) for the first request's
answer and returns it, or refuses: 422 when the key was first used for another method,
path or body, 409 when the first request is still running or ended without an answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from types import TracebackType

from configs import IdempotencySettings
from gateway.platform.errors import ConflictError, GatewayError, UnprocessableError
from gateway.platform.idempotency._store import IdempotencyStore, IdempotentRequest, KeptAnswer

__all__ = ["Claim", "Idempotency", "replayable"]

_log = logging.getLogger(__name__)

PURGE_INTERVAL_S = 60.0
_FIRST_POLL_S = 0.02
_MAX_POLL_S = 0.25


def replayable(status: int) -> bool:
    """Only successes are kept: an error created nothing, so a retry may run again (and a
    400 for the same body comes back the same); 409, 429 and 5xx may pass with time."""
    return 200 <= status < 300


class Idempotency:
    """Built once per process over the ``idempotency_keys`` table."""

    def __init__(
        self,
        store: IdempotencyStore,
        settings: IdempotencySettings,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._store = store
        self._settings = settings
        self._clock = clock
        self._sleep = sleep
        self._next_purge = clock()

    async def claim(self, request: IdempotentRequest) -> Claim | None:
        """The key for this request to run with; None when it is a duplicate."""
        owner = await self._store.claim(request)
        if owner is None:
            return None
        if self._clock() >= self._next_purge:
            self._next_purge = self._clock() + PURGE_INTERVAL_S
            await self._purge_quietly()
        return Claim(self._store, request, owner, renew_every_s=self._settings.lease_s / 3)

    async def replay(self, request: IdempotentRequest, fingerprint: bytes) -> KeptAnswer:
        """The first answer for a duplicate with the same body; 422 or 409 otherwise."""
        deadline = self._clock() + self._settings.wait_s
        delay = _FIRST_POLL_S
        while True:
            seen = await self._store.find(request)
            if seen is None or (seen.answer is None and not seen.live):
                raise _unfinished()  # released, expired or abandoned meanwhile
            if (seen.method, seen.path) != (request.method, request.path):
                raise _reused(f"was first used for {seen.method} {seen.path}")
            if seen.answer is not None:
                if seen.fingerprint != fingerprint:
                    raise _reused(f"was first used with a different body for {seen.path}")
                return seen.answer
            left = deadline - self._clock()
            if left <= 0:
                raise _in_use(self._settings.wait_s)
            await self._sleep(min(delay, left))
            delay = min(2 * delay, _MAX_POLL_S)

    async def _purge_quietly(self) -> None:
        try:
            await self._store.purge()
        except GatewayError as exc:  # the claim is made; the purge waits for the next one
            _log.warning("purge of expired idempotency keys failed", extra={"error": exc.message})


class Claim:
    """A request that owns its key: ``async with`` renews the lease while it runs and, if
    it was not settled before, releases the key at the end (an error, a cancellation)."""

    def __init__(
        self,
        store: IdempotencyStore,
        request: IdempotentRequest,
        owner: uuid.UUID,
        *,
        renew_every_s: float,
    ) -> None:
        self.request = request
        self._store = store
        self._owner = owner
        self._renew_every_s = renew_every_s
        self._renewal: asyncio.Task[None] | None = None
        self._settled = False

    async def __aenter__(self) -> Claim:
        self._renewal = asyncio.create_task(self._renew())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._renewal is not None:
            self._renewal.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewal
        await self.settle(None)

    async def settle(self, answer: KeptAnswer | None, fingerprint: bytes = b"") -> None:
        """Before the answer goes out: keep it for replays, or (None: it may not be
        replayed) release the key, so that a retry the client sends at once finds it free.

        A database failure is logged, never raised: the answer is sent all the same (what
        it created exists), and an unreleased claim's lease runs out."""
        if self._settled:
            return
        self._settled = True
        try:
            if answer is not None:
                await self._store.keep(
                    self.request, self._owner, fingerprint=fingerprint, answer=answer
                )
            else:
                await self._store.release(self.request, self._owner)
        except GatewayError as exc:
            _log.warning("idempotency key not settled", extra={"error": exc.message})

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(self._renew_every_s)
            try:
                if not await self._store.renew(self.request, self._owner):
                    return  # taken over (this process stalled past its lease)
            except GatewayError as exc:
                _log.warning("idempotency lease not renewed", extra={"error": exc.message})


def _reused(how: str) -> UnprocessableError:
    return UnprocessableError(
        f"this Idempotency-Key {how}; a key may only be retried with the same request "
        "(use a new key for a new request)",
        param="Idempotency-Key",
        code="idempotency_key_reused",
    )


def _in_use(wait_s: float) -> ConflictError:
    return ConflictError(
        f"a request with this Idempotency-Key is still running (waited {wait_s:g} s for its "
        "answer); retry shortly",
        param="Idempotency-Key",
        code="idempotency_key_in_use",
        headers={"retry-after": "1"},
    )


def _unfinished() -> ConflictError:
    return ConflictError(
        "the first request with this Idempotency-Key ended without an answer to replay "
        "(it failed); send the request again",
        param="Idempotency-Key",
        code="idempotency_key_in_use",
        headers={"retry-after": "0"},
    )
