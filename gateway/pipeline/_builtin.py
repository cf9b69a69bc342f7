"""The core's own hooks: authentication and model access."""

from __future__ import annotations

from typing import ClassVar

from gateway.auth import Authenticator
from gateway.errors import AuthenticationError, PermissionDeniedError
from gateway.pipeline._call import Call
from gateway.pipeline._hook import Hook, Stage

__all__ = ["AuthHook", "ModelAccessHook"]


class AuthHook(Hook):
    """The bearer key -> ``call.principal``; missing or invalid keys get 401."""

    name: ClassVar[str] = "auth"
    stage: ClassVar[Stage] = Stage.AUTH

    def __init__(self, authenticator: Authenticator) -> None:
        self._authenticator = authenticator

    async def on_request(self, call: Call) -> None:
        call.principal = await self._authenticator.authenticate(call.token)


class ModelAccessHook(Hook):
    """The key must be allowed to use the requested model alias (403 otherwise)."""

    name: ClassVar[str] = "model_access"
    stage: ClassVar[Stage] = Stage.POLICY

    async def on_request(self, call: Call) -> None:
        principal = call.principal
        if principal is None:
            raise AuthenticationError("this request was not authenticated")
        if call.model is not None and not principal.may_use_model(call.model):
            raise PermissionDeniedError(
                f"this API key may not use model '{call.model}'", param="model"
            )
