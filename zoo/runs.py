"""Run folders: model.safetensors + config.json + metrics.json, as training writes them and publish reads them."""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zoo.errors import UsageError

WEIGHTS, CONFIG, METRICS = "model.safetensors", "config.json", "metrics.json"


@dataclass(frozen=True)
class Run:
    folder: Path
    config: dict[str, Any]
    metrics: dict[str, float]

    @property
    def weights(self) -> Path:
        return self.folder / WEIGHTS


def is_zoo_config(config: Any) -> bool:
    """A config.json zoo wrote: it names zoo's version and the model."""
    return isinstance(config, dict) and "zoo_version" in config and isinstance(config.get("model"), str)


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text("utf-8"))
    except ValueError as exc:
        raise UsageError(f"{path} is not valid JSON ({exc}); {what}") from None


def read_run(folder: str | os.PathLike[str]) -> Run:
    """Load and check a run folder; a missing or malformed part is a UsageError saying which."""
    from zoo.weights import check_safetensors

    folder = Path(folder)
    if not folder.is_dir():
        raise UsageError(f"{folder} is not a run folder (no such directory). Train one with 'zoo train'.")
    missing = [name for name in (WEIGHTS, CONFIG, METRICS) if not (folder / name).is_file()]
    if missing:
        raise UsageError(
            f"the run folder {folder} lacks {', '.join(missing)}: publish needs the weights, "
            "config.json and metrics.json that 'zoo train' writes."
        )
    config = _read_json(folder / CONFIG, "it should be the config.json 'zoo train' writes")
    if not is_zoo_config(config):
        raise UsageError(f"{folder / CONFIG} is not a zoo run config: it needs 'zoo_version' and 'model'.")
    if not isinstance(config.get("model_args", {}), dict):
        raise UsageError(f"{folder / CONFIG}: 'model_args' must be an object")
    metrics = _read_json(folder / METRICS, "it should map metric names to numbers")
    if not isinstance(metrics, dict) or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in metrics.values()
    ):
        raise UsageError(f"{folder / METRICS} must map metric names to finite numbers, got {metrics!r:.80}")
    check_safetensors(folder / WEIGHTS)
    # metrics.json also records which epoch they come from; that is not a metric to publish.
    return Run(folder=folder, config=config, metrics={k: v for k, v in metrics.items() if k != "epoch"})


def write_json(path: Path, data: Any) -> Path:
    """Write JSON atomically (temporary file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, sort_keys=True)
        fh.write("\n")
    os.replace(tmp, path)
    return path


def run_config(
    model: str, model_args: dict[str, Any], *, plugin: str, plugin_version: str | None, task: str, **fields: Any
) -> dict[str, Any]:
    """The config.json of a run: zoo's and torch's versions, the model and how it was trained."""
    import torch

    import zoo

    return {
        "zoo_version": zoo.__version__,
        "torch_version": torch.__version__.split("+")[0],
        "plugin": plugin,
        "plugin_version": plugin_version,
        "model": model,
        "model_args": model_args,
        "task": task,
        **fields,
    }
