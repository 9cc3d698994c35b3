"""The `cnn-cifar10` recipe: SGD with Nesterov momentum and OneCycle, label smoothing, and random crop + flip
applied on the device to whole batches. It trains on any image-classification adapter (cifar10, digits, ...)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from zoo_images.augment import normalize, random_crop_flip
from zoo_images.common import load_image

from zoo.engine import Data, Recipe


class CNNRecipe(Recipe):
    convolutional = True

    def build_data(self) -> Data:
        o = self.options
        data = self.dataset_spec.build(
            data_dir=self.data_dir,
            download=o["download"],
            size=o["size"],
            val_split=o["val_split"],
            seed=self.config.seed,
        )
        return self.prepare(data)

    def prepare(self, data: Data) -> Data:
        """Take normalisation and augmentation from the data's info, unless the settings say otherwise."""
        o = self.options
        augment = data.info.get("augment", {})
        self.padding = augment.get("crop_padding", 4) if o["crop_padding"] < 0 else o["crop_padding"]
        self.flip = augment.get("flip", True) if o["flip"] == "auto" else str(o["flip"]).lower() == "true"
        self.mean, self.std = data.info["preprocessing"]["mean"], data.info["preprocessing"]["std"]
        return data

    def model_args(self, data: Data) -> dict[str, Any]:
        return {"num_classes": len(data.info["labels"]), "in_channels": 3}

    def loss(self, model: Any, batch: Any) -> Any:
        images, labels = batch
        images = normalize(random_crop_flip(images, self.padding, self.flip), self.mean, self.std)
        if self.convolutional and images.is_cuda:
            images = images.contiguous(memory_format=torch.channels_last)
        return F.cross_entropy(model(images), labels, label_smoothing=self.options["label_smoothing"])

    def metrics(self, model: Any, batch: Any) -> dict[str, tuple[float, float]]:
        images, labels = batch
        logits = model(normalize(images, self.mean, self.std)).float()
        n = len(labels)
        out = {
            "accuracy": ((logits.argmax(1) == labels).sum().item(), n),
            "loss": (F.cross_entropy(logits, labels, reduction="sum").item(), n),
        }
        if logits.shape[1] >= 5:
            top5 = (logits.topk(5, dim=1).indices == labels[:, None]).any(1).sum().item()
            out["top5"] = (top5, n)
        return out

    def predict(self, model: Any, inputs: list[str], top: int, run_config: dict[str, Any]) -> list[Any]:
        labels = run_config.get("labels") or []
        pre = run_config.get("preprocessing") or {"size": 32, "mean": [0.5] * 3, "std": [0.25] * 3}
        device = next(model.parameters()).device
        images = torch.stack([load_image(path, pre["size"]) for path in inputs]).to(device)
        probs = torch.softmax(model(normalize(images, pre["mean"], pre["std"])).float(), dim=1)
        scores, index = probs.topk(min(top, probs.shape[1]), dim=1)
        return [
            [
                {"label": labels[j] if j < len(labels) else str(j), "score": round(s, 6)}
                for s, j in zip(row_s, row_i, strict=True)
            ]
            for row_s, row_i in zip(scores.tolist(), index.tolist(), strict=True)
        ]
