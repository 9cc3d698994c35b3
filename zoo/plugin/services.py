"""What a plugin asks of zoo while it runs: warnings, its cache folder, atomic writes, and pretrained weights.

The first three live in zoo.core and come re-exported by zoo.plugin. Pretrained weights need the registry and the
Hub, which sit above the contract: zoo hands each recipe it builds an implementation of `PretrainedWeights` as
`Recipe.pretrained`, so nothing in the contract imports upward.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from zoo.core.errors import ZooError

if TYPE_CHECKING:
    from torch import nn

    from zoo.plugin.specs import ModelSpec
    from zoo.plugin.weights_entry import WeightsEntry


class PretrainedWeights(Protocol):
    """The catalog's pretrained weights and the Hub behind them, as a recipe sees them (`Recipe.pretrained`)."""

    def entry(self, name: str) -> WeightsEntry:
        """The catalog entry `arch.tag`, or the default weights of a bare architecture name; a UsageError if none."""
        ...

    def entries(self, model: ModelSpec) -> list[WeightsEntry]:
        """A model's catalog weights, the default first."""
        ...

    def load(self, name: str, *, hub: str | None = None, **model_args: Any) -> tuple[nn.Module, dict[str, Any]]:
        """Pull and verify `name` (a catalog name or a repo id), build its model (`model_args` update the repo's
        arguments) and load the weights strictly; the model and its run config (labels, preprocessing, ...)."""
        ...


class NoPretrainedWeights:
    """What a recipe built outside zoo's jobs (a test's own `Recipe(...)`) has: asking for weights says so."""

    def _refuse(self, *_args: Any, **_kwargs: Any) -> Any:
        raise ZooError(
            "this recipe was built without zoo's pretrained-weights service: build it through zoo "
            "(zoo.train, zoo.evaluate, zoo.predict), or pass Recipe(..., pretrained=...)"
        )

    entry = entries = load = _refuse
