"""The core's own hooks: authentication and model access."""

from __future__ import annotations

from typing import Any, ClassVar

from gateway.platform.errors import AuthenticationError, PermissionDeniedError
from gateway.policy.auth import Authenticator, Principal
from gateway.policy.pipeline._call import Call
from gateway.policy.pipeline._hook import Hook, Stage

__all__ = ["AuthHook", "ModelAccessHook"]


class AuthHook(Hook):
    """The bearer key -> ``call.principal``; missing or invalid keys get 401.

    A call the gateway makes itself for a key (``OpenAIServing.serve(principal=)``) arrives
    authenticated: its principal was loaded by id and checked when the work was picked up.
    """

    name: ClassVar[str] = "auth"
    stage: ClassVar[Stage] = Stage.AUTH

    def __init__(self, authenticator: Authenticator) -> None:
        self._authenticator = authenticator

    async def on_request(self, call: Call) -> None:
        if call.principal is None:
            call.principal = await self._authenticator.authenticate(call.token)


class ModelAccessHook(Hook):
    """The key must be allowed to use the requested model alias (403 otherwise).

    Verdicts are memoised per (allowed patterns, alias): glob matching on every request
    showed up in profiles, and both sides come from small, bounded sets.
    """

    name: ClassVar[str] = "model_access"
    stage: ClassVar[Stage] = Stage.POLICY

    def __init__(self, *, max_entries: int = 10_000) -> None:
        self._verdicts: dict[tuple[tuple[str, ...], str], bool] = {}
        self._max_entries = max_entries

    def _allowed(self, principal: Principal, alias: str) -> bool:
        key = (principal.allowed_models, alias)
        verdict = self._verdicts.get(key)
        if verdict is None:
            if len(self._verdicts) >= self._max_entries:
                self._verdicts.clear()
            verdict = self._verdicts[key] = principal.may_use_model(alias)
        return verdict

    def span_attributes(self, call: Call) -> dict[str, Any] | None:
        return None  # a remembered verdict: no span (a refusal is one, as every error)

    async def on_request(self, call: Call) -> None:
        principal = call.principal
        if principal is None:
            raise AuthenticationError("this request was not authenticated")
        if call.model is not None and not self._allowed(principal, call.model):
            raise PermissionDeniedError(
                f"this API key may not use model '{call.model}'", param="model"
            )
