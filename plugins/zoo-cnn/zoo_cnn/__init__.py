"""zoo plugin `cnn`: the small CNN of PyTorch's CIFAR-10 tutorial."""

from __future__ import annotations

from zoo.plugin import ModelSpec, RecipeSpec, hookimpl


@hookimpl
def register_models(register) -> None:
    register(
        ModelSpec(
            name="cnn",
            task="image-classification",
            factory="zoo_cnn.models:TutorialNet",
            kwargs={"num_classes": 10, "in_channels": 3},
            description="PyTorch's CIFAR-10 tutorial CNN: conv 6-16, fc 120-84 (32x32 inputs)",
            metadata={"input_size": [3, 32, 32]},
            default_recipe="cnn-cifar10",
        )
    )


@hookimpl
def register_recipes(register) -> None:
    from zoo_cnn.recipe_defaults import CPU_DEFAULTS, GPU_DEFAULTS, LIMITS

    register(
        RecipeSpec(
            name="cnn-cifar10",
            model="cnn",
            dataset="cifar10",
            task="image-classification",
            description="SGD + Nesterov, OneCycle, label smoothing, on-device random crop and flip",
            cpu_defaults=CPU_DEFAULTS,
            gpu_defaults=GPU_DEFAULTS,
            metrics=("accuracy", "top5", "loss"),
            factory="zoo_cnn.recipe:CNNRecipe",
            limits=LIMITS,
        )
    )
