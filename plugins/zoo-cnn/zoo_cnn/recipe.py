"""The `cnn-cifar10` recipe: SGD with Nesterov momentum and OneCycle, label smoothing, and random crop + flip
applied on the device to whole batches. It trains on any image-classification adapter (cifar10, digits, ...)."""

from __future__ import annotations

from typing import Any

from zoo_images.classify import ImageClassificationRecipe

from zoo.plugin import Data


class CNNRecipe(ImageClassificationRecipe):
    def model_args(self, data: Data) -> dict[str, Any]:
        return {"num_classes": len(data.info["labels"]), "in_channels": 3}
