"""What tokens cost: the deployments' configured prices (USD per million tokens)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["Price", "PriceBook"]


@dataclass(frozen=True, slots=True)
class Price:
    input_per_million: float = 0.0
    output_per_million: float = 0.0

    def cost_usd(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (
            prompt_tokens * self.input_per_million + completion_tokens * self.output_per_million
        ) / 1_000_000


_FREE = Price()


class PriceBook:
    """Prices by deployment name; a model alias costs what its dearest deployment costs.

    The alias price bounds a reservation made before routing picks a deployment; the usage
    row and the settlement use the deployment that served the request. Unknown names are free.
    """

    def __init__(
        self,
        deployments: Mapping[str, Price],
        aliases: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self._deployments = dict(deployments)
        self._aliases: dict[str, Price] = {}
        for alias, names in (aliases or {}).items():
            prices = [self._deployments.get(name, _FREE) for name in names] or [_FREE]
            self._aliases[alias] = Price(
                max(p.input_per_million for p in prices),
                max(p.output_per_million for p in prices),
            )

    def price(self, model: str, deployment: str | None = None) -> Price:
        if deployment is not None and deployment in self._deployments:
            return self._deployments[deployment]
        return self._aliases.get(model, _FREE)

    def cost_usd(
        self, model: str, deployment: str | None, prompt_tokens: int, completion_tokens: int
    ) -> float:
        return self.price(model, deployment).cost_usd(prompt_tokens, completion_tokens)
