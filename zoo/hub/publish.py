"""Publish a run folder as one commit (weights, config.json, model card, metrics.json, and exported models with their
parity figures) to the Hub, any Hub-compatible endpoint, or a local hub folder; optionally register its pinned
catalog entry."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from zoo.core.atomic import clean_stale, temp_name, write_text
from zoo.core.errors import UsageError, warn
from zoo.core.paths import check_branch, check_repo_id
from zoo.hub.integrity import Digests, hash_file
from zoo.hub.transport import PulledFile, hub_location, open_hub
from zoo.plugin.specs import ModelSpec
from zoo.registry.catalog import ENTRY_NAME_RE
from zoo.registry.catalog_writer import check_upsert, entry_table, render_entry, upsert_entry
from zoo.registry.merged import get_registry
from zoo.store.card import dataset_name, main_metric, model_card, publish_config
from zoo.store.curves import render as render_curves
from zoo.store.layout import CARD, CONFIG, CURVES, EXPORTS, METRICS, WEIGHTS
from zoo.store.run_folder import Run, read_run, record_published, side_files, write_json


@dataclass(frozen=True)
class Export:
    """An exported model to publish: its format (a key of layout.EXPORTS), its file, and the parity gate's figures
    (the report zoo.jobs.export writes)."""

    format: str
    file: Path
    parity: Mapping[str, Any]


#: makes a run's exports once the cheap checks have passed (zoo.jobs.publishing: export lives on a higher floor)
Exporter = Callable[[Path], list[Export]]


@dataclass
class PublishResult:
    repo_id: str
    revision: str | None
    commit_url: str | None
    files: list[PulledFile]
    entry_name: str
    catalog_entry: str
    registered: str | None = None
    #: config.json's "exports": format -> {path, sha256, size, parity}
    exports: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "repo_id": self.repo_id,
            "revision": self.revision,
            "commit_url": self.commit_url,
            "files": [asdict(f) for f in self.files],
            "exports": self.exports,
            "catalog_entry": self.catalog_entry,
            "name": self.entry_name,
            "registered": self.registered,
        }


def _entry_name(arch: str, config: Mapping[str, Any], repo_id: str, name: str | None) -> str:
    if name is None:
        tag = dataset_name(config) or repo_id.split("/")[1]
        name = f"{arch}.{re.sub(r'[^a-z0-9_-]+', '_', str(tag).lower()).strip('_-') or 'custom'}"
    match = ENTRY_NAME_RE.fullmatch(name)
    if not match or match.group(1) != arch:
        raise UsageError(f"--name must be '{arch}.<tag>' (lowercase, digits, '_' or '-'), got '{name}'")
    return name


def _stage(
    run: Any, repo_id: str, folder: Path, license: str | None, revision: str, exports: list[Export]
) -> tuple[dict[str, Path], dict[str, Any]]:
    """The commit's files in `folder`, and config.json's "exports" section."""
    staged: dict[str, Path] = {}
    carried = {WEIGHTS: run.weights, **side_files(run.folder), **{EXPORTS[e.format]: e.file for e in exports}}
    for path, source in carried.items():
        staged[path] = folder / path
        staged[path].parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source, staged[path])  # no copy of large files when on one filesystem
        except OSError:
            shutil.copyfile(source, staged[path])
    described = _describe_exports(staged, exports)
    staged[CONFIG] = write_json(folder / CONFIG, publish_config(run.config, run.metrics, described))
    staged[METRICS] = write_json(folder / METRICS, run.metrics)
    history = run.history
    if history:
        metric = main_metric(run.config, run.metrics)
        staged[CURVES] = render_curves(history, metric, run.epoch, folder / CURVES)
    card = model_card(
        repo_id, run.config, run.metrics, license, curves=bool(history), revision=revision, exports=described
    )
    staged[CARD] = write_text(folder / CARD, card)
    return staged, described


def _describe_exports(staged: Mapping[str, Path], exports: list[Export]) -> dict[str, Any]:
    """Each export as config.json records it: the digest of the very file staged for the commit, and its figures."""
    described = {}
    for export in exports:
        path = EXPORTS[export.format]
        digests = hash_file(staged[path], git_sha1=False)
        described[export.format] = {
            "path": path,
            "sha256": digests.sha256,
            "size": digests.size,
            "parity": dict(export.parity),
        }
    return described


def _catalog_table(
    spec: ModelSpec, run: Run, repo_id: str, revision: str, license: str | None, files: list[PulledFile]
) -> dict[str, Any]:
    """The published run's catalog entry: the files that load the model, pinned, with the run's metrics."""
    return entry_table(
        model=spec.name if len(get_registry().models.by_short[spec.name]) == 1 else spec.qualified_name,
        source=repo_id,
        revision=revision,
        task=run.config.get("task") or spec.task,
        license=license or run.config.get("license"),
        description=f"{spec.name} trained on {dataset_name(run.config) or 'a custom dataset'}, published with zoo",
        files={f.path: f"sha256:{f.sha256}" for f in files if f.path not in (CARD, METRICS, CURVES)},
        metrics=run.metrics,
        preprocessing=run.config.get("preprocessing"),
    )


def publish(
    run_dir: str | os.PathLike[str],
    repo_id: str,
    hub: str | os.PathLike[str] | None = None,
    private: bool = False,
    revision: str = "main",
    create_pr: bool = False,
    dry_run: bool = False,
    register: str | os.PathLike[str] | None = None,
    name: str | None = None,
    license: str | None = None,
    exporter: Exporter | None = None,
) -> PublishResult:
    """Publish a run folder as one commit: weights, config.json, a model card, metrics.json and the run's data/
    side files; with `exporter`, the exported models it makes (each past its parity gate) and their figures."""
    run = read_run(run_dir, get_registry().recipes.get)  # every document of the run checked before any work
    check_repo_id(repo_id)
    check_branch(revision)
    spec = get_registry().model(run.config["model"])
    entry_name = _entry_name(spec.name, run.config, repo_id, name)
    target = open_hub(hub)
    if create_pr and not dry_run:  # before anything is staged or written
        target.check_pull_requests()
    if register is not None and not dry_run:  # all or nothing: the catalog must take the entry before the commit
        paths = (WEIGHTS, CONFIG, *side_files(run.folder), *(EXPORTS.values() if exporter else ()))
        placeholder = [PulledFile(p, "0" * 64, 0) for p in paths]
        check_upsert(Path(register), entry_name, _catalog_table(spec, run, repo_id, "0" * 40, license, placeholder))
    message = (
        f"Publish {spec.name}"
        + (f" trained on {dataset_name(run.config)}" if dataset_name(run.config) else "")
        + f" with zoo {run.config.get('zoo_version')}"
    )
    exports = exporter(run.folder) if exporter is not None else []  # a failing gate raises: nothing is uploaded
    clean_stale(tempfile.gettempdir())  # what killed publishes left behind
    with tempfile.TemporaryDirectory(prefix=temp_name()) as tmp:
        staged, described = _stage(run, repo_id, Path(tmp), license, revision, exports)
        digests: dict[str, Digests] = {path: hash_file(file) for path, file in staged.items()}
        commit = commit_url = None
        if not dry_run:
            commit, commit_url = target.commit(repo_id, staged, message, revision, private, create_pr)
    files = [PulledFile(path=p, sha256=d.sha256, size=d.size) for p, d in sorted(digests.items())]
    table = _catalog_table(spec, run, repo_id, commit or revision, license, files)
    result = PublishResult(
        repo_id=repo_id,
        revision=commit,
        commit_url=commit_url,
        files=files,
        entry_name=entry_name,
        catalog_entry=render_entry(entry_name, table),
        exports=described,
    )
    if register is not None and not dry_run:
        result.registered = str(upsert_entry(Path(register), entry_name, table))
    if commit is not None and not create_pr:
        try:
            record_published(run.folder, repo_id, commit, hub_location(hub))
        except OSError as exc:  # the commit is made; a read-only run folder only loses the note
            warn(f"published, but could not note it in {run.folder}: {exc.strerror or exc}")
    return result
