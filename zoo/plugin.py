"""Everything a plugin author imports, from one place: `from zoo.plugin import ModelSpec, Recipe, hookimpl, ...`.

Importing it never imports torch: a plugin's entry-point module may import it at the top.

- `hookimpl` marks the hook functions (see zoo.hookspecs for the contract).
- `ModelSpec`, `DatasetSpec`, `RecipeSpec` are what the `register_*` hooks register; `Sample` is what a dataset's
  sample function returns.
- `Recipe` is the base class of a recipe's factory; `Data` is what a dataset adapter returns; `TrainConfig` is the
  recipe's settings.
- `LoggerSpec` is what the `register_loggers` hook registers; `TrainingLogger` is the base class of its factory.
- `ForeignRepo` is what the `claim_repo` hook sees of a Hub repository saved by another library; `Claim` is what
  it returns to load that repository.
- `ZooError`, `UsageError` and `ZooWarning` are the errors and warnings a plugin raises and emits for the user.
"""

from __future__ import annotations

from zoo.claims import Claim, ForeignRepo
from zoo.engine.config import TrainConfig
from zoo.engine.loggers import TrainingLogger
from zoo.engine.recipe import Data, Recipe
from zoo.errors import UsageError, ZooError, ZooWarning
from zoo.hookspecs import hookimpl
from zoo.specs import DatasetSpec, LoggerSpec, ModelSpec, RecipeSpec, Sample

__all__ = [
    "Claim",
    "Data",
    "DatasetSpec",
    "ForeignRepo",
    "LoggerSpec",
    "ModelSpec",
    "Recipe",
    "RecipeSpec",
    "Sample",
    "TrainConfig",
    "TrainingLogger",
    "UsageError",
    "ZooError",
    "ZooWarning",
    "hookimpl",
]
