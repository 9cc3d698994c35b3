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
            hub="zoo_images.hub:cifar10",
            formats=("cifar-10-batches-py", "parquet"),
            description="CIFAR-10 from its python batches, or a Hub dataset repo shaped like uoft-cs/cifar10",
        )
    )
    register(
        DatasetSpec(
            name="imagefolder",
            task=TASK,
            factory="zoo_images.imagefolder:load",
            sample="zoo_images.samples:imagefolder",
            hub="zoo_images.hub:imagefolder",
            formats=("png", "jpeg", "bmp", "webp", "parquet"),
            description="One folder per class (train/ and val/, or a split ratio), or a Hub image dataset repo",
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
