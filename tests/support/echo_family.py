"""A made-up endpoint family, ``POST /v1/echo``: what adding an endpoint takes.

A wire model (protocol), a serving object that forwards to a provider capability, and one
``Family`` entry; a test serves ``(*FAMILIES, ECHO)``.
"""

from __future__ import annotations

from typing import Annotated, Any

from msgspec import Meta, Struct

from gateway.api import Family, OpenAIServing
from gateway.policy.pipeline import Capabilities
from gateway.providers import Target
from gateway.providers.routing import Deployment

__all__ = ["ECHO", "EchoRequest", "EchoServing"]


class EchoRequest(Struct, forbid_unknown_fields=False):
    model: str
    text: Annotated[str, Meta(min_length=1)]


class EchoServing(OpenAIServing):
    """Asks the deployment's chat capability to answer ``text``; returns its words."""

    async def call_upstream(
        self, deployment: Deployment, target: Target, body: dict[str, Any]
    ) -> dict[str, Any]:
        chat = {"model": body["model"], "messages": [{"role": "user", "content": body["text"]}]}
        answer = await self._providers.chat(deployment.kind).chat(target, chat)
        text = answer["choices"][0]["message"]["content"]
        return {"object": "echo", "text": text, "usage": answer.get("usage")}


ECHO = Family(
    name="echo",
    path="/v1/echo",
    request_model=EchoRequest,
    serving=EchoServing,
    provider_capability="chat",
    summary="Echo (a test family)",
    description="An `echo` object with the model's answer as `text`.",
    capabilities=Capabilities(answer_tokens=False),
    streams=False,
)
