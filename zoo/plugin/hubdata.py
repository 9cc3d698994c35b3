"""A dataset repo from the Hub as a dataset adapter sees it: verified parquet files per split, the columns' features,
and `ParquetRows`, a map-style dataset that reads row groups as the loader needs them.

zoo pulls and verifies the files (zoo.hub.datasets) and hands the adapter a `HubSource` as its `data_dir`; the
adapter's `DatasetSpec.hub` factory maps the columns it needs (`HubSource.column`) and builds `ParquetRows`. The
engine sees `ParquetRows.row_groups` and shuffles row groups, then rows within a buffer of them, per epoch.
"""

from __future__ import annotations

import bisect
import hashlib
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zoo.core.errors import UsageError, ZooError

#: the kinds of column a feature describes (the `datasets` library's feature types, lower-cased)
KINDS = ("image", "audio", "class_label", "value", "other")


@dataclass(frozen=True)
class Feature:
    """One column's type as the repo's card (or its parquet files' `huggingface` metadata) declares it."""

    kind: str
    #: a Value's dtype ("int64", "string", ...)
    dtype: str = ""
    #: a ClassLabel's names, in label order
    names: tuple[str, ...] = ()
    #: an Audio feature's declared sampling rate, if any
    sampling_rate: int | None = None

    def describe(self) -> str:
        if self.kind == "value":
            return self.dtype or "value"
        if self.kind == "class_label":
            return f"ClassLabel of {len(self.names)}"
        return {"image": "Image", "audio": "Audio"}.get(self.kind, self.kind)


@dataclass(frozen=True)
class HubSource:
    """A dataset repo at one commit, pulled and verified: what `--data-dir hf://datasets/ORG/NAME[@REV]` means."""

    repo_id: str
    #: the 40-hex commit the branch resolved to, once, before training
    revision: str
    #: split name -> the split's local parquet files, in repo order ("train", and "validation" or "test")
    splits: Mapping[str, tuple[Path, ...]]
    #: column -> its feature
    features: Mapping[str, Feature]
    #: repo path -> sha256 of every data file
    files: Mapping[str, str]
    #: the local file -> its path in the repo, for messages
    repo_paths: Mapping[str, str] = field(default_factory=dict)

    @property
    def uri(self) -> str:
        return f"hf://datasets/{self.repo_id}@{self.revision}"

    @property
    def fingerprint(self) -> str:
        """A digest of the repo, the commit and every data file's sha256: the run's data fingerprint."""
        lines = [self.repo_id, self.revision, *(f"{p} {d}" for p, d in sorted(self.files.items()))]
        return "sha256:" + hashlib.sha256("\n".join(lines).encode()).hexdigest()

    @property
    def validation_split(self) -> str | None:
        """The card's validation split, else its test split: the one a run validates on."""
        return next((s for s in ("validation", "test") if s in self.splits), None)

    def name_of(self, path: Path) -> str:
        return self.repo_paths.get(str(path), path.name)

    def column(self, need: str, kinds: Sequence[str], names: Sequence[str] = (), dtypes: Sequence[str] = ()) -> str:
        """The column an adapter reads as `need`: one of `kinds` (and a Value of one of `dtypes`, when given),
        preferring one of `names`; a UsageError naming the columns found, else."""
        fitting = [
            c
            for c, f in self.features.items()
            if f.kind in kinds and (f.kind != "value" or not dtypes or f.dtype in dtypes)
        ]
        for name in names:
            if name in fitting:
                return name
        if len(fitting) == 1 or (fitting and not names):
            return fitting[0]
        found = ", ".join(f"{c} ({f.describe()})" for c, f in self.features.items()) or "none"
        wanted = " or ".join(kinds) + (f" ({', '.join(dtypes)})" if dtypes else "")
        named = f", named {' or '.join(names)}" if names and fitting else ""
        raise UsageError(
            f"{self.uri}: no column to read as the {need}: it needs {'an' if wanted[0] in 'aeiou' else 'a'} {wanted} "
            f"column{named}; the repo has {found}. "
            "Fix the card's dataset_info.features, or pick the adapter that fits this data (--dataset)."
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "repo_id": self.repo_id,
            "revision": self.revision,
            "splits": {s: [str(p) for p in paths] for s, paths in self.splits.items()},
            "features": {
                c: {"kind": f.kind, "dtype": f.dtype, "names": list(f.names), "sampling_rate": f.sampling_rate}
                for c, f in self.features.items()
            },
            "files": dict(self.files),
            "repo_paths": dict(self.repo_paths),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> HubSource:
        return cls(
            repo_id=data["repo_id"],
            revision=data["revision"],
            splits={s: tuple(Path(p) for p in paths) for s, paths in data["splits"].items()},
            features={
                c: Feature(f["kind"], f.get("dtype", ""), tuple(f.get("names") or ()), f.get("sampling_rate"))
                for c, f in data["features"].items()
            },
            files=dict(data["files"]),
            repo_paths=dict(data.get("repo_paths") or {}),
        )


def _file_name(path: Path) -> str:
    return path.name


def _first(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


@dataclass(frozen=True)
class _Group:
    file: int
    index: int
    #: the group's rows that this dataset covers: [start, stop) within the group
    start: int
    stop: int


class ParquetRows:
    """Rows `[begin, end)` of a split's parquet files, each decoded by `decode(row: dict) -> sample` on demand.

    Only the file footers are read when it is made; a row group is read (only `columns`) when one of its rows is
    asked for, and a few recent groups are kept per process (each DataLoader worker has its own).
    """

    def __init__(
        self,
        files: Sequence[Path],
        columns: Sequence[str],
        decode: Callable[[dict[str, Any]], Any],
        describe: Callable[[Path], str] = _file_name,
        rows: tuple[int, int] | None = None,
        keep: int = 8,
    ) -> None:
        self.files, self.columns, self.decode, self.describe = list(files), list(columns), decode, describe
        self.keep = keep
        groups: list[_Group] = []
        for i, path in enumerate(self.files):
            metadata = _footer(path, describe)
            missing = [c for c in self.columns if c not in metadata.schema.to_arrow_schema().names]
            if missing:
                found = ", ".join(metadata.schema.to_arrow_schema().names)
                raise UsageError(
                    f"{describe(path)} has no column {', '.join(missing)} (it has {found}): its schema differs from "
                    "the card's. Fix the file or the card."
                )
            groups += [_Group(i, g, 0, metadata.row_group(g).num_rows) for g in range(metadata.num_row_groups)]
        self._all = [g for g in groups if g.stop > 0]
        self._cover(*(rows if rows is not None else (0, sum(g.stop for g in self._all))))

    def __len__(self) -> int:
        return self._starts[-1]

    def __getitem__(self, index: int) -> Any:
        if not 0 <= index < len(self):
            raise IndexError(index)
        g = bisect.bisect_right(self._starts, index) - 1
        group = self.groups[g]
        table = self._group(g)
        offset = group.start + index - self._starts[g]
        row = {c: table[c][offset] for c in self.columns}
        try:
            return self.decode(row)
        except ZooError as exc:
            where = f"{self.describe(self.files[group.file])}, row group {group.index}, row {offset}"
            raise type(exc)(f"{where}: {exc}") from None

    def split(self, fraction: float) -> tuple[ParquetRows, ParquetRows]:
        """The first (1 - fraction) of the rows and the rest: a validation split carved off the end."""
        begin, end = self.range
        cut = end - max(1, round(len(self) * fraction))
        return self._over(begin, cut), self._over(cut, end)

    def _over(self, begin: int, end: int) -> ParquetRows:
        """The same files and decoding over rows [begin, end) of all the files' rows."""
        part = object.__new__(ParquetRows)
        part.__dict__.update(self.__dict__)
        part._cover(begin, end)
        return part

    def _cover(self, begin: int, end: int) -> None:
        self.range = (begin, end)
        self.groups = _cut(self._all, begin, end)
        self.row_groups = [g.stop - g.start for g in self.groups]
        self._starts = [0]
        for size in self.row_groups:
            self._starts.append(self._starts[-1] + size)
        self._cache: OrderedDict[int, dict[str, list[Any]]] = OrderedDict()

    def _group(self, g: int) -> dict[str, list[Any]]:
        cached = self._cache.get(g)
        if cached is not None:
            self._cache.move_to_end(g)
            return cached
        import pyarrow.parquet as pq

        group = self.groups[g]
        path = self.files[group.file]
        try:
            table = pq.ParquetFile(path).read_row_group(group.index, columns=self.columns)
        except Exception as exc:  # pyarrow raises several types for a damaged file
            raise ZooError(
                f"{self.describe(path)}: cannot read row group {group.index}: {_first(exc)}. Pull the dataset again."
            ) from None
        columns = {c: table.column(c).to_pylist() for c in self.columns}
        self._cache[g] = columns
        while len(self._cache) > self.keep:
            self._cache.popitem(last=False)
        return columns

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_cache": OrderedDict()}  # each worker reads its own groups


def _cut(groups: list[_Group], begin: int, end: int) -> list[_Group]:
    """The groups covering rows [begin, end) of all the files' rows, the first and last cut to that range."""
    out, position = [], 0
    for g in groups:
        lo, hi = max(begin, position), min(end, position + g.stop)
        if lo < hi:
            out.append(_Group(g.file, g.index, lo - position, hi - position))
        position += g.stop
    return out


def _footer(path: Path, describe: Callable[[Path], str]) -> Any:
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path).metadata
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise ZooError(
            f"{describe(path)} is not a readable parquet file ({_first(exc)}): it is truncated or damaged. "
            "Pull the dataset again; if it persists, tell the repo's owner."
        ) from None
