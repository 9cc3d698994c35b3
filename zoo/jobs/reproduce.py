"""`zoo reproduce`: retrain a model published with zoo from what its config.json records, and say whether the
published weights and metrics come out again: bitwise, within a tolerance, or not."""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from zoo._version import __version__
from zoo.core.errors import UsageError, warn
from zoo.hub.pull import download as pull
from zoo.jobs.train import process_slots, train
from zoo.registry.merged import get_registry
from zoo.store import layout, run_folder
from zoo.store.card import dataset_name
from zoo.store.weights import read_state_dict, tensors_digest

DEFAULT_TOLERANCE = 0.005


@dataclass
class MetricCheck:
    """One published value of a metric against the value the retrained weights measured."""

    name: str
    published: float
    reproduced: float | None
    delta: float | None
    #: where the published value was found: metrics.json, config.json, README.md
    sources: list[str]


@dataclass
class Reproduction:
    repo_id: str
    revision: str
    run_dir: str
    verdict: str
    tolerance: float
    metrics: list[MetricCheck]
    warnings: list[str] = field(default_factory=list)
    same_weights: bool = False

    def to_json(self) -> dict[str, Any]:
        """What `zoo reproduce --json` prints."""
        return {
            "repo_id": self.repo_id,
            "revision": self.revision,
            "run_dir": self.run_dir,
            "verdict": self.verdict,
            "tolerance": self.tolerance,
            "metrics": [asdict(m) for m in self.metrics],
            "warnings": self.warnings,
            "same_weights": self.same_weights,
        }


def published_metrics(folder: Path, config: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Every metric the repo publishes, by name, then by the file that states it (metrics.json, config.json's
    "metrics", the model card's model-index)."""
    found: dict[str, dict[str, float]] = {}

    def add(source: str, values: Any) -> None:
        for name, value in values.items() if isinstance(values, dict) else []:
            if name != "epoch" and run_folder.is_metric(value):
                found.setdefault(str(name), {})[source] = float(value)

    add(layout.METRICS, run_folder.read_json(folder / layout.METRICS, "it should map metric names to numbers"))
    add(layout.CONFIG, config.get("metrics"))
    add(layout.CARD, card_metrics(folder / layout.CARD))
    return found


def card_metrics(path: Path) -> dict[str, float]:
    """The model card's model-index results as {metric type: value}; {} without a card or results."""
    if not path.is_file():
        return {}
    from huggingface_hub import ModelCard

    try:
        card = ModelCard.load(path)
    except Exception as exc:  # a card is free text: one that does not parse states no metric
        warn(f"the model card {path.name} does not parse ({type(exc).__name__}); its metrics are not checked")
        return {}
    return {r.metric_type: r.metric_value for r in card.data.eval_results or []}


def default_out(repo_id: str, revision: str) -> Path:
    return Path("runs") / f"reproduce-{repo_id.split('/')[-1]}-{revision[:8]}"


def _environment_warnings(config: dict[str, Any]) -> list[str]:
    """The versions that differ from the published run's: zoo's, the plugin's, torch's."""
    import torch

    plugin = get_registry().plugin_set.get(str(config.get("plugin")))
    here = {
        "zoo": __version__,
        f"the plugin {config.get('plugin')}": plugin.version if plugin else None,
        "torch": torch.__version__.split("+")[0],
    }
    published = {
        "zoo": config.get("zoo_version"),
        f"the plugin {config.get('plugin')}": config.get("plugin_version"),
        "torch": config.get("torch_version"),
    }
    return [
        f"{what} is {here[what]} here, {published[what]} in the published run: the result may differ"
        for what in here
        if published[what] and here[what] != published[what]
    ]


def _device(config: dict[str, Any], notes: list[str]) -> str | None:
    """The published run's device kind when this machine has one, else None (the recorded setting decides)."""
    import torch

    kind = config.get("device_kind")
    available = {"cpu": True, "cuda": torch.cuda.is_available(), "mps": torch.backends.mps.is_available()}
    if available.get(kind):
        return kind
    if kind:
        notes.append(f"the published run trained on {kind}, which this machine lacks: the result may differ")
    return None


def _world_size(config: dict[str, Any], nproc: int | None, device: str | None, notes: list[str]) -> int:
    """The published run's world size when this machine can run it (or as `nproc` says)."""
    published = (config.get("distributed") or {}).get("world_size")
    published = published if isinstance(published, int) and published >= 1 else 1
    if nproc is not None:
        if nproc != published:
            notes.append(
                f"--nproc {nproc} differs from the published run's {published} processes: the result may differ"
            )
        return nproc
    from zoo.engine.device import device_kind

    available, _ = process_slots(device_kind(device))  # device None: train() picks as "auto" does
    if published > available:
        notes.append(
            f"the published run used {published} processes; this machine runs {available}: the result may differ"
        )
        return max(1, available)
    return published


def _settings(config: dict[str, Any], download: bool) -> dict[str, Any]:
    """The recorded settings as `--set` values: engine fields and the recipe's options; the device is chosen apart.
    `download` is the user's alone: a repo's config.json never makes zoo download into the working folder."""
    settings = dict(config.get("settings") or {})
    options = dict(settings.pop("options", None) or {})
    settings.pop("device", None)
    recorded = options.pop("download", None) is not None or settings.pop("download", None) is not None
    return {**settings, **options, **({"download": download} if download or recorded else {})}


def compare(
    published: dict[str, dict[str, float]], reproduced: dict[str, float], same_weights: bool, tolerance: float
) -> tuple[str, list[MetricCheck]]:
    """The verdict and one check per published value (one per distinct value when the files disagree)."""
    checks = []
    for name in sorted(published):
        by_value: dict[float, list[str]] = {}
        for source, value in published[name].items():
            by_value.setdefault(value, []).append(source)
        for value, sources in by_value.items():
            got = reproduced.get(name)
            delta = None if got is None else got - value
            checks.append(MetricCheck(name, value, got, delta, sources))
    equal = all(c.delta == 0 for c in checks)
    close = all(c.delta is not None and abs(c.delta) <= tolerance for c in checks)
    if same_weights:
        # The same weights measure the same: a published value they do not give is a wrong card.
        return ("bitwise" if equal else "differs"), checks
    return ("within-tolerance" if close else "differs"), checks


def reproduce(
    target: str,
    data_dir: str | None = None,
    out: str | os.PathLike[str] | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    nproc: int | None = None,
    hub: str | os.PathLike[str] | None = None,
    quiet: bool = False,
    download: bool = False,
) -> Reproduction:
    """Pull and verify `target` (ORG/NAME[@REV]), retrain it as its config.json records into `out`, and compare
    the weights and every published metric. Only `download` lets the dataset download, whatever the repo records."""
    if not (isinstance(tolerance, (int, float)) and math.isfinite(tolerance) and tolerance >= 0):
        raise UsageError(f"--tolerance must be a number >= 0, got {tolerance}")
    if nproc is not None and nproc < 1:
        raise UsageError(f"--nproc must be at least 1, got {nproc}")
    pulled = pull(target, hub=hub)
    config = pulled.config
    if not run_folder.is_zoo_config(config) or not isinstance(config.get("recipe"), str):
        raise UsageError(
            f"{pulled.repo_id} was not published by 'zoo publish' (its config.json records no zoo run), so there is "
            "no recorded recipe to retrain"
        )
    run_folder.check_run_config(config, f"config.json of {pulled.repo_id}", get_registry().recipes.get)
    published = published_metrics(pulled.path, config)
    if not published:
        raise UsageError(f"{pulled.repo_id} publishes no metrics, so there is nothing to reproduce against")
    out = Path(out) if out is not None else default_out(pulled.repo_id, pulled.revision)
    if (out / layout.WEIGHTS).is_file() or (out / layout.CHECKPOINT).is_file():
        raise UsageError(f"{out} already holds a run: remove it, or pass another --out")
    notes = _environment_warnings(config)
    device = _device(config, notes)
    world = _world_size(config, nproc, device, notes)
    dataset = config.get("dataset") if isinstance(config.get("dataset"), dict) else {}
    hub_data = config.get("hub_dataset")
    if data_dir is None and isinstance(hub_data, dict):  # the same commit of the same Hub dataset repo
        data_dir = f"hf://datasets/{hub_data['repo_id']}@{hub_data['revision']}"
    if not dataset.get("fingerprint"):
        notes.append(f"{pulled.repo_id} records no fingerprint of its data, so zoo cannot check that the data matches")
    for note in notes:
        warn(note)
    plugin = config.get("plugin")
    train(
        f"{plugin}:{config['model']}" if plugin else config["model"],
        recipe=config["recipe"],
        dataset=dataset_name(config),
        data_dir=data_dir,
        device=device,
        sets=_settings(config, download),
        out=out,
        quiet=quiet,
        nproc=world,
        expected_fingerprint=dataset.get("fingerprint"),
        hub=hub,
    )
    same = tensors_digest(read_state_dict(pulled.path / layout.WEIGHTS)) == tensors_digest(run_folder.read_weights(out))
    verdict, checks = compare(published, run_folder.read_run(out).metrics, same, tolerance)
    return Reproduction(
        repo_id=pulled.repo_id,
        revision=pulled.revision,
        run_dir=str(out),
        verdict=verdict,
        tolerance=tolerance,
        metrics=checks,
        warnings=notes,
        same_weights=same,
    )
