"""A run's settings as a recipe sees them: the engine's fields with their ranges, and the recipe's own options."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from zoo.core.errors import UsageError
from zoo.core.limits import Limit, check

CHOICES = {
    "device": ("auto", "cpu", "cuda", "mps"),
    "precision": ("auto", "fp32", "bf16", "fp16"),
    "optimizer": ("sgd", "adamw", "adam"),
    "scheduler": ("none", "onecycle", "cosine", "tri-stage"),
}


@dataclass
class TrainConfig:
    """What the engine itself understands; a recipe adds its own options next to these."""

    epochs: int = 10
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.0
    optimizer: str = "adamw"
    momentum: float = 0.9
    nesterov: bool = False
    scheduler: str = "none"
    warmup_epochs: float = 0.0
    stage_ratios: str = "0.1,0.4,0.5"  # tri-stage: the warmup, hold and decay shares of all steps
    grad_accum: int = 1
    grad_clip: float = 0.0
    ema_decay: float = 0.0
    num_workers: int = -1  # -1: chosen from the cores
    drop_last: bool = False
    seed: int = 0
    device: str = "auto"
    precision: str = "auto"
    compile: bool = False
    channels_last: bool = True  # applied to convolutional models on CUDA only
    checkpoint_every: int = 0  # steps; 0: once per epoch
    deterministic: bool = True
    best_metric: str = ""  # "accuracy" (higher is better) or "-rmse" (lower is better); "": keep the last
    patience: int = 0  # epochs without improvement of best_metric before stopping; 0: never
    log_every: int = 20  # steps between progress updates
    options: dict[str, Any] = field(default_factory=dict)  # the recipe's own settings

    def validate(self, limits: Mapping[str, Limit] | None = None) -> TrainConfig:
        """Refuse impossible values before any work starts: every engine field, and the recipe's options that
        `limits` (the recipe's declared ranges) names."""
        for name, allowed in CHOICES.items():
            check(_flag(name), getattr(self, name), allowed)
        for name, limit in ENGINE_LIMITS.items():
            check(_flag(name), getattr(self, name), limit)
        for name, limit in (limits or {}).items():
            if name in self.options:
                check(_flag(name), self.options[name], limit)
        if not _ratios_ok(self.stage_ratios):
            raise UsageError(f"stage_ratios must be 3 shares summing to 1, got '{self.stage_ratios}'")
        if self.optimizer == "sgd" and self.nesterov and self.momentum == 0:
            raise UsageError("nesterov=true needs momentum > 0 with SGD: set momentum (e.g. 0.9) or nesterov=false")
        return self

    def workers(self) -> int:
        """DataLoader workers: as asked, else one per spare core, at most 4."""
        if self.num_workers >= 0:
            return self.num_workers
        return max(0, min(4, (os.cpu_count() or 1) - 1))


# The range of every numeric engine setting (see zoo.core.limits); recipes declare theirs in RecipeSpec.limits.
ENGINE_LIMITS: dict[str, Limit] = {
    "epochs": "[1, 1000000]",
    "batch_size": "[1, 16777216]",
    "lr": "(0, inf)",
    "weight_decay": "[0, inf)",
    "momentum": "[0, 1)",
    "warmup_epochs": "[0, 1000000]",
    "grad_accum": "[1, 65536]",
    "grad_clip": "[0, inf)",
    "ema_decay": "[0, 1)",
    "num_workers": "[-1, 256]",
    "seed": "[0, 4294967295]",  # what every generator accepts (numpy's legacy seeding stops at 2**32 - 1)
    "checkpoint_every": "[0, inf)",
    "patience": "[0, inf)",
    "log_every": "[1, inf)",
}
FLAGS = {"epochs", "batch_size", "lr", "device", "precision", "seed", "checkpoint_every"}


def _flag(name: str) -> str:
    """How the user writes a setting: '--batch-size' for the CLI's flags, else the `--set` key."""
    return "--" + name.replace("_", "-") if name in FLAGS else name


def _ratios_ok(text: str) -> bool:
    try:
        shares = [float(r) for r in text.split(",")]
    except ValueError:
        return False
    return len(shares) == 3 and all(0 <= r <= 1 for r in shares) and abs(sum(shares) - 1) < 1e-6


ENGINE_FIELDS = {f.name: f for f in dataclasses.fields(TrainConfig) if f.name != "options"}
