"""Calling a run's training loggers together, so that one that fails is reported once and dropped while training
goes on. Only rank 0 has loggers."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from zoo.core.errors import warn
from zoo.plugin.loggers import TrainingLogger
from zoo.plugin.specs import LoggerSpec


class Loggers:
    """The run's loggers, called together; a logger that raises is reported once, then left out."""

    def __init__(self, specs: Sequence[LoggerSpec], log: Any = None) -> None:
        self._log = log
        self._active: list[tuple[str, TrainingLogger]] = []
        for spec in specs:
            try:
                self._active.append((spec.qualified_name, spec.build()))
            except Exception as exc:  # a broken logger must not stop training
                self._drop(spec.qualified_name, "could not be set up", exc)

    def __bool__(self) -> bool:
        return bool(self._active)

    def _drop(self, name: str, what: str, exc: BaseException) -> None:
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        message = f"logger '{name}' {what} ({type(exc).__name__}: {reason}); training goes on without it"
        warn(message)
        if self._log is not None:
            self._log.info("warning: %s", message)

    def _call(self, method: str, *args: Any) -> None:
        for entry in list(self._active):
            name, logger = entry
            try:
                getattr(logger, method)(*args)
            except Exception as exc:
                self._active.remove(entry)
                self._drop(name, f"failed in {method}", exc)

    def start(self, run_dir: Path, config: dict[str, Any]) -> None:
        self._call("start", run_dir, config)

    def log_step(self, step: int, scalars: dict[str, float]) -> None:
        self._call("log_step", step, scalars)

    def log_epoch(self, epoch: int, metrics: dict[str, float]) -> None:
        self._call("log_epoch", epoch, metrics)

    def finish(self, run_dir: Path, status: str) -> None:
        self._call("finish", run_dir, status)
        self._active = []
