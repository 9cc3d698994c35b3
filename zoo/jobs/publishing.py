"""`zoo publish --export`: a run's exported models, each past its parity gate, published with the run (the Hub
floor, zoo.hub.publish, commits them; exporting lives here, on the jobs floor)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from zoo.core.atomic import write_bytes
from zoo.core.errors import UsageError
from zoo.core.fs import check_writable
from zoo.hub.publish import Export, PublishResult
from zoo.hub.publish import publish as publish_run
from zoo.jobs.artifacts import FORMATS, artifact_path


def export_formats(export: str | Sequence[str] | None) -> tuple[str, ...]:
    """--export's formats: a comma list (or a sequence) of onnx and pt2, in order, each once; () for none."""
    if export is None:
        return ()
    items = export.split(",") if isinstance(export, str) else list(export)
    formats = tuple(dict.fromkeys(str(item).strip() for item in items))
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise UsageError(
            f"--export takes a comma list of {', '.join(FORMATS)} (e.g. --export onnx,pt2), got {export!r}"
        )
    return formats


def export_run(folder: Path, formats: Sequence[str]) -> list[Export]:
    """Every format exported and checked by its parity gate first, then all written into the run folder (model.onnx,
    model.pt2): a failing gate (ParityFailed, exit 1) writes none of them."""
    from zoo.jobs.export import ATOL, RTOL, export_loaded
    from zoo.jobs.inference import load_for_inference

    check_writable(folder, "the run folder, where the exports are written")
    recipe, model, config = load_for_inference(str(folder), device="cpu")
    results = {fmt: export_loaded(recipe, model, config, fmt, None, ATOL, RTOL) for fmt in formats}
    exports = []
    for fmt, result in results.items():
        path = write_bytes(artifact_path(folder, fmt), result["data"])
        exports.append(Export(format=fmt, file=path, parity=result["parity"]))
    return exports


def publish(
    run_dir: str | os.PathLike[str], repo_id: str, export: str | Sequence[str] | None = None, **options: Any
) -> PublishResult:
    """`zoo publish`: zoo.hub.publish.publish (its `options`: hub, private, revision, create_pr, dry_run, register,
    name, license), plus `export` (e.g. "onnx,pt2"): those exports, each past its parity gate, in the commit, with
    their figures in config.json and the model card."""
    formats = export_formats(export)  # before anything is read or uploaded
    exporter = (lambda folder: export_run(folder, formats)) if formats else None
    return publish_run(run_dir, repo_id, exporter=exporter, **options)
