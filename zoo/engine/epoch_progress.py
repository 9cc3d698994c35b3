"""The training progress bar on stderr (rank 0 only): batches of the epoch, the loss, samples per second."""

from __future__ import annotations

import time
from typing import Any


class EpochProgress:
    """One Rich bar per epoch; every method does nothing when the bar is off (--quiet, ranks other than 0)."""

    def __init__(self, enabled: bool, samples_per_step: int) -> None:
        self.enabled = enabled
        #: batch_size x grad_accum x world size: the samples one optimizer step consumes across the job
        self.samples_per_step = samples_per_step
        self._progress: Any = None
        self._task: Any = None
        self._last_time, self._last_step = 0.0, 0

    def __enter__(self) -> EpochProgress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("loss {task.fields[loss]:.4f}"),
                TextColumn("{task.fields[rate]:.0f} samples/s"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
            )
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def start_epoch(self, description: str, total: int, completed: int, global_step: int) -> None:
        if self._progress is not None:
            self._task = self._progress.add_task(
                description, total=total, completed=completed, loss=float("nan"), rate=0
            )
            self._last_time, self._last_step = time.perf_counter(), global_step

    def update(self, batch: int, global_step: int, loss: Any, final: bool = False) -> None:
        """Show the position and `loss` (a tensor: read only here, since .item() waits for the device)."""
        if self._progress is None:
            return
        now = time.perf_counter()
        rate = (global_step - self._last_step) * self.samples_per_step / max(now - self._last_time, 1e-9)
        shown: dict[str, float] = {"loss": loss.item()} if loss is not None else {}
        if rate or not final:  # an epoch's last update keeps the rate shown when no step ran since
            shown["rate"] = rate
        self._progress.update(self._task, completed=batch, **shown)
        self._last_time, self._last_step = now, global_step
