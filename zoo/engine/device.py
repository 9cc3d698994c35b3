"""Where and how a run computes: this process's rank, the device, the autocast precision, the seeds."""

from __future__ import annotations

import contextlib
import os
import random
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from zoo.core.errors import UsageError


@dataclass(frozen=True)
class Dist:
    """This process's place in a torch.distributed job (rank 0 of 1 when not distributed)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    @classmethod
    def from_env(cls) -> Dist:
        return cls(
            int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)), int(os.environ.get("LOCAL_RANK", 0))
        )


def _has_mps() -> bool:
    return getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()


def device_kind(requested: str | None) -> str:
    """The kind of device a setting names here: `auto` (or None) is cuda, then mps, then cpu; others as they are."""
    if requested in (None, "auto"):
        return "cuda" if torch.cuda.is_available() else "mps" if _has_mps() else "cpu"
    return requested


def choose_device(requested: str, dist: Dist) -> torch.device:
    """The device this rank trains on. Asking for a device that is not there is a usage error."""
    requested = device_kind(requested)
    if requested == "cuda":
        if not torch.cuda.is_available():
            raise UsageError("--device cuda: no CUDA GPU is visible here. Use --device cpu (or auto).")
        return torch.device("cuda", dist.local_rank)
    if requested == "mps" and not _has_mps():
        raise UsageError("--device mps: Apple's MPS backend is not available here. Use --device cpu (or auto).")
    return torch.device(requested)


def choose_precision(requested: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype, or None for fp32. `auto`: bf16 on CUDA GPUs that support it, else fp32."""
    if requested == "auto":
        return torch.bfloat16 if device.type == "cuda" and torch.cuda.is_bf16_supported() else None
    if requested == "fp16" and device.type != "cuda":
        raise UsageError("--precision fp16 needs a CUDA GPU; use bf16 or fp32 on this device.")
    return {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[requested]


def autocast(device: torch.device, dtype: torch.dtype | None) -> Any:
    """torch.autocast for the run's precision; a no-op context for fp32."""
    return torch.autocast(device.type, dtype=dtype) if dtype is not None else contextlib.nullcontext()


def seed_everything(seed: int, deterministic: bool, device: torch.device) -> None:
    """Seed every generator. `deterministic` asks CUDA for deterministic kernels; CPU kernels already are for a
    fixed thread count, and torch's deterministic mode would only slow them (about 5% on a CPU ResNet)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if device.type == "cuda" and deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    else:
        torch.use_deterministic_algorithms(False)
        torch.backends.cudnn.benchmark = device.type == "cuda"  # let cuDNN pick the fastest kernels
