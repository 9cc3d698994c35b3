"""Training settings: the engine's fields, recipe defaults for CPU or GPU, CLI flags and `--set key=value`."""

from __future__ import annotations

import dataclasses
import difflib
import os
from dataclasses import dataclass, field
from typing import Any, get_type_hints

from zoo.errors import UsageError

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

    def validate(self) -> TrainConfig:
        """Refuse impossible values before any work starts."""
        checks = [
            (self.epochs >= 1, f"--epochs must be at least 1, got {self.epochs}"),
            (self.batch_size >= 1, f"--batch-size must be at least 1, got {self.batch_size}"),
            (self.lr > 0, f"--lr must be positive, got {self.lr}"),
            (self.weight_decay >= 0, f"weight_decay must be >= 0, got {self.weight_decay}"),
            (self.grad_accum >= 1, f"grad_accum must be at least 1, got {self.grad_accum}"),
            (self.grad_clip >= 0, f"grad_clip must be >= 0 (0 turns it off), got {self.grad_clip}"),
            (0 <= self.ema_decay < 1, f"ema_decay must be in [0, 1), got {self.ema_decay}"),
            (self.checkpoint_every >= 0, f"--checkpoint-every must be >= 0, got {self.checkpoint_every}"),
            (self.warmup_epochs >= 0, f"warmup_epochs must be >= 0, got {self.warmup_epochs}"),
            (self.patience >= 0, f"patience must be >= 0, got {self.patience}"),
            (self.log_every >= 1, f"log_every must be at least 1, got {self.log_every}"),
            (_ratios_ok(self.stage_ratios), f"stage_ratios must be 3 shares summing to 1, got '{self.stage_ratios}'"),
        ]
        for ok, message in checks:
            if not ok:
                raise UsageError(message)
        for name, allowed in CHOICES.items():
            if getattr(self, name) not in allowed:
                raise UsageError(f"{name} must be one of {', '.join(allowed)}, got '{getattr(self, name)}'")
        return self

    def workers(self) -> int:
        """DataLoader workers: as asked, else one per spare core, at most 4."""
        if self.num_workers >= 0:
            return self.num_workers
        return max(0, min(4, (os.cpu_count() or 1) - 1))


def _ratios_ok(text: str) -> bool:
    try:
        shares = [float(r) for r in text.split(",")]
    except ValueError:
        return False
    return len(shares) == 3 and all(r >= 0 for r in shares) and abs(sum(shares) - 1) < 1e-6


ENGINE_FIELDS = {f.name: f for f in dataclasses.fields(TrainConfig) if f.name != "options"}
_TYPES = get_type_hints(TrainConfig)


def _parse(key: str, text: Any, expected: type) -> Any:
    if not isinstance(text, str):
        return text
    try:
        if expected is bool:
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if expected is int:
            return int(text)
        if expected is float:
            return float(text)
    except ValueError:
        raise UsageError(f"--set {key}={text}: expected {expected.__name__}") from None
    return text


def parse_sets(pairs: list[str]) -> dict[str, str]:
    """`["lr=0.1", "epochs=3"]` -> {"lr": "0.1", "epochs": "3"}."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--set takes KEY=VALUE, got '{pair}'")
        out[key.strip()] = value.strip()
    return out


def build_config(defaults: dict[str, Any], flags: dict[str, Any], sets: dict[str, Any]) -> TrainConfig:
    """Engine defaults < the recipe's defaults < CLI flags < `--set`; unknown keys list the valid ones."""
    recipe_options = {k: v for k, v in defaults.items() if k not in ENGINE_FIELDS}
    valid = sorted(set(ENGINE_FIELDS) | set(recipe_options))
    values: dict[str, Any] = {k: v for k, v in defaults.items() if k in ENGINE_FIELDS}
    options = dict(recipe_options)
    for source in (flags, sets):
        for key, value in source.items():
            if value is None:
                continue
            if key in ENGINE_FIELDS:
                values[key] = _parse(key, value, _TYPES[key])
            elif key in recipe_options:
                default = recipe_options[key]
                options[key] = _parse(key, value, type(default)) if default is not None else value
            else:
                close = difflib.get_close_matches(key, valid, n=1)
                hint = f" Did you mean '{close[0]}'?" if close else ""
                raise UsageError(f"unknown setting '{key}'.{hint} Valid settings: {', '.join(valid)}")
    for key, value in values.items():
        expected = _TYPES[key]
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            values[key] = float(value)
        elif not isinstance(values[key], expected):
            raise UsageError(f"setting '{key}' expects {expected.__name__}, got {value!r}")
    return TrainConfig(**values, options=options).validate()
