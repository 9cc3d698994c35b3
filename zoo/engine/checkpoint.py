"""Checkpoints: everything needed to continue bit for bit, written atomically, read with weights_only=True."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from zoo.core.atomic import replacing
from zoo.core.errors import UsageError

FORMAT = "zoo-checkpoint"
# What every zoo checkpoint holds, whatever its version.
REQUIRED = ("model", "optimizer", "scheduler", "scaler", "rng", "config", "epoch", "batch", "global_step", "history")


def rng_state() -> dict[str, Any]:
    """Python's, numpy's and torch's generator states, as tensors and plain types (weights_only-loadable)."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state = {
        "python": [list(x) if isinstance(x, tuple) else x for x in random.getstate()],
        "numpy": {
            "kind": kind,
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached": float(cached),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """torch.save to a temporary file in the same folder, then rename over the old checkpoint."""
    with replacing(path) as tmp, open(tmp, "wb") as fh:  # from a path, torch would name the archive after it
        torch.save(state, fh)


def load_checkpoint(path: Path) -> dict[str, Any]:
    """A checkpoint zoo wrote, loaded with weights_only=True; anything else is a UsageError naming the file."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        reason = " ".join(str(exc).split())[:200]
        raise UsageError(
            f"cannot resume from {path}: not a readable zoo checkpoint ({reason}). Delete it to start over."
        ) from None
    missing = [k for k in REQUIRED if k not in state] if isinstance(state, dict) else list(REQUIRED)
    if missing or state.get("format", FORMAT) != FORMAT:
        raise UsageError(
            f"cannot resume from {path}: it is not a zoo checkpoint (it lacks {', '.join(missing) or 'the format'}). "
            "Delete it to start over, or pass another --out."
        )
    return state
