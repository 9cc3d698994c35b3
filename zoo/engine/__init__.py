"""The shared training engine: every recipe of every plugin trains through `Trainer`."""

from zoo.engine.config import TrainConfig
from zoo.engine.recipe import Data, Recipe

__all__ = ["Data", "Recipe", "TrainConfig"]
