"""`--dataset ratings-csv --data-dir hf://datasets/ORG/NAME`: the Hub source gives what the local adapter gives for
the same ratings, checked against the `datasets` library's reading of the same parquet files; bad data is one line."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pytest
import torch
import yaml
from hub_datasets import ratings_data
from zoo_fixtures import zoo_main
from zoo_recsys.data import COLUMNS, ratings_csv

from zoo.hub.datasets import pull_dataset
from zoo.hub.local_git import LocalHub
from zoo.registry.merged import get_registry

DTYPES = {"user_id": "int64", "item_id": "int64", "rating": "float32", "timestamp": "int64"}
OPTIONS = {"val_split": 0.2, "seed": 0, "rating_min": 0.5, "rating_max": 5.0, "columns": COLUMNS}


def parquet(columns: dict[str, list], dtypes: dict[str, str], folder: Path) -> bytes:
    """A parquet file as the `datasets` library writes it (its schema metadata too), in row groups of 16 rows."""
    from datasets import Dataset, Features, Value

    features = Features({name: Value(dtype) for name, dtype in dtypes.items()})
    path = folder / f"written-{len(list(folder.glob('written-*')))}.parquet"
    Dataset.from_dict(columns, features=features).to_parquet(str(path), batch_size=16)
    return path.read_bytes()


def write_repo(root: Path, repo_id: str, splits: dict[str, list[dict[str, list]]], dtypes: dict[str, str]) -> str:
    """A ratings repo: each split's files (`data/{split}-0000k-of-0000n.parquet`) and a card whose YAML names the
    config's data_files per split and the features, as the Hub's cards do; returns the commit."""
    files: dict[str, bytes | Path] = {}
    for split, parts in splits.items():
        for k, columns in enumerate(parts):
            files[f"data/{split}-{k:05d}-of-{len(parts):05d}.parquet"] = parquet(columns, dtypes, root.parent)
    meta = {
        "configs": [{"config_name": "default", "data_files": [{"split": s, "path": f"data/{s}-*"} for s in splits]}],
        "dataset_info": {"features": [{"name": n, "dtype": d} for n, d in dtypes.items()]},
    }
    files["README.md"] = f"---\n{yaml.safe_dump(meta, sort_keys=False)}---\n\n# Ratings\n".encode()
    hub = LocalHub(root, "datasets")
    hub.create_repo(repo_id)
    return hub.commit(repo_id, files, "ratings")


def renamed(data: dict[str, list], names: tuple[str, ...], text_ids: bool = False) -> dict[str, list]:
    """ratings_data's columns under `names` (user, item, rating[, timestamp]); ids as text ("u7", "i3") if asked."""
    out = dict(zip(names, (data["user_id"], data["item_id"], data["rating"], data["timestamp"]), strict=False))
    if text_ids:
        out[names[0]] = [f"u{v}" for v in out[names[0]]]
        out[names[1]] = [f"i{v}" for v in out[names[1]]]
    return out


def build(source, split: str):
    return get_registry().datasets.get("ratings-csv").build(data_dir=source, split=split, **OPTIONS)


def reference(files: list[Path], tmp_path: Path, names: tuple[str, ...]) -> list[tuple]:
    """(user, item, rating[, timestamp]) per row, as `datasets.load_dataset("parquet")` reads the files."""
    import datasets

    ds = datasets.load_dataset("parquet", data_files={"x": [str(f) for f in files]}, cache_dir=str(tmp_path / "ds"))
    return [(str(r[names[0]]), str(r[names[1]]), *(r[n] for n in names[2:])) for r in ds["x"]]


def ranked(rows: list[tuple]) -> dict[tuple[str, str], tuple[tuple[int, int], tuple]]:
    """(user, item) -> ((timestamp, position), row) of its latest row: by timestamp if any, ties the later row."""
    kept: dict[tuple[str, str], tuple[tuple[int, int], tuple]] = {}
    for n, row in enumerate(rows):
        rank = (row[3] if len(row) > 3 else 0, n)
        if row[:2] not in kept or rank >= kept[row[:2]][0]:
            kept[row[:2]] = (rank, row)
    return kept


def latest(rows: list[tuple]) -> dict[tuple[str, str], tuple]:
    """One row per (user, item), as a file's duplicates come to: the latest, in row order."""
    kept = sorted(ranked(rows).values(), key=lambda kept: kept[0][1])
    return {row[:2]: row for _, row in kept}


def raw(data, tensors) -> list[tuple[str, str, float]]:
    """(user, item, rating) of an explicit TensorDataset, in raw ids."""
    writer = data.files["index.safetensors"]
    users, items, rated = (t.tolist() for t in tensors)
    return [(writer.user_ids[u], writer.item_ids[i], r) for u, i, r in zip(users, items, rated, strict=True)]


def test_train_only_repo_equals_the_csv_adapter_and_datasets(tmp_path):
    """No validation or test split: the local adapter's split, index and tensors, on rows datasets reads alike."""
    names = ("userId", "movieId", "rating", "timestamp")
    parts = [renamed(ratings_data(150, 20, 200, seed=s), names) for s in (1, 2)]  # duplicates within and across
    write_repo(tmp_path / "hub", "org/ml", {"train": parts}, dict(zip(names, DTYPES.values(), strict=True)))
    source = pull_dataset("org/ml", "main", tmp_path / "hub").source
    rows = reference(list(source.splits["train"]), tmp_path, names)
    table = tmp_path / "ratings.csv"
    with table.open("w", newline="") as f:
        csv.writer(f).writerows([("user", "item", "rating", "timestamp"), *rows])
    expected = latest(rows)
    for split in ("random", "leave-one-out"):
        hub, local = build(source, split), ratings_csv(data_dir=table, split=split, **OPTIONS)
        hub_index, local_index = hub.files["index.safetensors"], local.files["index.safetensors"]
        assert (hub_index.user_ids, hub_index.item_ids) == (local_index.user_ids, local_index.item_ids)
        assert hub_index.item_ids == list(dict.fromkeys(i for _, i in expected))  # first appearance first
        for ours, theirs in ((hub.train, local.train), (hub.val, local.val)):
            assert all(torch.equal(a, b) for a, b in zip(ours.tensors, theirs.tensors, strict=True))
        assert hub.info["num_users"] == local.info["num_users"] and hub.info["source"] == source.uri
        if split == "random":  # every kept rating once, as datasets reads it
            got = raw(hub, hub.train.tensors) + raw(hub, hub.val.tensors)
            assert sorted(got) == sorted((u, i, r) for u, i, r, _ in expected.values())
        else:  # the timestamps: each user's held-out item is their latest rating's
            users, candidates = hub.val.tensors
            held = {
                hub_index.user_ids[u]: hub_index.item_ids[c]
                for u, c in zip(users.tolist(), candidates[:, 0].tolist(), strict=True)
            }
            newest: dict[str, tuple] = {}
            for (user, item), (rank, _) in ranked(rows).items():
                newest[user] = max(newest.get(user, (rank, item)), (rank, item))
            assert held == {user: item for user, (_, item) in newest.items()}


@pytest.mark.parametrize("splits", [("validation", "test"), ("test",)])
def test_the_cards_validation_split_validates(tmp_path, splits):
    """The validation split, else the test split, is the validation set, whole; ids index train then it; text ids."""
    names = ("user_id", "item_id", "rating")  # no timestamp: leave-one-out needs none when the card gives the split
    data = {s: [renamed(ratings_data(80, 15, 400, seed=k), names, text_ids=True)] for k, s in enumerate(splits, 3)}
    data["train"] = [renamed(ratings_data(200, 12, 400, seed=9), names, text_ids=True)]
    write_repo(tmp_path / "hub", "org/split", data, dict(zip(names, ("string", "string", "float64"), strict=True)))
    source = pull_dataset("org/split", "main", tmp_path / "hub").source
    train_rows = reference(list(source.splits["train"]), tmp_path, names)
    val_rows = reference(list(source.splits[splits[0]]), tmp_path, names)
    explicit = build(source, "random")
    assert explicit.info["validation"] == splits[0]
    assert sorted(raw(explicit, explicit.train.tensors)) == sorted(latest(train_rows).values())
    assert sorted(raw(explicit, explicit.val.tensors)) == sorted(latest(val_rows).values())
    index = explicit.files["index.safetensors"]
    kept = [*latest(train_rows), *latest(val_rows)]
    assert (index.user_ids, index.item_ids) == (
        list(dict.fromkeys(u for u, _ in kept)),
        list(dict.fromkeys(i for _, i in kept)),
    )
    implicit = build(source, "leave-one-out")
    users, candidates = implicit.val.tensors
    held = [
        (index.user_ids[u], index.item_ids[c]) for u, c in zip(users.tolist(), candidates[:, 0].tolist(), strict=True)
    ]
    assert sorted(held) == sorted(latest(val_rows))
    assert len(implicit.train) == len(latest(train_rows)) and candidates.shape[1] == 100


def test_cli_trains_mf_from_a_hub_repo_and_records_it(tmp_path, run_zoo):
    root, run = tmp_path / "hub", tmp_path / "run"
    names = ("user_id", "item_id", "rating", "timestamp")
    rows = renamed(ratings_data(200, 20, 30, seed=0), names)
    commit_id = write_repo(root, "org/ratings", {"train": [rows]}, dict(zip(names, DTYPES.values(), strict=True)))
    args = ("--dataset", "ratings-csv", "--data-dir", "hf://datasets/org/ratings", "--hub", str(root))
    proc = run_zoo("train", "mf", *args, "--epochs", "1", "--device", "cpu", "--out", str(run), "--json")
    assert proc.returncode == 0, proc.stderr
    config = json.loads((run / "config.json").read_text())
    pulled = pull_dataset("org/ratings", commit_id, root).source.splits["train"][0]
    digest = hashlib.sha256(pulled.read_bytes()).hexdigest()
    recorded = config["hub_dataset"]
    assert recorded == {
        "repo_id": "org/ratings",
        "revision": commit_id,
        "files": {"data/train-00000-of-00001.parquet": digest},
    }
    assert len(commit_id) == 40 and config["dataset"]["name"] == "ratings-csv"
    assert config["num_users"] == 20 and config["train_ratings"] + config["val_ratings"] < 200  # duplicates dropped


GOOD = renamed(ratings_data(40, 5, 8, seed=0), ("user_id", "item_id", "rating", "timestamp"))


def nulled(column: str) -> dict[str, list]:
    return {**GOOD, column: [*GOOD[column][:7], None, *GOOD[column][8:]]}


BAD = {
    "null user": (nulled("user_id"), DTYPES, 2, "row 7 has no user (user_id is null)"),
    "null item": (nulled("item_id"), DTYPES, 2, "row 7 has no item (item_id is null)"),
    "null rating": (nulled("rating"), DTYPES, 2, "row 7 has no rating (rating is null)"),
    "text rating": (
        {**GOOD, "rating": [f"{r} stars" for r in GOOD["rating"]]},
        {**DTYPES, "rating": "string"},
        2,
        "the rating column rating holds string, not numbers",
    ),
    "no columns to map": (
        dict(zip(("a", "b", "c", "d"), GOOD.values(), strict=True)),
        dict(zip(("a", "b", "c", "d"), DTYPES.values(), strict=True)),
        2,
        "no column to read as the user",
    ),
    "truncated": (GOOD, DTYPES, 1, "is not a readable parquet file"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_data_is_one_line_naming_the_file(tmp_path, case):
    columns, dtypes, code, reason = BAD[case]
    root, name = tmp_path / "hub", "data/train-00000-of-00001.parquet"
    write_repo(root, "org/bad", {"train": [columns]}, dtypes)
    if case == "truncated":
        whole = parquet(columns, dtypes, tmp_path)
        LocalHub(root, "datasets").commit("org/bad", {name: whole[: len(whole) // 2]}, "cut short")
    args = ("--dataset", "ratings-csv", "--data-dir", "hf://datasets/org/bad", "--hub", str(root))
    exit_code, stderr = zoo_main("train", "mf", *args, "--epochs", "1", "--device", "cpu", "--out", str(tmp_path / "r"))
    assert exit_code == code, stderr
    assert reason in stderr and (name if case != "no columns to map" else "org/bad") in stderr, stderr
    assert len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr and "unexpected" not in stderr, stderr
    assert not (tmp_path / "r").exists()  # nothing half-written


def test_through_the_hub_server_every_kept_rating_is_one_datasets_reads(hub_root, hub_server, tmp_path):
    """Over HTTP, as the Hub serves it (LFS parquet, the card's configs): zoo's pull and datasets.load_dataset agree."""
    from hub_datasets import ratings_repo, reference_rows

    commit = ratings_repo(hub_root, "ds-ratings/served", rows=120, users=15, items=60, seed=4)
    source = pull_dataset("ds-ratings/served", "main", hub_server.url).source
    assert source.revision == commit
    theirs = reference_rows(hub_server.url, "ds-ratings/served", commit, "train", tmp_path)
    rows = [(str(r["user_id"]), str(r["item_id"]), r["rating"], r["timestamp"]) for r in theirs]
    data = build(source, "random")
    got = raw(data, data.train.tensors) + raw(data, data.val.tensors)
    assert sorted(got) == sorted((u, i, r) for u, i, r, _ in latest(rows).values())


def test_movielens_reads_a_hub_ratings_repo_as_ratings_csv_does(tmp_path):
    names = ("userId", "movieId", "rating", "timestamp")
    write_repo(tmp_path / "hub", "org/ml", {"train": [renamed(ratings_data(90, 10, 50, seed=5), names)]},
               dict(zip(names, DTYPES.values(), strict=True)))  # fmt: skip
    source = pull_dataset("org/ml", "main", tmp_path / "hub").source
    movielens = get_registry().datasets.get("movielens").build(data_dir=source, split="random", **OPTIONS)
    ratings = build(source, "random")
    for ours, theirs in ((movielens.train, ratings.train), (movielens.val, ratings.val)):
        assert all(torch.equal(a, b) for a, b in zip(ours.tensors, theirs.tensors, strict=True))
    assert movielens.info["hub_dataset"]["revision"] == source.revision
