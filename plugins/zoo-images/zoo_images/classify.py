"""What image-classification recipes share: data with their options, normalisation, augmentation, metrics,
and prediction with the preprocessing bound to the weights. Plugins subclass `ImageClassificationRecipe`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from zoo.plugin import Agreement, Axis, Data, ExampleInputs, Recipe, UsageError, ZooError, device_of, first_output
from zoo_images.augment import normalize, random_crop_flip
from zoo_images.common import load_image, read_rgb
from zoo_images.decode import EncodedBatch, decode_batch

# Options every image recipe accepts (plain data; a plugin's defaults start from these).
IMAGE_OPTIONS = {
    "crop_padding": -1,
    "flip": "auto",
    "size": 32,
    "download": False,
    "val_split": 0.2,
    "label_smoothing": 0.0,
    # Folder datasets: keep decoded images in memory (auto: when they fit a quarter of it), or always stream.
    "cache": "auto",
    # Folder datasets: decode in the DataLoader's workers (cpu), or whole batches on the training device (device).
    "decode": "cpu",
}


def eval_geometry(pre: dict[str, Any]) -> tuple[tuple[int, int], tuple[int, int], str, str]:
    """(resize to, crop to, crop mode, interpolation) of an eval transform: from timm's pretrained_cfg fields
    (input_size, crop_pct, crop_mode) or torchvision's (resize, crop), as both libraries compute them."""
    import math

    if "input_size" in pre:
        crop = (int(pre["input_size"][-2]), int(pre["input_size"][-1]))
        pct = float(pre.get("crop_pct") or 0.875)
        scale = (math.floor(crop[0] / pct), math.floor(crop[1] / pct))
    else:
        crop = (int(pre["crop"]),) * 2
        scale = (int(pre.get("resize", pre["crop"])),) * 2
    return scale, crop, str(pre.get("crop_mode") or "center"), str(pre.get("interpolation") or "bilinear")


def load_for_weights(path: str | Path, preprocessing: dict[str, Any]) -> torch.Tensor:
    """An image as the weights expect it: the eval transform of timm's `transforms_imagenet_eval` and torchvision's
    weights (resize, then center crop, with their interpolation), or a plain resize to `size` for models trained
    on square inputs."""
    if "crop" not in preprocessing and "input_size" not in preprocessing:
        return load_image(path, int(preprocessing.get("size", 32)))
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms import functional as TF

    scale, crop, mode, interpolation = eval_geometry(preprocessing)
    try:
        method = InterpolationMode(interpolation)
    except ValueError:
        raise UsageError(f"unknown interpolation {interpolation!r} in the weights' preprocessing") from None
    if mode == "squash":

        def prepare(image: Any) -> Any:
            return TF.center_crop(TF.resize(image, list(scale), interpolation=method), list(crop))
    elif mode == "center" and scale[0] == scale[1]:

        def prepare(image: Any) -> Any:
            return TF.center_crop(TF.resize(image, scale[0], interpolation=method), list(crop))
    else:
        raise UsageError(
            f"zoo cannot yet prepare images with crop_mode {mode!r} at {scale[1]} x {scale[0]}: "
            "only 'center' (square) and 'squash' are implemented"
        )
    return read_rgb(path, prepare)


def classification_metrics(logits: torch.Tensor, labels: torch.Tensor) -> dict[str, tuple[float, float]]:
    """accuracy, top5 (with 5+ classes) and loss, as (sum, count) for the engine to reduce."""
    logits, n = logits.float(), len(labels)
    out = {
        "accuracy": ((logits.argmax(1) == labels).sum().item(), n),
        "loss": (F.cross_entropy(logits, labels, reduction="sum").item(), n),
    }
    if logits.shape[1] >= 5:
        out["top5"] = ((logits.topk(5, dim=1).indices == labels[:, None]).any(1).sum().item(), n)
    return out


def top_labels(logits: torch.Tensor, names: list[str], top: int) -> list[list[dict[str, Any]]]:
    probs = torch.softmax(logits.float(), dim=1)
    scores, index = probs.topk(min(top, probs.shape[1]), dim=1)
    return [
        [{"label": names[j] if j < len(names) else str(j), "score": round(s, 6)} for s, j in zip(ss, ii, strict=True)]
        for ss, ii in zip(scores.tolist(), index.tolist(), strict=True)
    ]


class ImageClassificationRecipe(Recipe):
    """A recipe over the image adapters (uint8 N x 3 x H x W batches); subclasses write `loss`."""

    convolutional = True
    RESUME_MAY_DIFFER = frozenset({"cache"})  # every cache mode gives the same pixels

    def build_data(self) -> Data:
        o = self.options
        data = self.dataset_spec.build(
            data_dir=self.data_dir,
            download=o["download"],
            size=o["size"],
            val_split=o["val_split"],
            seed=self.config.seed,
            cache=o["cache"],
            decode=o["decode"],
        )
        return self.prepare(data)

    def to_device(self, batch: Any, device: Any) -> Any:
        """Decode a batch of file bytes on the device (decode=device); move anything else there."""
        if isinstance(batch, (tuple, list)) and batch and isinstance(batch[0], EncodedBatch):
            images, labels = batch
            return decode_batch(images, int(self.options["size"]), device), labels.to(device, non_blocking=True)
        return super().to_device(batch, device)

    def prepare(self, data: Data) -> Data:
        """Take normalisation and augmentation from the data's info, unless the settings say otherwise."""
        o = self.options
        augment = data.info.get("augment", {})
        self.padding = augment.get("crop_padding", 4) if o["crop_padding"] < 0 else o["crop_padding"]
        self.flip = augment.get("flip", True) if o["flip"] == "auto" else str(o["flip"]).lower() == "true"
        self.mean, self.std = data.info["preprocessing"]["mean"], data.info["preprocessing"]["std"]
        return data

    def inputs(self, images: torch.Tensor, train: bool) -> torch.Tensor:
        """uint8 batch -> normalised float batch (augmented when training; channels_last on CUDA)."""
        if train:
            images = random_crop_flip(images, self.padding, self.flip)
        x = normalize(images, self.mean, self.std)
        return x.contiguous(memory_format=torch.channels_last) if x.is_cuda else x

    def loss(self, model: Any, batch: Any) -> Any:
        images, labels = batch
        logits = model(self.inputs(images, train=True))
        return F.cross_entropy(logits, labels, label_smoothing=self.options["label_smoothing"])

    def metrics(self, model: Any, batch: Any) -> dict[str, tuple[float, float]]:
        images, labels = batch
        return classification_metrics(model(self.inputs(images, train=False)), labels)

    def labels_for(self, run_config: dict[str, Any], classes: int) -> list[str]:
        return run_config.get("labels") or [str(i) for i in range(classes)]

    # Inference and export ------------------------------------------------------------------------------------

    def preprocessing(self, run_config: dict[str, Any]) -> dict[str, Any]:
        """How inputs are prepared for these weights (the run's, else the plain defaults)."""
        return run_config.get("preprocessing") or {"size": 32, "mean": [0.5] * 3, "std": [0.25] * 3}

    def decode(self, source: str, run_config: dict[str, Any]) -> torch.Tensor:
        """An image file as the weights expect it: uint8 3 x H x W."""
        return load_for_weights(source, self.preprocessing(run_config))

    def predict_batch(self, model: Any, samples: list[Any], top: int, run_config: dict[str, Any]) -> list[Any]:
        pre = self.preprocessing(run_config)
        images = torch.stack(samples).to(device_of(model))
        logits = first_output(model(normalize(images, pre["mean"], pre["std"])))
        return top_labels(logits, self.labels_for(run_config, logits.shape[1]), top)

    def example_inputs(self, batch_size: int) -> ExampleInputs:
        """Images of the run's validation split when its data is at hand, else images this plugin draws."""
        pre = self.preprocessing(self.run_config or {})
        images, source = self._validation_images(batch_size)
        if images is None:
            images, source = example_images(batch_size, input_size(pre)), "images zoo_images draws"
        batch = Axis("batch", min=1, max=4096)
        return ExampleInputs((normalize(images, pre["mean"], pre["std"]),), ("images",), ({0: batch},), source)

    def _validation_images(self, count: int) -> tuple[torch.Tensor | None, str]:
        """`count` images of the run's dataset (the validation split), or None when the data is not at hand."""
        if getattr(self, "_examples", None) is None:
            try:
                data = self.build_data()
            except (UsageError, ZooError, OSError, ValueError):
                self._examples = (None, "")
            else:
                split = data.val if data.val is not None else data.train
                first = split[0][0] if len(split) else None
                if not isinstance(first, torch.Tensor) or first.dtype != torch.uint8:
                    self._examples = (None, "")
                else:
                    count_all = min(len(split), 64)
                    stacked = torch.stack([split[i][0] for i in range(count_all)])
                    self._examples = (stacked, f"the validation split of {self.dataset_spec.name}")
        images, source = self._examples
        if images is None or len(images) < count:
            return None, ""
        return images[:count], source

    def agreement(self, eager: Any, exported: Any, inputs: ExampleInputs) -> Agreement:  # noqa: ARG002
        same = (eager.argmax(-1) == exported.argmax(-1)).sum().item()
        return Agreement("top-1", int(same), len(eager))


def input_size(pre: dict[str, Any]) -> tuple[int, int]:
    """The height and width of the images the weights take after their preprocessing."""
    if "input_size" in pre or "crop" in pre:
        return eval_geometry(pre)[1]
    return (int(pre.get("size", 32)),) * 2


def example_images(count: int, size: tuple[int, int], seed: int = 0) -> torch.Tensor:
    """`count` uint8 images with the structure of photographs (smooth shapes and gradients, some texture), made
    the same way every time: inputs for the parity gate when no dataset is at hand."""
    generator = torch.Generator().manual_seed(seed)
    h, w = size
    ys = torch.linspace(0, 1, h).view(1, 1, h, 1)
    xs = torch.linspace(0, 1, w).view(1, 1, 1, w)
    base = torch.rand(count, 3, 1, 1, generator=generator)
    slope = torch.rand(count, 3, 2, 1, 1, generator=generator) - 0.5
    image = base + slope[:, :, 0] * ys + slope[:, :, 1] * xs
    coarse = torch.rand(count, 3, 6, 6, generator=generator)
    image = image + 0.5 * F.interpolate(coarse, size=(h, w), mode="bicubic", align_corners=False)
    image = image + 0.05 * torch.rand(count, 3, h, w, generator=generator)
    return (image / 1.6).clamp(0, 1).mul(255).round().to(torch.uint8)
