"""Training loggers: the contract a logger implements, choosing them by name, and calling them so that one that
fails is reported once and dropped while training goes on. Only rank 0 has loggers."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from zoo.errors import UnknownNameError, warn

ENV = "ZOO_LOGGERS"


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


def requested(names: Sequence[str] | None) -> list[str]:
    """The logger names a run uses: `names` when given, else ZOO_LOGGERS (comma-separated); duplicates dropped."""
    if names is None:
        names = os.environ.get(ENV, "").split(",")
    return list(dict.fromkeys(n.strip() for n in names if n and n.strip()))


def check(names: Sequence[str]) -> list[str]:
    """Refuse unknown loggers and ones that cannot work here (a missing package) before training starts;
    return their qualified names."""
    from zoo.registry import get_registry

    loggers = get_registry().loggers
    checked = []
    for name in names:
        try:
            spec = loggers.get(name)
        except UnknownNameError:
            shown = sorted({loggers.display_name(s) for s in loggers.by_qualified.values()})
            hint = f"Loggers installed: {', '.join(shown)} (asked for by --logger or {ENV})."
            raise UnknownNameError("logger", name, shown, hint) from None
        spec.build()  # builds nothing on disk: a logger needing a package that is absent says so here
        checked.append(spec.qualified_name)
    return checked


class Loggers:
    """The run's loggers, called together; a logger that raises is reported once, then left out."""

    def __init__(self, names: Sequence[str], log: Any = None) -> None:
        from zoo.registry import get_registry

        self._log = log
        self._active: list[tuple[str, TrainingLogger]] = []
        for name in names:
            try:
                self._active.append((name, get_registry().loggers.get(name).build()))
            except Exception as exc:  # a broken logger must not stop training
                self._drop(name, "could not be set up", exc)

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
