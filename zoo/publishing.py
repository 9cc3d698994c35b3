"""Publish a run folder as one commit (weights, config.json, model card, metrics.json) to the Hub, any
Hub-compatible endpoint, or a local hub folder; optionally register its pinned catalog entry."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from zoo import curves
from zoo.atomic import clean_stale, temp_name, write_text
from zoo.card import dataset_name
from zoo.catalog import ENTRY_NAME_RE
from zoo.errors import UsageError, warn
from zoo.hub import PulledFile, describe, hub_errors, hub_location, is_local, library
from zoo.integrity import Digests, hash_file
from zoo.paths import check_branch, check_repo_id
from zoo.registry import get_registry
from zoo.runs import CONFIG, METRICS, WEIGHTS, read_history, read_run, record_published, side_files, write_json


@dataclass
class PublishResult:
    repo_id: str
    revision: str | None
    commit_url: str | None
    files: list[PulledFile]
    entry_name: str
    catalog_entry: str
    registered: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "repo_id": self.repo_id,
            "revision": self.revision,
            "commit_url": self.commit_url,
            "files": [asdict(f) for f in self.files],
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


def _stage(run: Any, repo_id: str, folder: Path, license: str | None, revision: str) -> dict[str, Path]:
    from zoo.card import main_metric, model_card, publish_config

    staged: dict[str, Path] = {}
    for path, source in {WEIGHTS: run.weights, **side_files(run.folder)}.items():
        staged[path] = folder / path
        staged[path].parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source, staged[path])  # no copy of large files when on one filesystem
        except OSError:
            shutil.copyfile(source, staged[path])
    staged[CONFIG] = write_json(folder / CONFIG, publish_config(run.config, run.metrics))
    staged[METRICS] = write_json(folder / METRICS, run.metrics)
    history = read_history(run.folder)
    if history:
        metric = main_metric(run.config, run.metrics)
        staged[curves.FILE] = curves.render(history, metric, run.epoch, folder / curves.FILE)
    card = model_card(repo_id, run.config, run.metrics, license, curves=bool(history), revision=revision)
    staged["README.md"] = write_text(folder / "README.md", card)
    return staged


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
) -> PublishResult:
    """Publish a run folder as one commit: weights, config.json, a model card, metrics.json and the run's data/
    side files."""
    from zoo.catalog_edit import check_upsert, entry_table, render_entry, upsert_entry

    run = read_run(run_dir)
    check_repo_id(repo_id)
    check_branch(revision)
    spec = get_registry().model(run.config["model"])
    entry_name = _entry_name(spec.name, run.config, repo_id, name)
    location = hub_location(hub)
    if create_pr and is_local(location) and not dry_run:
        raise UsageError("--create-pr needs a Hub endpoint; a local hub folder has no pull requests")

    def entry(commit: str | None, files: list[PulledFile]) -> dict[str, Any]:
        return entry_table(
            model=spec.name if len(get_registry().models.by_short[spec.name]) == 1 else spec.qualified_name,
            source=repo_id,
            revision=commit or revision,
            task=run.config.get("task") or spec.task,
            license=license or run.config.get("license"),
            description=f"{spec.name} trained on {dataset_name(run.config) or 'a custom dataset'}, published with zoo",
            files={f.path: f"sha256:{f.sha256}" for f in files if f.path not in ("README.md", METRICS, curves.FILE)},
            metrics=run.metrics,
            preprocessing=run.config.get("preprocessing"),
        )

    if register is not None and not dry_run:  # all or nothing: the catalog must take the entry before the commit
        placeholder = [PulledFile(p, "0" * 64, 0) for p in (WEIGHTS, CONFIG, *side_files(run.folder))]
        check_upsert(Path(register), entry_name, entry("0" * 40, placeholder))
    message = (
        f"Publish {spec.name}"
        + (f" trained on {dataset_name(run.config)}" if dataset_name(run.config) else "")
        + f" with zoo {run.config.get('zoo_version')}"
    )
    clean_stale(tempfile.gettempdir())  # what killed publishes left behind
    with tempfile.TemporaryDirectory(prefix=temp_name()) as tmp:
        staged = _stage(run, repo_id, Path(tmp), license, revision)
        digests: dict[str, Digests] = {path: hash_file(file) for path, file in staged.items()}
        commit = commit_url = None
        if dry_run:
            pass
        elif is_local(location):
            commit, commit_url = _commit_local(location, repo_id, staged, message, revision)
        else:
            commit, commit_url = _commit_remote(location, repo_id, staged, message, revision, private, create_pr)
    files = [PulledFile(path=p, sha256=d.sha256, size=d.size) for p, d in sorted(digests.items())]
    table = entry(commit, files)
    result = PublishResult(
        repo_id=repo_id,
        revision=commit,
        commit_url=commit_url,
        files=files,
        entry_name=entry_name,
        catalog_entry=render_entry(entry_name, table),
    )
    if register is not None and not dry_run:
        result.registered = str(upsert_entry(Path(register), entry_name, table))
    if commit is not None and not create_pr:
        try:
            record_published(run.folder, repo_id, commit, location)
        except OSError as exc:  # the commit is made; a read-only run folder only loses the note
            warn(f"published, but could not note it in {run.folder}: {exc.strerror or exc}")
    return result


def _commit_local(root: str, repo_id: str, staged: dict[str, Path], message: str, revision: str) -> tuple[str, str]:
    from zoo.localhub import LocalHub

    hub = LocalHub(root)
    hub.create_repo(repo_id, exist_ok=True)
    if revision != "main":
        hub.create_branch(repo_id, revision)
    commit = hub.commit(repo_id, staged, message, branch=revision)
    return commit, f"{hub.repo_path(repo_id).as_uri()}#{commit}"


def _commit_remote(
    endpoint: str | None,
    repo_id: str,
    staged: dict[str, Path],
    message: str,
    revision: str,
    private: bool,
    create_pr: bool,
) -> tuple[str, str]:
    from huggingface_hub import CommitOperationAdd, HfApi

    api = HfApi(endpoint=endpoint, **library())
    with hub_errors(repo_id, describe(endpoint)):
        api.create_repo(repo_id, private=private, exist_ok=True)
        if revision != "main":
            api.create_branch(repo_id, branch=revision, exist_ok=True)
        info = api.create_commit(
            repo_id,
            operations=[CommitOperationAdd(path, str(file)) for path, file in sorted(staged.items())],
            commit_message=message,
            revision=revision,
            create_pr=create_pr,
        )
    return info.oid, info.pr_url or info.commit_url
