"""Dataset adapters `movielens` and `ratings-csv`: raw ids mapped to contiguous indices, and the splits.

- split="random": explicit ratings, a seeded 80/20 split of (user, item, rating).
- split="leave-one-out": implicit feedback; each user's latest interaction is held out and ranked against 99
  sampled items the user never interacted with (the NCF paper's protocol).
Everything is vectorised (numpy and torch), so ml-25m splits in seconds. The id maps, titles, what each user has
seen and the most popular items go to the run's data/index.safetensors (see zoo_recsys.index), so prediction
takes raw ids and needs no data, and config.json stays small.
"""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import TensorDataset

from zoo.plugin import Data, UsageError
from zoo_recsys import index, negatives
from zoo_recsys.ratings import Ratings, read_movielens, read_table

NEGATIVES = 99
POPULAR = 100
#: the `columns` option's default: the columns named user, item, rating and (if there is one) timestamp
COLUMNS = "user=user,item=item,rating=rating,timestamp=timestamp"


def bundled_ml100k() -> Path | None:
    """MovieLens-100K as RecBole's wheel ships it (`pip install --no-deps recbole`), if installed."""
    spec = importlib.util.find_spec("recbole")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "dataset_example" / "ml-100k"
    return folder if (folder / "ml-100k.inter").is_file() else None


def _last_per_user(users: np.ndarray, stamps: np.ndarray) -> np.ndarray:
    """The row of each user's latest interaction (ties: the later line), in line order."""
    order = np.lexsort((np.arange(len(users)), stamps, users))
    last = np.ones(len(order), dtype=bool)
    last[:-1] = users[order][1:] != users[order][:-1]
    return np.sort(order[last])


def _leave_one_out(
    r: Ratings, num_items: int, seed: int, given: np.ndarray | None = None
) -> tuple[TensorDataset, TensorDataset, float]:
    """Each user's latest rating (or the `given` rows) held out against NEGATIVES unseen items; (train, val, mean
    training rating)."""
    if given is None and r.timestamps is None:
        raise UsageError(f"{r.source}: leave-one-out needs timestamps, and these ratings have none")
    held = _last_per_user(r.users, r.timestamps) if given is None else np.flatnonzero(given)
    counts = np.bincount(r.users, minlength=len(r.user_ids))
    ranked = np.bincount(r.users[held], minlength=len(r.user_ids)) > 0
    short = np.flatnonzero((num_items - counts < NEGATIVES) & ranked)
    if short.size:
        u = int(short[0])
        raise UsageError(
            f"user {r.user_ids[u]} has rated all but {num_items - counts[u]} items: too few to sample "
            f"{NEGATIVES} negatives for leave-one-out evaluation"
        )
    seen = np.sort(r.users * num_items + r.items)
    held_users = r.users[held]
    candidates = np.concatenate(
        [r.items[held, None], negatives.sample(held_users, seen, num_items, NEGATIVES, seed)], axis=1
    )
    mask = np.ones(len(r.users), dtype=bool)
    mask[held] = False
    train = np.flatnonzero(mask)
    users, items = _codes(r.users), _codes(r.items)
    train_set = TensorDataset(users[train], items[train], torch.ones(len(train)))
    val_set = TensorDataset(_codes(held_users), _codes(candidates))
    return train_set, val_set, float(r.ratings[train].mean())


def _codes(codes: np.ndarray) -> torch.Tensor:
    """User or item indices as int32, which nn.Embedding takes: half the memory and copying of int64."""
    return torch.from_numpy(codes.astype(np.int32))


def _random(
    r: Ratings, val_split: float, seed: int, given: np.ndarray | None = None
) -> tuple[TensorDataset, TensorDataset, float]:
    """A seeded split of the ratings (or the `given` rows as validation); (train, val, mean training rating)."""
    if not 0 < val_split < 1:
        raise UsageError(f"val_split must be in (0, 1), got {val_split}")
    users, items, ratings = _codes(r.users), _codes(r.items), torch.from_numpy(r.ratings)
    if given is None:
        order = torch.randperm(len(users), generator=torch.Generator().manual_seed(seed))
        cut = max(1, round(len(users) * val_split))
        val, train = order[:cut], order[cut:]
    else:
        val, train = torch.from_numpy(np.flatnonzero(given)), torch.from_numpy(np.flatnonzero(~given))
    train_set = TensorDataset(users[train], items[train], ratings[train])
    return train_set, TensorDataset(*(t[val] for t in (users, items, ratings))), float(train_set.tensors[2].mean())


def _popular(items: np.ndarray, num_items: int) -> np.ndarray:
    """The POPULAR most rated items, most first (ties: the one rated first). Counting, not sorting, the ratings."""
    counts = np.bincount(items, minlength=num_items)
    k = min(POPULAR, int((counts > 0).sum()))
    if not k:
        return np.zeros(0, dtype=np.int64)
    floor = np.partition(counts, -k)[-k]
    candidates = np.flatnonzero(counts >= max(floor, 1))  # the top k and whatever ties with the k-th
    rows = np.flatnonzero(np.isin(items, candidates))
    present, first = np.unique(items[rows], return_index=True)  # `present` is `candidates`, sorted
    return present[np.lexsort((rows[first], -counts[present]))][:k].astype(np.int64)


@dataclass
class IndexWriter:
    """The writer of the run's id index: seen items per user (training rows, sorted) and the most rated items in
    training (ties: first rated). Called when the run is written, not before the first step; its raw ids let
    evaluation check that the data is the one the run was trained on."""

    user_ids: list[str]
    item_ids: list[str]
    titles: list[str]
    train: TensorDataset

    def __call__(self, path: Path) -> None:
        num_items = max(1, len(self.item_ids))
        users, items = (t.numpy().astype(np.int64) for t in self.train.tensors[:2])
        seen = np.sort(users * num_items + items)  # one key sort: by user, then item
        offsets = np.zeros(len(self.user_ids) + 1, dtype=np.int64)
        np.cumsum(np.bincount(users, minlength=len(self.user_ids)), out=offsets[1:])
        index.Index(
            users=self.user_ids,
            items=self.item_ids,
            titles=self.titles,
            seen_offsets=offsets,
            seen_items=(seen % num_items).astype(np.int32),
            popular=_popular(items, len(self.item_ids)),
        ).save(path)


def _index(r: Ratings, train: TensorDataset) -> IndexWriter:
    return IndexWriter(r.user_ids, r.item_ids, [r.titles.get(v, "") for v in r.item_ids], train)


def split_ratings(r: Ratings, split: str, val_split: float, seed: int, given: np.ndarray | None = None) -> Data:
    """Data of the ratings, split as `split` says; `given` (a mask of rows) names the validation rows instead."""
    if split == "random":
        train_set, val_set, mean = _random(r, val_split, seed, given)
    elif split == "leave-one-out":
        train_set, val_set, mean = _leave_one_out(r, len(r.item_ids), seed, given)
    else:
        raise UsageError(f"split must be 'random' or 'leave-one-out', got '{split}'")
    digest = hashlib.sha256()
    for column in (r.users, r.items, r.ratings):  # fed whole, without copies: the file may hold 25M ratings
        digest.update(np.ascontiguousarray(column).data)
    info: dict[str, Any] = {
        "num_users": len(r.user_ids),
        "num_items": len(r.item_ids),
        "train_ratings": len(train_set),
        "val_ratings": len(val_set),
        "global_mean": round(mean, 6),
        "split": split,
        "fingerprint": f"sha256:{digest.hexdigest()}",
        "source": r.source,
        "warnings": r.warnings,
        "index": f"data/{index.NAME}",
    }
    return Data(train=train_set, val=val_set, info=info, files={index.NAME: _index(r, train_set)})


def movielens(
    data_dir: Path | None = None,
    split: str = "random",
    val_split: float = 0.2,
    seed: int = 0,
    rating_min: float = 0.5,
    rating_max: float = 5.0,
    **_: Any,
) -> Data:
    """MovieLens in any of its layouts; without --data-dir, the MovieLens-100K bundled in RecBole's wheel."""
    folder = Path(data_dir) if data_dir is not None else bundled_ml100k()
    if folder is None:
        raise UsageError(
            "movielens needs --data-dir (a folder with u.data, ratings.dat, ratings.csv or a RecBole "
            ".inter file), or 'pip install --no-deps recbole' for its bundled MovieLens-100K"
        )
    if not folder.exists():
        raise UsageError(f"--data-dir {folder} does not exist")
    return split_ratings(read_movielens(folder, (rating_min, rating_max)), split, val_split, seed)


def column_mapping(columns: str) -> dict[str, str]:
    """The `columns` option, "user=A,item=B,rating=C[,timestamp=D]", as {role: column name}."""
    mapping: dict[str, str] = {}
    for pair in columns.split(","):
        key, _, column = pair.partition("=")
        if key.strip() not in ("user", "item", "rating", "timestamp") or not column.strip():
            raise UsageError(f"columns takes user=,item=,rating=[,timestamp=] pairs, got '{pair}'")
        mapping[key.strip()] = column.strip()
    if not {"user", "item", "rating"} <= set(mapping):
        raise UsageError("columns must map user, item and rating")
    return mapping


def ratings_csv(
    data_dir: Path | None = None,
    split: str = "random",
    val_split: float = 0.2,
    seed: int = 0,
    columns: str = COLUMNS,
    sep: str = "auto",
    rating_min: float = 0.5,
    rating_max: float = 5.0,
    **_: Any,
) -> Data:
    """Any CSV or TSV with a header; `columns` maps user, item, rating[, timestamp] to its column names."""
    if data_dir is None:
        raise UsageError("ratings-csv needs --data-dir: the CSV or TSV file (or a folder holding one)")
    path = Path(data_dir)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in (".csv", ".tsv"))
        if len(files) != 1:
            raise UsageError(f"{path} should hold exactly one .csv or .tsv file, found {len(files)}")
        path = files[0]
    if not path.is_file():
        raise UsageError(f"--data-dir {path} does not exist")
    mapping: dict[str, str | int] = dict(column_mapping(columns))
    with path.open("rb") as f:  # the header alone: the file may hold millions of lines
        first = f.readline(1 << 20).decode("utf-8", errors="replace").rstrip("\r\n")
    delimiter = ("\t" if first.count("\t") > first.count(",") else ",") if sep == "auto" else sep
    header = [c.strip() for c in first.split(delimiter)]
    if "timestamp" in mapping and mapping["timestamp"] not in header and columns.endswith("timestamp=timestamp"):
        del mapping["timestamp"]  # the default mapping's timestamp is optional
    ratings = read_table(path, delimiter, mapping, True, rating_range=(rating_min, rating_max))
    return split_ratings(ratings, split, val_split, seed)
