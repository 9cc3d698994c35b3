"""The contract of a training logger, which a plugin registers with `register_loggers` (see LoggerSpec)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


class TrainingLogger:
    """Base class of a logger that `zoo train --logger NAME` feeds; override the methods you need.

    The methods are called on rank 0 only, in this order: `start`, then `log_step` every `log_every` optimizer steps
    and `log_epoch` after each epoch's evaluation, then `finish` once the run folder is written (or training failed).
    An exception from any of them is reported once; the logger is then dropped and training goes on.
    """

    def start(self, run_dir: Path, config: dict[str, Any]) -> None:
        """The run begins (or resumes): `config` holds the model, recipe, dataset, seed, world size and settings."""

    def log_step(self, step: int, scalars: dict[str, float]) -> None:
        """Scalars at optimizer step `step` (counted over the whole run): `loss`, `lr`, `samples_per_second`."""

    def log_epoch(self, epoch: int, metrics: dict[str, float]) -> None:
        """Epoch `epoch` (from 1) ended: its `train_loss`, the recipe's validation metrics, `train_seconds`."""

    def finish(self, run_dir: Path, status: str) -> None:
        """The run ended: `status` is "finished" (the run folder is complete), "failed" or "interrupted"."""
