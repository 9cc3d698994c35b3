"""`resnet-finetune`: start from pretrained weights, put a new head sized to the dataset's classes, and train
with AdamW (or SGD), warmup + cosine, label smoothing and MixUp/CutMix (torchvision.transforms.v2)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from zoo_images.classify import ImageClassificationRecipe
from zoo_images.common import IMAGENET_MEAN, IMAGENET_STD

from zoo.plugin import Data, UsageError


def imagenet_categories() -> list[str]:
    """The 1,000 class names from torchvision's own metadata (the list its ImageNet weights were trained on)."""
    import torchvision

    return list(torchvision.models.ResNet18_Weights.IMAGENET1K_V1.meta["categories"])


class ResNetFinetune(ImageClassificationRecipe):
    def base(self) -> tuple[str, Any]:
        """The weights to start from, and their catalog entry when they come from the catalog."""
        name = self.options["base"] or self.model_spec.name
        entry = self.pretrained.entry(name) if "/" not in name else None
        if entry is not None and entry.model.rpartition(":")[2] != self.model_spec.name:
            raise UsageError(f"base weights '{entry.name}' are for {entry.model}, not {self.model_spec.name}")
        return name, entry

    def prepare(self, data: Data) -> Data:
        data = super().prepare(data)
        # The pretrained weights expect ImageNet statistics, whatever the new data's own are.
        self.mean, self.std = list(IMAGENET_MEAN), list(IMAGENET_STD)
        data.info["preprocessing"] = {**data.info["preprocessing"], "mean": self.mean, "std": self.std}
        if self.options["pretrained"]:
            name, entry = self.base()
            data.info["base_model"] = entry.source if entry is not None else name.split("@")[0]
            data.info["base_weights"] = entry.name if entry is not None else name
        return data

    def model_args(self, data: Data) -> dict[str, Any]:
        return {"num_classes": len(data.info["labels"])}

    def build_model(self, args: dict[str, Any]) -> Any:
        num_classes = args["num_classes"]
        if not self.options["pretrained"]:
            return self.model_spec.build(num_classes=num_classes)
        name, _ = self.base()
        model, _ = self.pretrained.load(name, hub=self.options["hub"] or None)
        model.fc = torch.nn.Linear(model.fc.in_features, num_classes)  # a new head for the new classes
        if self.options["freeze_backbone"]:
            for pname, param in model.named_parameters():
                param.requires_grad = pname.startswith("fc.")
        return model

    def configure_optimizers(self, model: Any, steps_per_epoch: int) -> tuple[Any, Any]:
        """Two groups: the new head at lr, the pretrained backbone at lr x backbone_lr_scale (unless frozen)."""
        lr = self.config.lr
        head = [p for n, p in model.named_parameters() if n.startswith("fc.") and p.requires_grad]
        backbone = [p for n, p in model.named_parameters() if not n.startswith("fc.") and p.requires_grad]
        groups = [{"params": head, "lr": lr}]
        if backbone:
            groups.append({"params": backbone, "lr": lr * self.options["backbone_lr_scale"]})
        optimizer = self.make_optimizer(groups)
        return optimizer, self.make_scheduler(optimizer, steps_per_epoch)

    def mixer(self, classes: int) -> Any:
        from torchvision.transforms import v2

        choices = [m for m, a in ((v2.MixUp, self.options["mixup"]), (v2.CutMix, self.options["cutmix"])) if a > 0]
        if not choices:
            return None
        alphas = {v2.MixUp: self.options["mixup"], v2.CutMix: self.options["cutmix"]}
        transforms = [m(alpha=alphas[m], num_classes=classes) for m in choices]
        return transforms[0] if len(transforms) == 1 else v2.RandomChoice(transforms)

    def loss(self, model: Any, batch: Any) -> Any:
        images, labels = batch
        x = self.inputs(images, train=True)
        classes = model.fc.out_features
        if not hasattr(self, "_mixer"):
            self._mixer = self.mixer(classes)
        if self._mixer is not None and torch.rand(()) < self.options["mix_prob"]:
            x, targets = self._mixer(x, labels)  # soft targets
        else:
            targets = labels
        return F.cross_entropy(model(x), targets, label_smoothing=self.options["label_smoothing"])

    def labels_for(self, run_config: dict[str, Any], classes: int) -> list[str]:
        if run_config.get("labels"):
            return run_config["labels"]
        return imagenet_categories() if classes == 1000 else [str(i) for i in range(classes)]

    def preprocessing(self, run_config: dict[str, Any]) -> dict[str, Any]:
        """The run's preprocessing; torchvision's ImageNet eval transform for weights that record none."""
        return run_config.get("preprocessing") or {
            "resize": 256,
            "crop": 224,
            "mean": list(IMAGENET_MEAN),
            "std": list(IMAGENET_STD),
        }
