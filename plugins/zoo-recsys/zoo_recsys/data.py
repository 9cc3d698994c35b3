"""Dataset adapters `movielens` and `ratings-csv`: raw ids mapped to contiguous indices, and the splits.

- split="random": explicit ratings, a seeded 80/20 split of (user, item, rating).
- split="leave-one-out": implicit feedback; each user's latest interaction is held out and ranked against 99
  sampled items the user never interacted with (the NCF paper's protocol).
The id mapping, titles, what each user has seen and the most popular items travel in the run's config.json, so
prediction takes raw ids and needs no data.
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections import Counter
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import TensorDataset

from zoo.plugin import Data, UsageError
from zoo_recsys.ratings import Ratings, read_movielens, read_table

NEGATIVES = 99


def bundled_ml100k() -> Path | None:
    """MovieLens-100K as RecBole's wheel ships it (`pip install --no-deps recbole`), if installed."""
    spec = importlib.util.find_spec("recbole")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "dataset_example" / "ml-100k"
    return folder if (folder / "ml-100k.inter").is_file() else None


def _split(r: Ratings, split: str, val_split: float, seed: int) -> Data:
    user_ids = list(dict.fromkeys(r.users))
    item_ids = list(dict.fromkeys(r.items))
    uindex = {u: i for i, u in enumerate(user_ids)}
    iindex = {v: i for i, v in enumerate(item_ids)}
    users = torch.tensor([uindex[u] for u in r.users])
    items = torch.tensor([iindex[v] for v in r.items])
    ratings = torch.tensor(r.ratings, dtype=torch.float32)
    g = torch.Generator().manual_seed(seed)
    if split == "random":
        if not 0 < val_split < 1:
            raise UsageError(f"val_split must be in (0, 1), got {val_split}")
        order = torch.randperm(len(users), generator=g)
        cut = max(1, round(len(users) * val_split))
        val, train = order[:cut], order[cut:]
        train_set = TensorDataset(users[train], items[train], ratings[train])
        val_set = TensorDataset(users[val], items[val], ratings[val])
    elif split == "leave-one-out":
        if not r.timestamps:
            raise UsageError(f"{r.source}: leave-one-out needs timestamps, and these ratings have none")
        stamps = torch.tensor(r.timestamps)
        # Each user's latest interaction (ties: the later line) is held out.
        order = sorted(range(len(users)), key=lambda i: (int(users[i]), int(stamps[i]), i))
        last = {int(users[i]): i for i in order}
        held = torch.tensor(sorted(last.values()))
        mask = torch.ones(len(users), dtype=torch.bool)
        mask[held] = False
        seen: dict[int, set[int]] = {}
        for u, v in zip(users.tolist(), items.tolist(), strict=True):
            seen.setdefault(u, set()).add(v)
        candidates = []
        for i in held.tolist():
            u, pos = int(users[i]), int(items[i])
            pool = len(item_ids) - len(seen[u])
            if pool < NEGATIVES:
                raise UsageError(
                    f"user {user_ids[u]} has rated all but {pool} items: too few to sample "
                    f"{NEGATIVES} negatives for leave-one-out evaluation"
                )
            negatives: list[int] = []
            while len(negatives) < NEGATIVES:
                v = int(torch.randint(len(item_ids), (1,), generator=g))
                if v not in seen[u] and v not in negatives:
                    negatives.append(v)
            candidates.append([pos, *negatives])
        train_set = TensorDataset(users[mask], items[mask], torch.ones(int(mask.sum())))
        val_set = TensorDataset(users[held], torch.tensor(candidates))
        train = mask.nonzero().squeeze(1)
    else:
        raise UsageError(f"split must be 'random' or 'leave-one-out', got '{split}'")
    seen_train: dict[int, list[int]] = {}
    for u, v in zip(users[train].tolist(), items[train].tolist(), strict=True):
        seen_train.setdefault(u, []).append(v)
    popular = [v for v, _ in Counter(items[train].tolist()).most_common(100)]
    digest = hashlib.sha256(torch.stack([users, items]).numpy().tobytes() + ratings.numpy().tobytes()).hexdigest()
    info: dict[str, Any] = {
        "users": user_ids,
        "items": item_ids,
        "titles": [r.titles.get(v) for v in item_ids],
        "seen": {str(u): sorted(vs) for u, vs in seen_train.items()},
        "popular": popular,
        "global_mean": round(float(ratings[train].mean()), 6),
        "split": split,
        "fingerprint": f"sha256:{digest}",
        "source": r.source,
        "warnings": r.warnings,
    }
    return Data(train=train_set, val=val_set, info=info)


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
    return _split(read_movielens(folder, (rating_min, rating_max)), split, val_split, seed)


def ratings_csv(
    data_dir: Path | None = None,
    split: str = "random",
    val_split: float = 0.2,
    seed: int = 0,
    columns: str = "user=user,item=item,rating=rating,timestamp=timestamp",
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
    mapping: dict[str, str | int] = {}
    for pair in columns.split(","):
        key, _, column = pair.partition("=")
        if key.strip() not in ("user", "item", "rating", "timestamp") or not column.strip():
            raise UsageError(f"columns takes user=,item=,rating=[,timestamp=] pairs, got '{pair}'")
        mapping[key.strip()] = column.strip()
    if not {"user", "item", "rating"} <= set(mapping):
        raise UsageError("columns must map user, item and rating")
    first = path.read_text("utf-8", errors="replace").split("\n", 1)[0]
    delimiter = ("\t" if first.count("\t") > first.count(",") else ",") if sep == "auto" else sep
    header = [c.strip() for c in first.split(delimiter)]
    if "timestamp" in mapping and mapping["timestamp"] not in header and columns.endswith("timestamp=timestamp"):
        del mapping["timestamp"]  # the default mapping's timestamp is optional
    ratings = read_table(path, delimiter, mapping, True, rating_range=(rating_min, rating_max))
    return _split(ratings, split, val_split, seed)
