"""`zoo runs`: the finished run folders under a folder, summarised; `zoo runs show`: one run epoch by epoch."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from zoo.core.errors import UsageError, ZooError, warn
from zoo.store import layout, run_folder
from zoo.store.card import dataset_name, main_metric

DEFAULT_ROOT = "runs"


def _is_run(folder: Path, names: list[str]) -> bool:
    return (
        layout.CONFIG in names
        and layout.METRICS in names
        and run_folder.is_zoo_config(run_folder.read_config_json(folder))
    )


def find_runs(root: str | os.PathLike[str] = DEFAULT_ROOT) -> list[Path]:
    """Every finished run folder (a zoo config.json and metrics.json) anywhere under `root`, itself included;
    the folders inside a run (data/, checkpoints/, tensorboard/) are not searched."""
    root = Path(root)
    if not root.is_dir():
        raise UsageError(f"{root} is not a folder: name the folder that holds your runs (zoo train writes to runs/)")
    found = []
    for current, folders, files in os.walk(root, onerror=None):
        if _is_run(Path(current), files):
            found.append(Path(current))
            folders[:] = []
        else:
            folders[:] = sorted(f for f in folders if not f.startswith("."))
    return found


def summary(run: run_folder.Run, history: list[dict[str, Any]]) -> dict[str, Any]:
    """One row of `zoo runs --json`, from a run folder as read_run and read_history give it."""
    folder, config = run.folder, run.config
    name = main_metric(config, run.metrics)
    published = run_folder.read_published(folder)
    latest = published[-1] if published else None
    return {
        "run_dir": str(folder),
        "model": config.get("model"),
        "recipe": config.get("recipe"),
        "dataset": dataset_name(config),
        "metric": {"name": name, "value": run.metrics[name]} if name else None,
        "epochs": len(history) or run.epoch,
        "seconds": config.get("seconds"),
        "finished": config.get("finished"),
        "published": f"{latest['repo_id']}@{latest.get('revision')}" if latest else None,
    }


def list_runs(root: str | os.PathLike[str] = DEFAULT_ROOT) -> list[dict[str, Any]]:
    """`zoo runs [DIR]`: a summary of every finished run under `root`, oldest first; damaged ones are skipped with
    a warning."""
    rows = []
    for folder in find_runs(root):
        try:
            rows.append(summary(run_folder.read_run(folder), run_folder.read_history(folder)))
        except ZooError as exc:
            warn(f"skipped {folder}: {exc}")
    return sorted(rows, key=lambda r: (str(r["finished"] or ""), r["run_dir"]))


def show_run(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """`zoo runs show RUN_DIR`: the summary, the best epoch and every epoch's row of metrics.jsonl."""
    folder = Path(folder)
    if not (folder / layout.CONFIG).is_file():
        raise UsageError(f"{folder} is not a run folder (no {layout.CONFIG}); 'zoo runs' lists the run folders")
    run, history = run_folder.read_run(folder), run_folder.read_history(folder)
    return {**summary(run, history), "best_epoch": run.epoch, "history": history}
