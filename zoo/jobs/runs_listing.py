"""`zoo runs`: the finished run folders under a folder, summarised; `zoo runs show`: one run epoch by epoch."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from zoo.core.errors import UsageError, ZooError, warn
from zoo.registry.merged import get_registry
from zoo.store import layout, run_folder
from zoo.store.card import dataset_name, main_metric

DEFAULT_ROOT = "runs"


def _candidates(root: Path) -> Iterator[Path]:
    """Every folder under `root` (itself included) that holds a config.json and a metrics.json, whatever they are;
    the folders inside one (data/, checkpoints/, tensorboard/) are not searched."""
    for current, folders, files in os.walk(root):
        if layout.CONFIG in files and layout.METRICS in files:
            folders[:] = []
            yield Path(current)
        else:
            folders[:] = sorted(f for f in folders if not f.startswith("."))


def summary(run: run_folder.Run) -> dict[str, Any]:
    """One row of `zoo runs --json`, from a run folder as read_run gives it."""
    folder, config = run.folder, run.config
    name = main_metric(config, run.metrics)
    latest = run.published[-1] if run.published else None
    return {
        "run_dir": str(folder),
        "model": config.get("model"),
        "recipe": config.get("recipe"),
        "dataset": dataset_name(config),
        "metric": {"name": name, "value": run.metrics[name]} if name else None,
        "epochs": len(run.history) or run.epoch,
        "seconds": config.get("seconds"),
        "finished": config.get("finished"),
        "published": f"{latest['repo_id']}@{latest.get('revision')}" if latest else None,
    }


def list_runs(root: str | os.PathLike[str] = DEFAULT_ROOT) -> list[dict[str, Any]]:
    """`zoo runs [DIR]`: a summary of every finished run under `root`, oldest first; each damaged one is skipped
    with one warning, a folder whose config.json zoo did not write is not a run."""
    root = Path(root)
    if not root.is_dir():
        raise UsageError(f"{root} is not a folder: name the folder that holds your runs (zoo train writes to runs/)")
    recipes = get_registry().recipes.get
    rows = []
    for folder in sorted(_candidates(root)):
        try:
            rows.append(summary(run_folder.read_run(folder, recipes)))
        except run_folder.NotZooRun:
            continue
        except ZooError as exc:
            warn(f"skipped {folder}: {exc}")
    return sorted(rows, key=lambda r: (r["finished"] or "", r["run_dir"]))


def show_run(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """`zoo runs show RUN_DIR`: the summary, the best epoch and every epoch's row of metrics.jsonl."""
    folder = Path(folder)
    if not (folder / layout.CONFIG).exists():
        raise UsageError(f"{folder} is not a run folder (no {layout.CONFIG}); 'zoo runs' lists the run folders")
    run = run_folder.read_run(folder, get_registry().recipes.get)
    return {**summary(run), "best_epoch": run.epoch, "history": run.history}
