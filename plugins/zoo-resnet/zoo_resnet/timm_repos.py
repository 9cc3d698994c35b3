"""timm's ResNet repositories on the Hub (timm/resnet50.a1_in1k, ...): torchvision's architecture and key names,
with the preprocessing of timm's `pretrained_cfg`. Reading them needs neither timm nor torch."""

from __future__ import annotations

import math
from typing import Any

from zoo.plugin import Claim, ForeignRepo, UsageError

# The pretrained_cfg fields that say how an image is prepared, as timm's resolve_data_config reads them.
PREPROCESSING = ("input_size", "crop_pct", "crop_mode", "interpolation", "mean", "std")
# timm's own defaults for a field a pretrained_cfg leaves out (timm.data.constants, resolve_data_config).
DEFAULTS = {
    "input_size": [3, 224, 224],
    "crop_pct": 0.875,
    "crop_mode": "center",
    "interpolation": "bilinear",
    "mean": [0.485, 0.456, 0.406],
    "std": [0.229, 0.224, 0.225],
}
# timm model arguments that change the architecture away from torchvision's (deep stems, anti-aliasing, ...).
SHAPE_ARGS = ("stem_type", "stem_width", "block_args", "aa_layer", "attn_layer", "avg_down", "cardinality")


def claim(repo: ForeignRepo, depths: tuple[int, ...]) -> Claim | None:
    """A claim for a timm repo whose architecture is one of zoo's ResNets (`resnet50`), else None."""
    config = repo.config
    arch = config.get("architecture")
    cfg = config.get("pretrained_cfg")
    if not isinstance(arch, str) or arch not in {f"resnet{d}" for d in depths} or not isinstance(cfg, dict):
        return None
    model_args = config.get("model_args") if isinstance(config.get("model_args"), dict) else {}
    if any(k in model_args for k in SHAPE_ARGS) or config.get("global_pool", "avg") != "avg":
        return None  # a timm variant torchvision does not build
    num_classes = config.get("num_classes", cfg.get("num_classes", 1000))
    if not isinstance(num_classes, int) or isinstance(num_classes, bool) or not 1 <= num_classes <= 1 << 20:
        raise UsageError(f"{repo.repo_id}: num_classes is {num_classes!r}, not a number of classes")
    names = config.get("label_names")
    labels = names if isinstance(names, list) and len(names) == num_classes else []
    return Claim(
        model=arch,
        model_args={"num_classes": num_classes},
        library="timm",
        architecture=f"{arch}.{cfg.get('tag')}" if cfg.get("tag") else arch,
        task="image-classification",
        labels=tuple(map(str, labels)),
        preprocessing=preprocessing(cfg, f"{repo.repo_id}: its pretrained_cfg"),
        # Without label_names, 1000 classes are ImageNet's: the recipe names them when it predicts.
        config={"label_set": "imagenet-1k"} if not labels and num_classes == 1000 else {},
    )


def preprocessing(cfg: dict[str, Any], where: str = "the pretrained_cfg") -> dict[str, Any]:
    """The eval-time preprocessing of a pretrained_cfg, field for field (timm's defaults where it is silent)."""
    out = {key: cfg.get(key, DEFAULTS[key]) for key in PREPROCESSING}
    out["crop_mode"] = out["crop_mode"] or "center"

    def numbers(value: Any, n: int) -> bool:
        return isinstance(value, list) and len(value) == n and all(_number(v) for v in value)

    if not numbers(out["input_size"], 3) or not all(isinstance(v, int) and 1 <= v <= 8192 for v in out["input_size"]):
        raise UsageError(f"{where}: input_size is {out['input_size']!r}, not [3, height, width]")
    if not _number(out["crop_pct"]) or not 0 < out["crop_pct"] <= 4:
        raise UsageError(f"{where}: crop_pct is {out['crop_pct']!r}, not a fraction")
    if not numbers(out["mean"], 3) or not numbers(out["std"], 3) or not all(v > 0 for v in out["std"]):
        raise UsageError(f"{where}: mean and std must be three numbers each (std above 0)")
    if not isinstance(out["interpolation"], str) or not isinstance(out["crop_mode"], str):
        raise UsageError(f"{where}: interpolation and crop_mode must be names")
    return out


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
