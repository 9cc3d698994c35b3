"""Ratings from a Hub dataset repo (`--dataset ratings-csv --data-dir hf://datasets/ORG/NAME[@REV]`): the user,
item, rating[, timestamp] columns of its parquet files, then the local adapter's own pipeline (ids as the CSV
reader makes them, duplicates, the id index, the splits), so the same ratings give the same Data.

The columns are read whole with pyarrow, not streamed by row group: four small columns (25M ratings are a few
hundred MB), and ids, duplicates and splits need every row anyway. The card's validation split validates, else its
test split (ids indexed over train, then it); only a repo with neither is split as a local file is. Bad data is one
line naming the file: a null, a rating that is not a number or is out of range, a damaged parquet file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from zoo.plugin import Data, HubSource, UsageError, ZooError
from zoo_recsys.data import COLUMNS, column_mapping, split_ratings
from zoo_recsys.ratings import Ratings, from_arrow

#: the names each role's column goes by, most likely first (the Hub's MovieLens copies, RecBole, plain names)
NAMES = {
    "user": ("user_id", "userId", "user", "userid", "user_id:token", "uid"),
    "item": ("item_id", "movieId", "item", "itemid", "movie_id", "item_id:token", "iid"),
    "rating": ("rating", "ratings", "rating:float", "score", "stars"),
    "timestamp": ("timestamp", "timestamp:float", "time", "ts", "unix_timestamp"),
}
# Timestamps are stored as int64; beyond this a float has lost its seconds anyway (as ratings._MAX_TIME).
_MAX_TIME = 2.0**62
_UNITS = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}


def ratings(
    source: HubSource,
    split: str = "random",
    val_split: float = 0.2,
    seed: int = 0,
    columns: str = COLUMNS,
    rating_min: float = 0.5,
    rating_max: float = 5.0,
    **_: Any,
) -> Data:
    """The repo's ratings as `ratings-csv` makes a file's: validated on its validation (else test) split if any."""
    names = _columns(source, columns)
    val_name = source.validation_split
    train = _read(source, "train", names, (rating_min, rating_max))
    if val_name is None:
        data = split_ratings(train, split, val_split, seed)
        how = f"a seeded {val_split:.0%} of train" if split == "random" else "each user's latest rating in train"
    else:
        joined, given = _join(train, _read(source, val_name, names, (rating_min, rating_max)))
        data = split_ratings(joined, split, val_split, seed, given)
        how = val_name
    data.info.update(source=source.uri, validation=how)
    return data


def _columns(source: HubSource, columns: str) -> dict[str, str]:
    """Role -> column: as `columns` maps them when set, else by the card's features and the usual names."""
    if columns != COLUMNS:
        mapping = column_mapping(columns)
        for role, name in mapping.items():
            if name not in source.features:
                raise UsageError(
                    f"{source.uri}: columns maps the {role} to '{name}', and the repo has no such column (it has "
                    f"{', '.join(source.features) or 'none'}): fix columns=user=...,item=...,rating=..."
                )
        return mapping
    try:
        found = {role: source.column(role, ("value",), NAMES[role]) for role in ("user", "item", "rating")}
    except UsageError as exc:
        raise UsageError(f"{exc} Or name them: --set columns=user=A,item=B,rating=C[,timestamp=D]") from None
    if len(set(found.values())) < len(found):
        raise UsageError(
            f"{source.uri}: no distinct user, item and rating columns (it has {', '.join(source.features)}): "
            "name them, e.g. --set columns=user=A,item=B,rating=C"
        )
    stamp = next((n for n in NAMES["timestamp"] if getattr(source.features.get(n), "kind", "") == "value"), None)
    return {**found, **({"timestamp": stamp} if stamp else {})}


def _read(source: HubSource, split: str, names: dict[str, str], bounds: tuple[float, float]) -> Ratings:
    """One split's ratings, every file's columns read whole and checked."""
    import pyarrow as pa

    parts = [_file(source, path, names, bounds) for path in source.splits[split]]
    if not sum(len(p[2]) for p in parts):
        raise UsageError(f"{source.uri}: the {split} split holds no ratings")

    def ids(k: int) -> Any:
        chunks = [p[k] for p in parts]  # one file of text ids makes every id text, as in a CSV
        kind = pa.int64() if all(pa.types.is_integer(c.type) for c in chunks) else pa.string()
        return pa.chunked_array([c.cast(kind) for c in chunks], kind)

    stamps = np.concatenate([p[3] for p in parts]) if "timestamp" in names else None
    rated = np.concatenate([p[2] for p in parts])
    return from_arrow(ids(0), ids(1), rated, stamps, f"{source.uri} ({split} split)")


def _file(
    source: HubSource, path: Path, names: dict[str, str], bounds: tuple[float, float]
) -> tuple[Any, Any, np.ndarray, np.ndarray | None]:
    """(users, items, ratings as float64, timestamps as int64 seconds or None) of one parquet file."""
    import pyarrow as pa
    import pyarrow.compute as pc

    name = source.name_of(path)
    table = _table(path, name, list(dict.fromkeys(names.values())))
    cols = {role: table[column].combine_chunks() for role, column in names.items()}
    for role, values in cols.items():
        if values.null_count:
            row = pc.index(pc.is_null(values), True).as_py()
            raise UsageError(
                f"{name}: row {row} has no {role} ({names[role]} is null): every rating needs a user, an item and a "
                "rating (and a time, if the repo has times). Fix the data."
            )
    for role in ("user", "item"):
        kind = cols[role].type
        if not (pa.types.is_integer(kind) or pa.types.is_string(kind) or pa.types.is_large_string(kind)):
            raise UsageError(f"{name}: the {role} column {names[role]} holds {kind}: ids must be integers or text")
    rated = _ratings(name, names["rating"], cols["rating"], bounds)
    return cols["user"], cols["item"], rated, _stamps(name, names, cols)


def _table(path: Path, name: str, columns: list[str]) -> Any:
    """The file's `columns`, whole; a damaged file is a runtime error, a missing column the data's (usage)."""
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
        missing = [c for c in columns if c not in schema.names]
        table = None if missing else pq.read_table(path, columns=columns)
    except Exception as exc:  # pyarrow raises several types for a damaged file
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ZooError(
            f"{name} is not a readable parquet file ({first}): it is truncated or damaged. Pull the dataset again; "
            "if it persists, tell the repo's owner."
        ) from None
    if missing:
        raise UsageError(
            f"{name} has no column {', '.join(missing)} (it has {', '.join(schema.names)}): its schema differs from "
            "the card's. Fix the file or the card."
        )
    return table


def _ratings(name: str, column: str, values: Any, bounds: tuple[float, float]) -> np.ndarray:
    import pyarrow as pa

    if not (pa.types.is_integer(values.type) or pa.types.is_floating(values.type)):
        raise UsageError(
            f"{name}: the rating column {column} holds {values.type}, not numbers: ratings must be numeric. "
            "Fix the data, or map another column (columns=user=...,item=...,rating=...)"
        )
    rated = values.cast(pa.float64()).to_numpy(zero_copy_only=False)
    low, high = bounds
    outside = np.flatnonzero(~((rated >= low) & (rated <= high)))  # nan is outside too
    if outside.size:
        row = int(outside[0])
        raise UsageError(
            f"{name}: row {row}: rating {rated[row]:g} is outside {low:g}..{high:g} (set rating_min/rating_max if "
            "your scale differs)"
        )
    return rated


def _stamps(name: str, names: dict[str, str], cols: dict[str, Any]) -> np.ndarray | None:
    """Timestamps as int64 seconds, as the CSV reader makes them (a float is truncated)."""
    import pyarrow as pa

    if "timestamp" not in cols:
        return None
    values = cols["timestamp"]
    if pa.types.is_timestamp(values.type):
        return values.cast(pa.int64()).to_numpy(zero_copy_only=False) // _UNITS[values.type.unit]
    if pa.types.is_integer(values.type):
        return values.cast(pa.int64()).to_numpy(zero_copy_only=False)
    if pa.types.is_floating(values.type):
        floats = values.cast(pa.float64()).to_numpy(zero_copy_only=False)
        bad = np.flatnonzero(~(np.abs(floats) < _MAX_TIME))
        if not bad.size:
            return floats.astype(np.int64)
        raise UsageError(f"{name}: row {int(bad[0])}: timestamp {floats[bad[0]]:g} is not a time")
    raise UsageError(f"{name}: the timestamp column {names['timestamp']} holds {values.type}, not times or numbers")


def _join(train: Ratings, val: Ratings) -> tuple[Ratings, np.ndarray]:
    """Train then validation ratings over one id index (first appearance first), and the mask of validation rows."""

    def codes(ids: list[str], *parts: tuple[np.ndarray, list[str]]) -> np.ndarray:
        at = {v: i for i, v in enumerate(ids)}
        return np.concatenate([np.array([at[v] for v in own], dtype=np.int64)[c] for c, own in parts])

    user_ids = list(dict.fromkeys(train.user_ids + val.user_ids))
    item_ids = list(dict.fromkeys(train.item_ids + val.item_ids))
    stamps = None
    if train.timestamps is not None and val.timestamps is not None:
        stamps = np.concatenate([train.timestamps, val.timestamps])
    joined = Ratings(
        user_ids,
        item_ids,
        codes(user_ids, (train.users, train.user_ids), (val.users, val.user_ids)),
        codes(item_ids, (train.items, train.item_ids), (val.items, val.item_ids)),
        np.concatenate([train.ratings, val.ratings]),
        stamps,
        warnings=train.warnings + val.warnings,
    )
    given = np.zeros(len(joined.users), dtype=bool)
    given[len(train.users) :] = True
    return joined, given
