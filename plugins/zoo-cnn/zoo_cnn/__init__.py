"""zoo plugin `cnn`: the small CNN of PyTorch's CIFAR-10 tutorial."""

from __future__ import annotations

import zoo
from zoo.specs import ModelSpec


@zoo.hookimpl
def register_models(register) -> None:
    register(
        ModelSpec(
            name="cnn",
            task="image-classification",
            factory="zoo_cnn.models:TutorialNet",
            kwargs={"num_classes": 10, "in_channels": 3},
            description="PyTorch's CIFAR-10 tutorial CNN: conv 6-16, fc 120-84 (32x32 inputs)",
            metadata={"input_size": [3, 32, 32]},
        )
    )
