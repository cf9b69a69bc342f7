"""``/v1/models``: the model aliases the calling key may use."""

from __future__ import annotations

import time
from collections.abc import Mapping
from contextvars import Token

from gateway.policy.auth import request_key
from gateway.api.openai.models.protocol import Model, ModelList
from gateway.platform.errors import GatewayError, NotFoundError
from gateway.policy.observability import REQUEST_ID, RequestObserver, accept_request_id
from gateway.policy.pipeline import Call, Pipeline
from gateway.providers.routing import Router

__all__ = ["ModelsServing"]


class ModelsServing:
    """Lists configured aliases filtered by ``Principal.may_use_model``."""

    def __init__(
        self, *, pipeline: Pipeline, router: Router, observer: RequestObserver, created: int
    ) -> None:
        self._pipeline = pipeline
        self._router = router
        self._observer = observer
        self._created = created

    async def list_models(self, headers: Mapping[str, str]) -> tuple[ModelList, str]:
        call, context = await self._authenticate(headers)
        try:
            principal = call.principal
            assert principal is not None
            models = [
                self._model(alias)
                for alias in sorted(self._router.routes)
                if principal.may_use_model(alias)
            ]
            return ModelList(data=models), call.request_id
        finally:
            self._done(call, context)

    async def get_model(self, headers: Mapping[str, str], model_id: str) -> tuple[Model, str]:
        call, context = await self._authenticate(headers)
        call.model = model_id
        try:
            principal = call.principal
            assert principal is not None
            if self._router.get(model_id) is None or not principal.may_use_model(model_id):
                error = NotFoundError(
                    f"The model '{model_id}' does not exist or you do not have access to it.",
                    param="model",
                    code="model_not_found",
                )
                error.headers["x-request-id"] = call.request_id
                call.error, call.status = error, error.status_code
                raise error
            return self._model(model_id), call.request_id
        finally:
            self._done(call, context)

    def _model(self, alias: str) -> Model:
        route = self._router.get(alias)
        owned_by = route.owned_by if route is not None else "ragway"
        return Model(id=alias, created=self._created, owned_by=owned_by)

    async def _authenticate(self, headers: Mapping[str, str]) -> tuple[Call, Token[str | None]]:
        """The authenticated call, and the request id's context (reset by ``_done``)."""
        call = Call(
            request_id=accept_request_id(headers.get("x-request-id")),
            endpoint="models",
            started=time.perf_counter(),
            token=request_key(headers),
            headers=headers,
        )
        context = REQUEST_ID.set(call.request_id)
        self._observer.started("models")
        try:
            await self._pipeline.authenticate(call)
        except GatewayError as exc:
            exc.headers["x-request-id"] = call.request_id
            call.error, call.status = exc, exc.status_code
            self._done(call, context)
            raise
        return call, context

    def _done(self, call: Call, context: Token[str | None]) -> None:
        self._observer.finished(call, time.perf_counter())
        REQUEST_ID.reset(context)

