"""The loggers zoo itself provides, registered like a plugin's (under the plugin name "zoo"): `tensorboard`, event
files in RUN/tensorboard/ through torch.utils.tensorboard."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from zoo.core.errors import UsageError
from zoo.plugin.loggers import TrainingLogger
from zoo.plugin.specs import LoggerSpec
from zoo.store.layout import TENSORBOARD


class TensorBoardLogger(TrainingLogger):
    """Step scalars as `train/<name>` by optimizer step, epoch metrics as `epoch/<name>` by epoch."""

    def __init__(self) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise UsageError(
                "the tensorboard logger needs the tensorboard package: pip install 'zoo-core[tensorboard]' "
                "(make setup installs it)"
            ) from None
        self._writer_class = SummaryWriter
        self._writer: Any = None

    def start(self, run_dir: Path, config: dict[str, Any]) -> None:
        self._writer = self._writer_class(log_dir=str(Path(run_dir) / TENSORBOARD))
        self._writer.add_text("config", f"```\n{json.dumps(config, indent=2, default=str)}\n```")

    def log_step(self, step: int, scalars: dict[str, float]) -> None:
        for name, value in scalars.items():
            self._writer.add_scalar(f"train/{name}", value, step)

    def log_epoch(self, epoch: int, metrics: dict[str, float]) -> None:
        for name, value in metrics.items():
            self._writer.add_scalar(f"epoch/{name}", value, epoch)

    def finish(self, run_dir: Path, status: str) -> None:  # noqa: ARG002 - the events say how far it got
        if self._writer is not None:
            self._writer.close()


#: the loggers zoo itself provides, under the plugin name "zoo"
BUILTIN_LOGGERS = (
    LoggerSpec(
        name="tensorboard",
        factory="zoo.registry.builtin_loggers:TensorBoardLogger",
        description="TensorBoard event files in RUN/tensorboard/ (needs the tensorboard package)",
        plugin="zoo",
    ),
)
