"""zoo plugin `images`: image-classification dataset adapters that any image model's recipe can name."""

from __future__ import annotations

from zoo.plugin import DatasetSpec, hookimpl

TASK = "image-classification"


@hookimpl
def register_datasets(register) -> None:
    register(
        DatasetSpec(
            name="cifar10",
            task=TASK,
            factory="zoo_images.cifar10:load",
            sample="zoo_images.samples:cifar10",
            formats=("cifar-10-batches-py",),
            description="CIFAR-10 from its python batches (data_batch_1..5, test_batch, batches.meta)",
        )
    )
    register(
        DatasetSpec(
            name="imagefolder",
            task=TASK,
            factory="zoo_images.imagefolder:load",
            sample="zoo_images.samples:imagefolder",
            formats=("png", "jpeg", "bmp", "webp"),
            description="One folder per class; train/ and val/ folders, or a split ratio",
        )
    )
    register(
        DatasetSpec(
            name="digits",
            task=TASK,
            factory="zoo_images.digits:load",
            sample="zoo_images.samples:digits",
            formats=("scikit-learn",),
            description="scikit-learn's bundled 8x8 digits (1,797 real images), upsampled to 32x32 RGB, fixed split",
        )
    )
