"""Dataset repos on the Hub: `hf://datasets/ORG/NAME[@REV]` resolved to one commit, its card read for the splits and
the columns' features, and the chosen split's parquet files pulled and verified like weights (zoo.hub.pull).

The card's `configs` (`data_files` per split) decide the files; without them, the files' paths name their splits, as
the `datasets` library infers them (this is also how the Hub's `refs/convert/parquet` branch is laid out).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

from zoo.core.errors import UsageError, ZooError
from zoo.core.paths import check_branch, check_repo_id
from zoo.hub.pull import fetch
from zoo.hub.transport import PulledFile, Target
from zoo.plugin.hubdata import Feature, HubSource

SCHEME = "hf://datasets/"
CARD = "README.md"
#: words in a file's path that name its split, as the `datasets` library reads them
SPLIT_WORDS = {
    "train": ("train", "training"),
    "validation": ("validation", "valid", "val", "dev"),
    "test": ("test", "testing", "eval", "evaluation"),
}
#: the splits zoo reads: training, and the one it validates on
READ_SPLITS = ("train", "validation", "test")


def is_hub_uri(data_dir: object) -> bool:
    return isinstance(data_dir, str) and data_dir.startswith("hf://")


def parse_uri(uri: str) -> tuple[str, str]:
    """`hf://datasets/ORG/NAME[@REV]` -> (repo id, revision); a UsageError saying the form, else."""
    if not uri.startswith(SCHEME):
        raise UsageError(f"--data-dir {uri}: a Hub dataset is written hf://datasets/ORG/NAME[@REV] (a dataset repo).")
    repo_id, _, revision = uri[len(SCHEME) :].partition("@")
    return check_repo_id(repo_id.rstrip("/")), check_branch(revision or "main", "revision")


@dataclass
class PulledDataset:
    """A dataset repo at one commit, verified in the cache: `zoo pull --dataset`'s answer, and a run's source."""

    repo_id: str
    revision: str
    path: Path
    files: list[PulledFile]
    source: HubSource
    #: split -> its files' paths in the repo
    split_files: dict[str, list[str]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": None,
            "repo_id": self.repo_id,
            "revision": self.revision,
            "path": str(self.path),
            "files": [{"path": f.path, "sha256": f.sha256, "size": f.size} for f in self.files],
            "splits": self.split_files,
        }


def pull_dataset(
    repo_id: str, revision: str = "main", hub: str | os.PathLike[str] | None = None, offline: bool = False
) -> PulledDataset:
    """Resolve the revision to a commit once, read the card, pull and verify the parquet files of the splits zoo
    reads (train, validation, test)."""
    target = Target(repo_id=check_repo_id(repo_id), revision=check_branch(revision, "revision"), repo_type="dataset")
    fetched, _ = fetch(target, hub, offline, allow_pickle=False, want=lambda p: p == CARD)
    card = _read_card(fetched.folder / CARD) if (fetched.folder / CARD).is_file() else {}
    where = f"{repo_id}@{fetched.commit}"
    split_files = {s: files for s, files in _split_files(card, fetched.listed, where).items() if s in READ_SPLITS}
    if "train" not in split_files:
        found = ", ".join(sorted(_split_files(card, fetched.listed, where))) or "no parquet files"
        raise UsageError(
            f"{where} has no train split (it has {found}): zoo trains on a split named train. Name one in the "
            "card's configs (data_files with split: train)."
        )
    wanted = {p for files in split_files.values() for p in files}
    pinned = Target(repo_id=target.repo_id, revision=fetched.commit, repo_type="dataset")
    fetched_data, pulled = fetch(pinned, hub, offline, allow_pickle=False, want=lambda p: p in wanted)
    folder = fetched_data.folder
    splits = {s: tuple(folder / p for p in files) for s, files in split_files.items()}
    features = _card_features(card) or _parquet_features(splits["train"][0], where)
    source = HubSource(
        repo_id=target.repo_id,
        revision=fetched.commit,
        splits=splits,
        features=features,
        files={f.path: f.sha256 for f in pulled if f.path in wanted},
        repo_paths={str(folder / p): p for p in wanted},
    )
    files = [f for f in pulled if f.path in wanted]
    return PulledDataset(target.repo_id, fetched.commit, folder, files, source, split_files)


def open_source(uri: str, hub: str | os.PathLike[str] | None = None, offline: bool = False) -> HubSource:
    """`--data-dir hf://datasets/ORG/NAME[@REV]` as the verified source an adapter reads."""
    repo_id, revision = parse_uri(uri)
    return pull_dataset(repo_id, revision, hub, offline).source


# The card ----------------------------------------------------------------------------------------------------


def _read_card(path: Path) -> dict[str, Any]:
    from huggingface_hub import DatasetCard

    try:
        data = DatasetCard.load(path).data.to_dict()
    except Exception as exc:  # the YAML front matter is the repo author's: any failure is theirs
        raise ZooError(f"{path.name}: its YAML metadata cannot be read ({str(exc).splitlines()[0]})") from None
    return data if isinstance(data, dict) else {}


def _split_files(card: dict[str, Any], listed: list[str], where: str) -> dict[str, list[str]]:
    """Split -> the repo paths of its files: the card's first (or default) config's data_files, else the paths."""
    configs = card.get("configs")
    if isinstance(configs, list) and configs:
        config = next((c for c in configs if isinstance(c, dict) and c.get("default")), configs[0])
        named = _from_data_files(config.get("data_files") if isinstance(config, dict) else None, listed, where)
        merged: dict[str, list[str]] = {}
        for split, files in named.items():  # LibriSpeech's train.clean.100 and train.clean.360 are both train
            merged.setdefault(split.split(".")[0] if split.split(".")[0] in SPLIT_WORDS else split, []).extend(files)
        return merged
    parquet = [p for p in listed if p.endswith(".parquet")]
    tops = sorted({p.split("/")[0] for p in parquet if "/" in p})
    if len(tops) > 1 and all("/" in p for p in parquet):  # refs/convert/parquet: <config>/<split>/0000.parquet
        chosen = "default" if "default" in tops else tops[0]
        parquet = [p for p in parquet if p.startswith(chosen + "/")]
    splits: dict[str, list[str]] = {}
    for path in parquet:
        split = _split_of(path)
        if split is not None:
            splits.setdefault(split, []).append(path)
    return splits


def _from_data_files(data_files: Any, listed: list[str], where: str) -> dict[str, list[str]]:
    if isinstance(data_files, str):
        data_files = [{"split": "train", "path": data_files}]
    if not isinstance(data_files, list):
        raise UsageError(f"{where}: the card's configs name no data_files: list them per split (split, path).")
    splits: dict[str, list[str]] = {}
    for item in data_files:
        if not isinstance(item, dict) or not isinstance(item.get("split"), str):
            continue
        patterns = item.get("path")
        patterns = [patterns] if isinstance(patterns, str) else [p for p in patterns or [] if isinstance(p, str)]
        matched = sorted({p for p in listed for pattern in patterns if fnmatch(p, pattern)})
        if matched and not all(p.endswith(".parquet") for p in matched):
            others = ", ".join(p for p in matched if not p.endswith(".parquet"))[:200]
            raise UsageError(
                f"{where}: the {item['split']} split is not parquet ({others}): zoo reads parquet files. "
                f"Try the Hub's conversion: hf://datasets/{where.split('@')[0]}@refs/convert/parquet"
            )
        splits[item["split"]] = matched
    return {s: files for s, files in splits.items() if files}


def _split_of(path: str) -> str | None:
    words = set(re.split(r"[/_.\-]", path.lower()))
    return next((split for split, names in SPLIT_WORDS.items() if words & set(names)), None)


def _card_features(card: dict[str, Any]) -> dict[str, Feature]:
    info = card.get("dataset_info")
    if isinstance(info, list):
        info = info[0] if info else None
    features = info.get("features") if isinstance(info, dict) else None
    if not isinstance(features, list):
        return {}
    out = {}
    for item in features:
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            out[item["name"]] = _card_feature(item)
    return out


def _card_feature(item: dict[str, Any]) -> Feature:
    dtype = item.get("dtype")
    if isinstance(dtype, str):
        return Feature(dtype) if dtype in ("image", "audio") else Feature("value", dtype)
    if isinstance(dtype, dict) and isinstance(dtype.get("class_label"), dict):
        names = dtype["class_label"].get("names")
        if isinstance(names, dict):
            ordered = sorted(names.items(), key=lambda kv: int(kv[0]) if str(kv[0]).isdigit() else 0)
            return Feature("class_label", names=tuple(str(v) for _, v in ordered))
        if isinstance(names, list):
            return Feature("class_label", names=tuple(str(v) for v in names))
    if isinstance(dtype, dict) and "audio" in dtype:
        rate = (dtype.get("audio") or {}).get("sampling_rate") if isinstance(dtype.get("audio"), dict) else None
        return Feature("audio", sampling_rate=rate if isinstance(rate, int) else None)
    return Feature("other")


def _parquet_features(path: Path, where: str) -> dict[str, Feature]:
    """The features the `datasets` library wrote into the file's metadata, else what its Arrow schema says."""
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise ZooError(f"{path.name} in {where} is not a readable parquet file ({str(exc).splitlines()[0]})") from None
    meta = (schema.metadata or {}).get(b"huggingface")
    try:
        declared = json.loads(meta)["info"]["features"] if meta else {}
    except (ValueError, KeyError, TypeError):
        declared = {}
    out = {}
    for name in schema.names:
        spec = declared.get(name) if isinstance(declared, dict) else None
        out[name] = _library_feature(spec) if isinstance(spec, dict) else _arrow_feature(schema.field(name).type)
    return out


def _library_feature(spec: dict[str, Any]) -> Feature:
    kind = spec.get("_type")
    if kind == "ClassLabel":
        return Feature("class_label", names=tuple(str(n) for n in spec.get("names") or ()))
    if kind in ("Image", "Audio"):
        rate = spec.get("sampling_rate")
        return Feature(kind.lower(), sampling_rate=rate if isinstance(rate, int) else None)
    if kind == "Value":
        return Feature("value", str(spec.get("dtype", "")))
    return Feature("other")


def _arrow_feature(kind: Any) -> Feature:
    import pyarrow as pa

    if pa.types.is_integer(kind) or pa.types.is_floating(kind):
        return Feature(
            "value", {"double": "float64", "float": "float32", "halffloat": "float16"}.get(str(kind), str(kind))
        )
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return Feature("value", "string")
    return Feature("other")
