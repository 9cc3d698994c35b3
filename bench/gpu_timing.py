"""What the GPU checks share: an index dataset, the timing of a hand loop and of an engine run, peak memory."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import torch


class Indices(torch.utils.data.Dataset):
    """Sample i is the integer i; the recipe turns indices into tensors kept on the device."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> int:
        return i


def reset_peak() -> None:
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()


def peak_bytes() -> int:
    return torch.cuda.max_memory_allocated() if torch.cuda.is_available() else 0


def hand_seconds(steps: Callable[[int], None], n: int, device: torch.device) -> float:
    """Seconds for `steps(n)` after a warm-up of as many steps (as the engine's first epoch)."""
    steps(n)
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    steps(n)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def steady_epoch(run_dir: Path) -> dict:
    """The last epoch of an engine run (the first warms up: cuDNN autotuning, the allocator)."""
    return [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()][-1]
