"""``POST /v1/responses/input_tokens``: how many input tokens a Responses request would use.

The request goes the way a ``create`` would (auth, model allowances, the stored
conversation, tool checks, PII masking) but ends at the count: a deployment whose upstream
speaks Responses natively counts it itself (exact, its own tokenizer); for every other one
the gateway estimates it from the translated prompt (characters over
``retrieval.chat.chars_per_token``, the estimate quotas reserve with), since chat
completions servers have no count endpoint. Nothing is stored and no usage is charged.
"""

from __future__ import annotations

import time

import msgspec

from gateway.api.http._exchange import Exchange
from gateway.api.openai.responses._native import responses_body
from gateway.api.openai.responses.serving import ResponsesServing, state_of
from gateway.policy.pipeline import Call
from gateway.policy.quotas import estimate_prompt_tokens
from gateway.providers import Target
from gateway.providers.routing import Deployment, ModelRoute

__all__ = ["InputTokensServing"]

_encode = msgspec.json.Encoder().encode
_NOT_COUNTED = ("stream", "stream_options", "store", "include", "background")


class InputTokensServing(ResponsesServing):
    async def _respond(
        self, call: Call, route: ModelRoute, exchange: Exchange, sent: list[bool]
    ) -> None:
        state = state_of(call)
        chars_per_token = self._backend().search.settings.chars_per_token

        async def attempt(deployment: Deployment, target: Target) -> int:
            upstream = self._upstream(call, state, deployment, target)
            if not self._native(deployment):
                return estimate_prompt_tokens(upstream, chars_per_token=chars_per_token)
            body = responses_body(upstream, passthrough=state.passthrough)
            for name in _NOT_COUNTED:
                body.pop(name, None)
            counted = await self._providers.responses(deployment.kind).count_input_tokens(
                target, body
            )
            tokens = counted.get("input_tokens")
            if isinstance(tokens, int) and not isinstance(tokens, bool):
                return tokens
            return estimate_prompt_tokens(upstream, chars_per_token=chars_per_token)

        tokens = await self._router.call(route, attempt, call.trace)
        payload = _encode({"object": "response.input_tokens", "input_tokens": tokens})
        exchange.unwatch()
        call.overhead_s = time.perf_counter() - call.started - call.trace.upstream_s
        sent[0] = True
        await exchange.send_json(200, payload, self._headers(call))
