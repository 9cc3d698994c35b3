"""Run folders: the one module that writes and reads them (as hub_mixin's save_pretrained/from_pretrained do).

Training, `zoo eval`/`zoo predict`, publish and the pull path all read and write runs through this module; the
file names are zoo.store.layout's.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zoo.core import atomic
from zoo.core.errors import UsageError
from zoo.core.paths import check_repo_path
from zoo.store.layout import (
    CHECKPOINT,
    CONFIG,
    DATA,
    ERROR_PREFIX,
    HISTORY,
    JOB,
    LOG,
    METRICS,
    PUBLISHED,
    RESULT,
    RUN_FILES,
    WEIGHTS,
    error_files,
)


@dataclass(frozen=True)
class Run:
    folder: Path
    config: dict[str, Any]
    metrics: dict[str, float]
    #: the epoch the weights come from (the best one with best_metric, else the last)
    epoch: int | None = None

    @property
    def weights(self) -> Path:
        return self.folder / WEIGHTS


def is_metric(value: Any) -> bool:
    """A value metrics.json may hold: a finite int or float, not a bool."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def is_zoo_config(config: Any) -> bool:
    """A config.json zoo wrote: it names zoo's version and the model."""
    return isinstance(config, dict) and "zoo_version" in config and isinstance(config.get("model"), str)


def read_json(path: Path, what: str) -> Any:
    """A JSON file's content; one that is unreadable, not UTF-8, not JSON or nested too deeply is a UsageError."""
    try:
        return json.loads(path.read_text("utf-8"))
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        reason = "nested too deeply" if isinstance(exc, RecursionError) else " ".join(str(exc).split())[:120]
        raise UsageError(f"{path} is not valid JSON ({reason}); {what}") from None
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}; {what}") from None


def read_config(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """A run folder's config.json, checked as evaluation and prediction need it (zoo's, with a model and recipe)."""
    folder = Path(folder)
    if not (folder / CONFIG).is_file() or not (folder / WEIGHTS).is_file():
        raise UsageError(f"{folder} is not a run folder: it needs {CONFIG} and {WEIGHTS}")
    config = read_json(folder / CONFIG, "it should be the config.json 'zoo train' writes")
    _check_config(folder, config)
    if not isinstance(config.get("recipe"), str) or not config["recipe"]:
        raise UsageError(f"{folder / CONFIG} names no recipe, so zoo cannot tell how to evaluate or predict")
    return config


def read_config_json(folder: Path) -> Any:
    """A folder's config.json as parsed JSON, or None when it has none or it does not parse: a pulled repository of
    another library (which the plugin that claims it reads), or an --out folder that is not a run."""
    try:
        return json.loads((folder / CONFIG).read_text("utf-8"))
    except (OSError, ValueError, RecursionError):
        return None


def _check_config(folder: Path, config: Any) -> None:
    if not is_zoo_config(config):
        raise UsageError(f"{folder / CONFIG} is not a zoo run config: it needs 'zoo_version' and 'model'.")
    if not isinstance(config.get("model_args", {}), dict):
        raise UsageError(f"{folder / CONFIG}: 'model_args' must be an object")


def read_run(folder: str | os.PathLike[str]) -> Run:
    """Load and check a run folder; a missing or malformed part is a UsageError saying which."""
    from zoo.store.weights import check_safetensors

    folder = Path(folder)
    if not folder.is_dir():
        raise UsageError(f"{folder} is not a run folder (no such directory). Train one with 'zoo train'.")
    missing = [name for name in (WEIGHTS, CONFIG, METRICS) if not (folder / name).is_file()]
    if missing:
        raise UsageError(
            f"the run folder {folder} lacks {', '.join(missing)}: publish needs the weights, "
            "config.json and metrics.json that 'zoo train' writes."
        )
    config = read_json(folder / CONFIG, "it should be the config.json 'zoo train' writes")
    _check_config(folder, config)
    metrics = read_json(folder / METRICS, "it should map metric names to numbers")
    if not isinstance(metrics, dict) or not all(is_metric(v) for v in metrics.values()):
        raise UsageError(f"{folder / METRICS} must map metric names to finite numbers, got {metrics!r:.80}")
    check_safetensors(folder / WEIGHTS)
    # metrics.json also records which epoch they come from; that is not a metric to publish.
    epoch = metrics.get("epoch")
    return Run(
        folder=folder,
        config=config,
        metrics={k: v for k, v in metrics.items() if k != "epoch"},
        epoch=int(epoch) if isinstance(epoch, (int, float)) and epoch == int(epoch) else None,
    )


MAX_EPOCHS = 1_000_000  # as the engine's limit on --epochs


def read_history(folder: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """metrics.jsonl: one row per epoch (its metrics, train_loss, train_seconds, steps); [] when absent."""
    path = Path(folder) / HISTORY
    try:
        lines = path.read_text("utf-8").splitlines()
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None
    rows = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except (ValueError, RecursionError):
            row = None
        epoch = row.get("epoch") if isinstance(row, dict) else None
        if not isinstance(epoch, int) or isinstance(epoch, bool) or not 0 < epoch <= MAX_EPOCHS:
            raise UsageError(f"{path}:{number} is not a metrics row 'zoo train' writes (a JSON object with an epoch)")
        rows.append(row)
    return rows


def record_published(folder: Path, repo_id: str, revision: str, hub: str | None) -> None:
    """Remember in the run folder that it was published (`zoo runs` shows the latest); `hub`: a local hub folder or
    endpoint, None for the default Hub."""
    from datetime import UTC, datetime

    entries = read_published(folder)
    entries.append(
        {"repo_id": repo_id, "revision": revision, "hub": hub, "date": datetime.now(UTC).isoformat(timespec="seconds")}
    )
    write_json(folder / PUBLISHED, entries)


def read_published(folder: Path) -> list[dict[str, Any]]:
    """The repos a run was published to, oldest first; [] when none or the file is unreadable."""
    try:
        entries = json.loads((folder / PUBLISHED).read_text("utf-8"))
    except (OSError, ValueError, RecursionError):
        return []
    if not isinstance(entries, list):
        return []
    return [e for e in entries if isinstance(e, dict) and isinstance(e.get("repo_id"), str)]


def check_out_folder(folder: Path) -> None:
    """Refuse an --out that is a file, or a folder holding anything but a zoo run (training would overwrite it)."""
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"--out {folder} is a file: name a new folder, or the folder of a zoo run to --resume")
    if not folder.is_dir():
        return
    names = {p.name for p in folder.iterdir() if not p.name.startswith((atomic.PREFIX, ERROR_PREFIX))}
    foreign = sorted(names - RUN_FILES)
    if not foreign and CONFIG in names:
        if not is_zoo_config(read_config_json(folder)):
            foreign = [CONFIG]
    elif not foreign and names & {METRICS, HISTORY}:
        foreign = sorted(names & {METRICS, HISTORY})  # results without a zoo config are not ours
    if foreign:
        shown = ", ".join(foreign[:3]) + (" ..." if len(foreign) > 3 else "")
        raise UsageError(
            f"--out {folder} is not empty and is not a zoo run folder (it holds {shown}): training would "
            "overwrite it. Name a new or empty folder."
        )


def discard_unfinished(folder: Path, existed: bool) -> None:
    """After a run failed before writing anything: remove the launcher's files, and the folder if zoo made it."""
    for name in (JOB, RESULT):
        (folder / name).unlink(missing_ok=True)
    for error in error_files(folder):
        error.unlink(missing_ok=True)
    log = folder / LOG
    if log.is_file() and log.stat().st_size == 0:
        log.unlink()
    if not existed and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()


def write_json(path: Path, data: Any) -> Path:
    """Write JSON atomically (temporary file, then rename)."""
    return atomic.write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def check_fresh(folder: Path, resume: bool) -> None:
    """Refuse to resume where there is no checkpoint, and to start a run over one that exists."""
    checkpoint = folder / CHECKPOINT
    if resume and not checkpoint.is_file():
        raise UsageError(f"nothing to resume: {checkpoint} does not exist. Drop --resume to start a new run.")
    if not resume and (checkpoint.is_file() or (folder / WEIGHTS).is_file()):
        raise UsageError(f"{folder} already holds a run: pass --resume to continue it, or another --out.")


def write_run(
    folder: Path,
    model: Any,
    config: dict[str, Any],
    metrics: dict[str, float],
    history: list[dict[str, Any]],
    files: Mapping[str, Callable[[Path], Any]] | None = None,
) -> None:
    """The finished run: the side files, weights, config.json, the final metrics and one line of metrics per
    epoch, each atomic. `files` maps a name in data/ to a function that writes that file to the path it is given."""
    from zoo.store.weights import save

    for name, write in (files or {}).items():
        with atomic.replacing(folder / DATA / check_repo_path(name)) as tmp:
            write(tmp)
    save(model, folder / WEIGHTS)
    write_json(folder / CONFIG, config)
    write_json(folder / METRICS, metrics)
    atomic.write_text(folder / HISTORY, "".join(json.dumps(row) + "\n" for row in history))


def side_files(folder: Path) -> dict[str, Path]:
    """The run's side files, by their path in the run folder (data/NAME), as publish carries them."""
    data = folder / DATA
    if not data.is_dir():
        return {}
    return {
        f"{DATA}/{p.relative_to(data).as_posix()}": p
        for p in sorted(data.rglob("*"))
        if p.is_file() and not p.name.startswith(atomic.PREFIX)
    }


def read_weights(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """A run folder's state dict (from its safetensors file)."""
    from zoo.store.weights import read_state_dict

    return read_state_dict(Path(folder) / WEIGHTS)


def run_config(
    model: str, model_args: dict[str, Any], *, plugin: str, plugin_version: str | None, task: str, **fields: Any
) -> dict[str, Any]:
    """The config.json of a run: zoo's and torch's versions, the model and how it was trained."""
    import torch

    from zoo._version import __version__

    return {
        "zoo_version": __version__,
        "torch_version": torch.__version__.split("+")[0],
        "plugin": plugin,
        "plugin_version": plugin_version,
        "model": model,
        "model_args": model_args,
        "task": task,
        **fields,
    }
