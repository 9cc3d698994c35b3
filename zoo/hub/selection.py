"""Which files of a repository zoo pulls: the catalog's pinned ones, else every file but pickles (unless allowed)
and weights in other frameworks' formats (zoo's own exports, model.onnx and model.pt2 at the root, are pulled);
every path checked to stay inside the repository."""

from __future__ import annotations

from collections.abc import Mapping

from zoo.core.errors import UsageError, ZooError
from zoo.core.paths import check_repo_path
from zoo.store.layout import EXPORTS
from zoo.store.weights import PICKLE_SUFFIXES

# Weights in other frameworks' formats: never pulled, since zoo loads only PyTorch weights and its own exports.
OTHER_FORMATS = (".h5", ".msgpack", ".onnx", ".ot", ".tflite", ".mlmodel", ".gguf", ".pb")
#: what `zoo publish --export` adds at the repository's root, which `zoo predict --runtime` runs
ZOO_EXPORTS = frozenset(EXPORTS.values())


def select_files(paths: list[str], pins: Mapping[str, str], allow_pickle: bool, where: str) -> list[str]:
    """Which repository files to pull: the pinned ones, else all but pickles (unless allowed) and other formats."""
    for path in paths:
        check_repo_path(path)
    _check_layout(paths, where)
    if pins:
        absent = sorted(set(pins) - set(paths))
        if absent:
            raise UsageError(f"the catalog pins {', '.join(absent)}, which {where} does not have at that revision")
        return sorted(pins)
    chosen = [
        p
        for p in paths
        if (p in ZOO_EXPORTS or not p.endswith(OTHER_FORMATS)) and (allow_pickle or not p.endswith(PICKLE_SUFFIXES))
    ]
    only_pickles = not any(p.endswith(".safetensors") for p in paths) and any(
        p.endswith(PICKLE_SUFFIXES) for p in paths
    )
    if only_pickles and not allow_pickle:
        raise UsageError(
            f"{where} has only pickle weights, which can run code when loaded. Pass --allow-pickle "
            "(allow_pickle=True) to pull them; they then load with torch.load(weights_only=True)."
        )
    return sorted(chosen)


def _check_layout(paths: list[str], where: str) -> None:
    """Refuse a listing that names one path as a file and as a folder: it cannot be laid out on disk."""
    files = set(paths)
    for path in paths:
        parts = path.split("/")
        for depth in range(1, len(parts)):
            if (folder := "/".join(parts[:depth])) in files:
                raise ZooError(
                    f"{where} holds {folder!r} both as a file and as the folder of {path!r}, which no file system "
                    "can hold side by side: nothing was pulled. Report it to the repository's owner."
                )


def is_metadata(path: str) -> bool:
    """A small file that says what a repo holds (config.json, vocab.json, ...), not weights."""
    return path.endswith((".json", ".txt"))
