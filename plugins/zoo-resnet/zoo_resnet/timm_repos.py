"""timm's ResNet repositories on the Hub (timm/resnet50.a1_in1k, ...): torchvision's architecture and key names,
with the preprocessing of timm's `pretrained_cfg`. Reading them needs neither timm nor torch."""

from __future__ import annotations

from typing import Any

from zoo.plugin import Claim, ForeignRepo

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
    if arch not in {f"resnet{d}" for d in depths} or not isinstance(cfg, dict):
        return None
    model_args = config.get("model_args") if isinstance(config.get("model_args"), dict) else {}
    if any(k in model_args for k in SHAPE_ARGS) or config.get("global_pool", "avg") != "avg":
        return None  # a timm variant torchvision does not build
    num_classes = config.get("num_classes", cfg.get("num_classes", 1000))
    if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 1:
        return None
    names = config.get("label_names")
    labels = names if isinstance(names, list) and len(names) == num_classes else []
    return Claim(
        model=arch,
        model_args={"num_classes": num_classes},
        library="timm",
        architecture=f"{arch}.{cfg.get('tag')}" if cfg.get("tag") else arch,
        task="image-classification",
        labels=tuple(map(str, labels)),
        preprocessing=preprocessing(cfg),
    )


def preprocessing(cfg: dict[str, Any]) -> dict[str, Any]:
    """The eval-time preprocessing of a pretrained_cfg, field for field (timm's defaults where it is silent)."""
    out = {key: cfg.get(key, DEFAULTS[key]) for key in PREPROCESSING}
    out["crop_mode"] = out["crop_mode"] or "center"
    return {k: list(v) if isinstance(v, (list, tuple)) else v for k, v in out.items()}
