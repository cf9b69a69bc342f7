"""Which action applies to which entity type, by deployment trust level and API key."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal, get_args

from configs import PiiAction, PiiPolicySettings, PiiSettings
from gateway.policy.pii._errors import PiiPolicyError

__all__ = ["PiiPolicy", "PolicyResolver", "Trust", "strictest"]

Trust = Literal["local", "external"]

_SEVERITY: Mapping[str, int] = {"allow": 0, "mask": 1, "redact": 2, "block": 3}


def strictest(actions: list[PiiAction]) -> PiiAction:
    """The most restrictive of ``actions`` (block > redact > mask > allow)."""
    return max(actions, key=_SEVERITY.__getitem__)


@dataclass(frozen=True, slots=True)
class PiiPolicy:
    """The action per entity type for one request."""

    name: str
    default: PiiAction
    entities: Mapping[str, PiiAction] = field(default_factory=dict)

    def action(self, entity: str) -> PiiAction:
        return self.entities.get(entity, self.default)

    @property
    def allows_everything(self) -> bool:
        return self.default == "allow" and all(a == "allow" for a in self.entities.values())

    @classmethod
    def of(cls, name: str, settings: PiiPolicySettings) -> PiiPolicy:
        return cls(name, settings.default, MappingProxyType(dict(settings.entities)))


class PolicyResolver:
    """Trust level default (``external`` masks, ``local`` allows), unless the key overrides.

    A key's ``pii_policy`` is either an action name (``mask``, ``redact``, ``block``,
    ``allow``: that action for every entity type) or the name of a policy under
    ``pii.policies``. An unknown name fails closed.
    """

    def __init__(self, settings: PiiSettings) -> None:
        self._by_trust: Mapping[str, PiiPolicy] = {
            "external": PiiPolicy.of("external", settings.external),
            "local": PiiPolicy.of("local", settings.local),
        }
        named = {name: PiiPolicy.of(name, p) for name, p in settings.policies.items()}
        for action in get_args(PiiAction):
            named.setdefault(action, PiiPolicy(action, action))
        self._named: Mapping[str, PiiPolicy] = named

    def resolve(self, *, trust: Trust, key_policy: str | None) -> PiiPolicy:
        if key_policy is None:
            return self._by_trust[trust]
        policy = self._named.get(key_policy)
        if policy is None:
            raise PiiPolicyError(
                f"this API key names PII policy '{key_policy}', which is not configured; "
                "the request was not sent"
            )
        return policy
