"""Floor 2: the whole plugin contract, from one place: `from zoo.plugin import ModelSpec, Recipe, hookimpl, ...`.

Built-in and third-party plugins import only this package of zoo. Importing it never imports torch: a plugin's
entry-point module may import it at the top.

- `hookimpl` marks the hook functions (see zoo.plugin.hooks for the contract; `HOOK_NAMES` lists them).
- `ModelSpec`, `DatasetSpec`, `RecipeSpec`, `LoggerSpec` are what the `register_*` hooks register; `Sample` is what a
  dataset's sample function returns; `WeightsEntry` is one named set of pretrained weights in a catalog.
- `Recipe` is the base class of a recipe's factory (`device_of`, `first_output` help its inference methods);
  `Data` is what a dataset adapter returns; `TrainConfig` is the recipe's settings.
  `TrainingLogger` is the base class of a logger's factory.
- `ExampleInputs`, `Axis` and `Agreement` are what a recipe gives export and its parity gate (zoo.plugin.export).
- `HubSource` is what a dataset adapter's `hub` factory gets for `--data-dir hf://datasets/ORG/NAME`: verified
  parquet files per split and their columns' `Feature`s; `ParquetRows` streams their row groups (zoo.plugin.hubdata).
- `ForeignRepo` is what the `claim_repo` hook sees of a Hub repository saved by another library; `Claim` is what
  it returns to load that repository.
- `ZooError`, `UsageError` and `ZooWarning` are the errors and warnings a plugin raises and emits for the user.
- Services: `warn` (a ZooWarning, shown once as `warning: ...`), `cache_dir` and `read_cache` (zoo's cache folder),
  `atomic_write_text` and `atomic_replace` (whole files or nothing), and `PretrainedWeights`, the catalog's weights
  that zoo hands every recipe as `Recipe.pretrained`.
"""

from __future__ import annotations

from zoo.core.atomic import replacing as atomic_replace
from zoo.core.atomic import write_text as atomic_write_text
from zoo.core.cache import cache_dir, read_cache
from zoo.core.errors import UsageError, ZooError, ZooWarning, warn
from zoo.plugin.claims import Claim, ForeignRepo
from zoo.plugin.config import TrainConfig
from zoo.plugin.export import Agreement, Axis, ExampleInputs
from zoo.plugin.hooks import HOOK_NAMES, hookimpl
from zoo.plugin.hubdata import Feature, HubSource, ParquetRows
from zoo.plugin.loggers import TrainingLogger
from zoo.plugin.recipe import Data, Recipe, device_of, first_output
from zoo.plugin.services import PretrainedWeights
from zoo.plugin.specs import DatasetSpec, LoggerSpec, ModelSpec, RecipeSpec, Sample
from zoo.plugin.weights_entry import WeightsEntry

__all__ = [
    "HOOK_NAMES",
    "Agreement",
    "Axis",
    "Claim",
    "Data",
    "DatasetSpec",
    "ExampleInputs",
    "Feature",
    "ForeignRepo",
    "HubSource",
    "LoggerSpec",
    "ModelSpec",
    "ParquetRows",
    "PretrainedWeights",
    "Recipe",
    "RecipeSpec",
    "Sample",
    "TrainConfig",
    "TrainingLogger",
    "UsageError",
    "WeightsEntry",
    "ZooError",
    "ZooWarning",
    "atomic_replace",
    "atomic_write_text",
    "cache_dir",
    "device_of",
    "first_output",
    "hookimpl",
    "read_cache",
    "warn",
]
