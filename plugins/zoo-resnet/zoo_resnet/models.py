"""torchvision ResNet builders, called without torchvision's own weight download."""

from __future__ import annotations

from typing import Any

from torch import nn


def build(arch: str, num_classes: int = 1000, **kwargs: Any) -> nn.Module:
    """torchvision.models.<arch>(weights=None, num_classes=...); zoo loads weights itself, from safetensors."""
    import torchvision

    if num_classes < 1:
        raise ValueError(f"num_classes must be positive, got {num_classes}")
    return getattr(torchvision.models, arch)(weights=None, num_classes=num_classes, **kwargs)
