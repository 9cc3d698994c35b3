"""The `cifar10` and `imagefolder` Hub sources (zoo_images.hub) over HTTP from the test Hub server: every sample's
pixels and label equal what `datasets.load_dataset` yields through the same server (the independent reference), the
validation split is chosen as documented, the real CLI trains and records the repo, and each bad input is one line."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import httpx
import numpy as np
import pytest
from hub_datasets import PARQUET_BRANCH, card, commit, image_data, image_repo, png, reference_rows, to_parquet
from zoo_fixtures import assert_clean_error, zoo_main

from zoo.hub.datasets import pull_dataset
from zoo.registry.merged import get_registry

CLASSES = ("cat", "dog", "frog")
SIZE = 8
OPTIONS = {"size": SIZE, "val_split": 0.25, "seed": 0, "download": False, "cache": "auto", "decode": "cpu"}
TRAIN_FLAGS = ["--dataset", "cifar10", "--epochs", "1", "--batch-size", "8", "--device", "cpu"]


def build(adapter: str, source):
    return get_registry().datasets.get(adapter).build(data_dir=source, **OPTIONS)


def samples(rows) -> tuple[np.ndarray, list[int]]:
    """Every sample of a split as (N, H, W, 3) uint8 pixels and labels."""
    pixels, labels = [], []
    for i in range(len(rows)):
        image, label = rows[i]
        assert image.dtype.is_floating_point is False and tuple(image.shape) == (3, SIZE, SIZE)
        pixels.append(image.permute(1, 2, 0).numpy())
        labels.append(label)
    return np.stack(pixels), labels


def expected(
    server, repo_id: str, revision: str, split: str, tmp_path: Path, config: str | None = "plain_text"
) -> tuple[np.ndarray, list[int], list]:
    """What datasets.load_dataset yields for `split` ("train+test" joins splits) through the server."""
    rows = reference_rows(server.url, repo_id, revision, split, tmp_path, columns_decode=True, config=config)
    return np.stack([r["img"] for r in rows]), [r["label"] for r in rows], rows.class_names["label"]


@pytest.mark.parametrize(
    ("splits", "validation"),
    [
        ({"train": 14, "test": 5}, "test"),
        ({"train": 14, "validation": 6, "test": 5}, "validation"),
        ({"train": 14}, None),
    ],
    ids=["train-test", "train-validation-test", "train-only"],
)
def test_samples_equal_load_dataset_through_the_server(hub_root, hub_server, tmp_path, splits, validation):
    repo_id = f"zoo-images/ref-{len(splits)}"
    revision = image_repo(hub_root, repo_id, splits, size=SIZE, classes=CLASSES, rows_per_group=4, seed=len(splits))
    pulled = pull_dataset(repo_id, "main", hub=hub_server.url)
    assert pulled.revision == revision
    joined = "train" + (f"+{validation}" if validation else "")
    pixels, labels, names = expected(hub_server, repo_id, revision, joined, tmp_path)
    assert names == list(CLASSES)
    train_count = splits["train"] if validation else splits["train"] - round(splits["train"] * OPTIONS["val_split"])
    for adapter in ("cifar10", "imagefolder"):
        data = build(adapter, pulled.source)
        assert data.info["labels"] == list(CLASSES)
        assert data.info["validation"] == (validation or "the last 25% of train")
        assert len(data.train) == train_count and len(data.val) == len(labels) - train_count
        assert data.train.row_groups == [4] * (train_count // 4) + ([train_count % 4] if train_count % 4 else [])
        got_pixels, got_labels = samples(data.train)
        val_pixels, val_labels = samples(data.val)
        assert np.array_equal(np.concatenate([got_pixels, val_pixels]), pixels), adapter
        assert got_labels + val_labels == labels, adapter
        assert data.info["hub_dataset"]["revision"] == revision


def test_the_refs_convert_parquet_revision_loads(hub_root, hub_server, tmp_path):
    """An image repo whose main holds no parquet, and whose Hub conversion holds `default/<split>/0000.parquet`."""
    from zoo.hub.local_git import LocalHub

    repo_id = "zoo-images/converted"
    main = commit(hub_root, repo_id, {"README.md": b"---\nlicense: mit\n---\n# images in a zip\n"}, "no parquet")
    from datasets import ClassLabel, Features, Image

    features = Features({"img": Image(), "label": ClassLabel(names=list(CLASSES))})
    data = image_data({"train": 9, "test": 4}, size=SIZE, classes=CLASSES, seed=7)
    files: dict[str, bytes | Path] = {}
    for split, (pixels, labels) in data.items():
        columns = {"img": [{"bytes": png(p), "path": None} for p in pixels], "label": labels}
        files[f"default/{split}/0000.parquet"], _ = to_parquet(split, columns, features, 4)
    hub = LocalHub(hub_root, "datasets")
    hub.create_branch(repo_id, "scratch", main)
    converted = hub.commit(repo_id, files, "Update parquet files", branch="scratch")
    hub._git(repo_id, "update-ref", PARQUET_BRANCH, converted)
    hub._git(repo_id, "update-ref", "-d", "refs/heads/scratch")

    pulled = pull_dataset(repo_id, PARQUET_BRANCH, hub=hub_server.url)
    assert pulled.revision == converted
    pixels, labels, _ = expected(hub_server, repo_id, PARQUET_BRANCH, "train+test", tmp_path, None)
    built = build("cifar10", pulled.source)
    assert built.info["labels"] == list(CLASSES) and built.info["validation"] == "test"
    got = [samples(built.train), samples(built.val)]
    assert np.array_equal(np.concatenate([got[0][0], got[1][0]]), pixels) and got[0][1] + got[1][1] == labels


def served(server, repo_id: str, revision: str, path: str) -> bytes:
    """A file's bytes as the server hands them out (following its redirect to the storage origin)."""
    response = httpx.get(f"{server.url}/datasets/{repo_id}/resolve/{revision}/{path}", follow_redirects=True)
    response.raise_for_status()
    return response.content


def test_cli_trains_records_the_commit_and_pulls_then_trains_offline(hub_root, hub_server, run_zoo, tmp_path):
    repo_id = "zoo-images/cifar"
    revision = image_repo(hub_root, repo_id, {"train": 24, "test": 8}, size=SIZE, classes=CLASSES, rows_per_group=8)
    uri = f"hf://datasets/{repo_id}"
    train = ["train", "cnn", *TRAIN_FLAGS, "--data-dir", uri, "--json"]
    proc = run_zoo(*train, "--hub", hub_server.url, "--out", str(tmp_path / "run"))
    assert proc.returncode == 0, proc.stderr
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    recorded = config["hub_dataset"]
    paths = [f"plain_text/{s}-00000-of-00001.parquet" for s in ("train", "test")]
    assert recorded["repo_id"] == repo_id and recorded["revision"] == revision and len(revision) == 40
    digests = {p: hashlib.sha256(served(hub_server, repo_id, revision, p)).hexdigest() for p in paths}
    assert recorded["files"] == digests
    assert config["labels"] == list(CLASSES)  # the ClassLabel's names

    pulled = run_zoo("pull", "--dataset", repo_id, "--hub", hub_server.url, "--json")
    assert pulled.returncode == 0, pulled.stderr
    answer = json.loads(pulled.stdout)
    assert answer["repo_id"] == repo_id and answer["revision"] == revision
    sizes = {p: len(served(hub_server, repo_id, revision, p)) for p in paths}
    assert {f["path"]: (f["sha256"], f["size"]) for f in answer["files"]} == {p: (digests[p], sizes[p]) for p in paths}
    assert answer["splits"] == {"train": [paths[0]], "test": [paths[1]]}

    before = len(hub_server.requests)
    offline = run_zoo(*train, "--out", str(tmp_path / "offline"), env={"HF_HUB_OFFLINE": "1"})
    assert offline.returncode == 0, offline.stderr
    assert len(hub_server.requests) == before  # from the cache alone
    assert json.loads((tmp_path / "offline" / "config.json").read_text())["hub_dataset"] == recorded


TRAIN_FILE = "plain_text/train-00000-of-00001.parquet"


def bad_repo(
    root: Path, repo_id: str, train: dict | None, features=None, test: dict | None = None, declared=None, **damage
) -> str:
    """An image repo laid out as CIFAR-10 is, whose card declares `declared` (by default `img`, an Image, and `label`,
    a ClassLabel of CLASSES) while its files hold the `train` / `test` columns written with `features` (by default
    the declared ones); `truncate=N` commits only the first N bytes of the train file."""
    from datasets import ClassLabel, Features, Image

    declared = declared or Features({"img": Image(), "label": ClassLabel(names=list(CLASSES))})
    features = features or declared
    files: dict[str, bytes | Path] = {}
    globs = {}
    for split, columns in (("train", train), ("test", test)):
        if columns is not None:
            path = f"plain_text/{split}-00000-of-00001.parquet"
            files[path], _ = to_parquet(split, columns, features, 4)
            globs[split] = f"plain_text/{split}-*"
    if "truncate" in damage:
        files[TRAIN_FILE] = files[TRAIN_FILE][: damage["truncate"]]  # type: ignore[index]
    files["README.md"] = card({"plain_text": globs}, declared._to_yaml_list())
    return commit(root, repo_id, files, "bad data")


def images(count: int, labels: list | None = None, broken: int | None = None) -> dict[str, list]:
    pixels, drawn = image_data({"x": count}, size=SIZE, classes=CLASSES)["x"]
    cells = [{"bytes": png(p)[:40] if i == broken else png(p), "path": None} for i, p in enumerate(pixels)]
    return {"img": cells, "label": drawn if labels is None else labels}


def text_features():
    from datasets import Features, Value

    return Features({"caption": Value("string"), "category": Value("string")})


def other_columns():
    from datasets import ClassLabel, Features, Image

    return Features({"picture": Image(), "target": ClassLabel(names=list(CLASSES))})


BAD = {
    "truncated": (lambda r, i: bad_repo(r, i, images(12), truncate=300), 1, "not a readable parquet file"),
    "wrong-schema": (
        lambda r, i: bad_repo(r, i, {"picture": images(12)["img"], "target": [0] * 12}, other_columns()),
        2,
        "has no column",
    ),
    "null-label": (lambda r, i: bad_repo(r, i, images(12, labels=[0] * 5 + [None] + [1] * 6)), 2, "row 5 has no label"),
    "undecodable": (lambda r, i: bad_repo(r, i, images(12, broken=6)), 1, "row group 1, row 2"),
    "label-outside": (lambda r, i: bad_repo(r, i, images(12, labels=[0] * 9 + [3] + [1] * 2)), 2, "row 9 has label 3"),
    "no-train": (lambda r, i: bad_repo(r, i, None, test=images(6)), 2, "has no train split"),
    "text-only": (
        lambda r, i: bad_repo(r, i, {"caption": ["a"] * 6, "category": ["b"] * 6}, declared=text_features()),
        2,
        "no column to read as the image",
    ),
}


def train_on(run_zoo, server, repo_id: str, out: Path, **env: str):
    return run_zoo(
        "train", "cnn", *TRAIN_FLAGS, "--data-dir", f"hf://datasets/{repo_id}", "--hub", server.url, "--out", str(out),
        "--quiet", env=env,
    )  # fmt: skip


@pytest.mark.parametrize("case", BAD)
def test_bad_data_is_one_line_naming_the_file(hub_root, hub_server, run_zoo, tmp_path, case):
    """Each refusal as `zoo train` prints it; in this process where zoo refuses before training (a subprocess costs
    seconds of start-up), through the real CLI where it stops mid-epoch in a DataLoader worker."""
    make, code, reason = BAD[case]
    repo_id = f"zoo-images/bad-{case}"
    make(hub_root, repo_id)
    if case == "undecodable":
        proc = train_on(run_zoo, hub_server, repo_id, tmp_path / "run")
        stderr = assert_clean_error(proc, code, reason, TRAIN_FILE)
    else:
        args = ("--data-dir", f"hf://datasets/{repo_id}", "--hub", hub_server.url, "--out", str(tmp_path / "run"))
        exit_code, stderr = zoo_main("train", "cnn", *TRAIN_FLAGS, *args, "--quiet")
        named = repo_id if case in ("no-train", "text-only") else TRAIN_FILE  # a repo-wide fault names the repo
        assert exit_code == code and reason in stderr and named in stderr, stderr
        assert "Traceback" not in stderr and "unexpected" not in stderr, stderr
    assert len(stderr.strip().splitlines()) == 1, stderr
    assert not (tmp_path / "run" / "model.safetensors").exists()


def test_cli_a_file_tampered_in_transit_is_refused_and_leaves_nothing(hub_root, hub_server, run_zoo, zoo_env, tmp_path):
    """The listing's sha256 is the committed file's; the bytes served differ: verification fails, nothing is kept."""
    repo_id = "zoo-images/tampered"
    image_repo(hub_root, repo_id, {"train": 12, "test": 4}, size=SIZE, classes=CLASSES, rows_per_group=4)
    key = (f"datasets/{repo_id}", TRAIN_FILE)
    clean = served(hub_server, repo_id, "main", TRAIN_FILE)
    other = clean[:-1] + bytes([clean[-1] ^ 1])
    hub_server.tamper[key] = other
    try:
        proc = train_on(run_zoo, hub_server, repo_id, tmp_path / "run")
    finally:
        del hub_server.tamper[key]
    stderr = assert_clean_error(proc, 1, TRAIN_FILE)
    assert len(stderr.strip().splitlines()) == 1, stderr
    assert "failed verification" in stderr
    cache = Path(zoo_env["HF_HOME"]) / "hub"
    assert (cache / f"datasets--{repo_id.replace('/', '--')}").is_dir()  # it was downloaded, then thrown away
    for digest in (hashlib.sha256(clean).hexdigest(), hashlib.sha256(other).hexdigest()):
        assert not [p for p in cache.rglob(f"*{digest}*") if ".locks" not in p.parts]  # huggingface_hub's lock
    assert not list(cache.rglob("*.incomplete")) and not list(cache.rglob("train-00000-of-00001.parquet*"))
    assert not (tmp_path / "run" / "model.safetensors").exists()
