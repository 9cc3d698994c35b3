"""zoo.hub.datasets over HTTP to the test Hub server: a dataset repo's revision resolved to one commit, its card's
configs choosing the split files, the files verified, the refs/convert/parquet branch, and one-line refusals."""

import hashlib
import json

import pytest
from hub_datasets import PARQUET_BRANCH, card, commit, convert_parquet_repo, image_repo, ratings_repo

from zoo.core.errors import UsageError
from zoo.hub.datasets import _split_files, parse_uri, pull_dataset
from zoo.hub.local_git import LocalHub


def test_a_pull_resolves_the_branch_once_and_verifies_each_split_file(hub_root, hub_server, tmp_path):
    commit_id = image_repo(hub_root, "ds/pull", splits={"train": 10, "validation": 4, "test": 4}, rows_per_group=3)
    pulled = pull_dataset("ds/pull", "main", hub=hub_server.url)
    assert pulled.revision == pulled.source.revision == commit_id
    assert (
        set(pulled.source.splits) == {"train", "validation", "test"} and pulled.source.validation_split == "validation"
    )
    hub = LocalHub(hub_root, "datasets")
    for file in pulled.files:  # each one's sha256 is the sha256 of the bytes the Hub holds
        [entry] = [e for e in hub.tree("ds/pull", commit_id) if e.path == file.path]
        hub.read_blob("ds/pull", entry.oid, tmp_path / "blob")
        assert (
            file.sha256
            == hashlib.sha256((tmp_path / "blob").read_bytes()).hexdigest()
            == pulled.source.files[file.path]
        )
    assert pulled.source.features["label"].names == ("cat", "dog", "frog")
    assert pulled.source.features["img"].kind == "image"
    document = pulled.to_json()
    assert document["revision"] == commit_id and document["splits"]["train"] == [
        "plain_text/train-00000-of-00001.parquet"
    ]
    assert json.loads(json.dumps(document))["files"][0]["size"] > 0


def test_the_hubs_parquet_conversion_branch_is_a_revision(hub_root, hub_server):
    converted = convert_parquet_repo(hub_root, "ds/csv-only")
    with pytest.raises(UsageError) as caught:  # main holds CSV only: no split zoo can read
        pull_dataset("ds/csv-only", "main", hub=hub_server.url)
    assert "has no train split (it has no parquet files)" in str(caught.value)
    pulled = pull_dataset("ds/csv-only", PARQUET_BRANCH, hub=hub_server.url)
    assert pulled.revision == converted
    assert pulled.split_files == {"train": ["default/train/0000.parquet"], "test": ["default/test/0000.parquet"]}
    assert pulled.source.features["rating"].kind == "value"  # from the files' own schema: the card has none


def test_a_card_whose_split_is_not_parquet_points_at_the_conversion_branch(hub_root, hub_server):
    commit(
        hub_root, "ds/csv-card", {"README.md": card({"default": {"train": "*.csv"}}, []), "train.csv": b"a\n1\n"}, "c"
    )
    with pytest.raises(UsageError) as caught:
        pull_dataset("ds/csv-card", hub=hub_server.url)
    assert str(caught.value) == (
        "ds/csv-card@" + LocalHub(hub_root, "datasets").resolve("ds/csv-card") + ": the train split is not parquet "
        "(train.csv): zoo reads parquet files. Try the Hub's conversion: hf://datasets/ds/csv-card@refs/convert/parquet"
    )


def test_a_repo_without_a_train_split_is_one_line_naming_what_it_has(hub_root, hub_server):
    image_repo(hub_root, "ds/test-only", splits={"test": 4})
    with pytest.raises(UsageError) as caught:
        pull_dataset("ds/test-only", hub=hub_server.url)
    assert "has no train split (it has test)" in str(caught.value) and "\n" not in str(caught.value)


def test_splits_come_from_the_default_config_else_from_the_paths():
    listed = ["a/train-0.parquet", "a/test-0.parquet", "b/train.parquet", "b/dev.parquet", "README.md"]
    a = {"config_name": "a", "data_files": [{"split": "train", "path": "a/train-*"}]}
    b_files = [{"split": "train", "path": "b/train*"}, {"split": "validation", "path": ["b/dev*"]}]
    configs = {"configs": [a, {"config_name": "b", "default": True, "data_files": b_files}]}
    assert _split_files(configs, listed, "x") == {"train": ["b/train.parquet"], "validation": ["b/dev.parquet"]}
    assert _split_files({"configs": [{"data_files": "a/*.parquet"}]}, listed, "x") == {
        "train": ["a/test-0.parquet", "a/train-0.parquet"]
    }
    by_path = ["data/train-00000-of-00002.parquet", "data/train-00001-of-00002.parquet", "data/validation-0.parquet"]
    assert _split_files({}, by_path, "x") == {"train": by_path[:2], "validation": by_path[2:]}
    libri = ["all/train.clean.100/0.parquet", "all/train.other.500/0.parquet", "all/validation.clean/0.parquet"]
    splits = [{"split": s, "path": f"all/{s}/*"} for s in ("train.clean.100", "train.other.500", "validation.clean")]
    assert (
        _split_files({"configs": [{"config_name": "all", "data_files": splits}]}, libri, "x")
        == {
            "train": libri[:2],  # as openslr/librispeech_asr names them: every train.* split trains
            "validation": libri[2:],
        }
    )
    converted = ["default/train/0000.parquet", "other/train/0000.parquet", "default/test/0000.parquet"]
    assert _split_files({}, converted, "x") == {"train": converted[:1], "test": converted[2:]}


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("hf://models/org/name", "a Hub dataset is written hf://datasets/ORG/NAME[@REV]"),
        ("hf://datasets/just-a-name", "is not a Hub repo id"),
        ("hf://datasets/org/name@bad..rev", "is not a valid revision name"),
    ],
)
def test_a_malformed_uri_says_the_form(uri, message):
    with pytest.raises(UsageError) as caught:
        parse_uri(uri)
    assert message in str(caught.value)


def test_a_tampered_parquet_file_leaves_nothing_in_the_cache_and_names_the_file(
    hub_root, hub_server, run_zoo, tmp_path
):
    ratings_repo(hub_root, "ds/tampered", rows=50)
    path = "data/train-00000-of-00001.parquet"
    hub = LocalHub(hub_root, "datasets")
    [entry] = [e for e in hub.tree("ds/tampered", hub.resolve("ds/tampered")) if e.path == path]
    hub.read_blob("ds/tampered", entry.oid, tmp_path / "real.parquet")
    real = (tmp_path / "real.parquet").read_bytes()
    # the same size, one byte changed: only the sha256 can tell
    hub_server.tamper[("datasets/ds/tampered", path)] = real[:100] + bytes([real[100] ^ 1]) + real[101:]
    try:
        proc = run_zoo("pull", "--dataset", "ds/tampered", "--hub", hub_server.url)
    finally:
        hub_server.tamper.pop(("datasets/ds/tampered", path))
    assert proc.returncode == 1 and f"{path} failed verification" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    cache = tmp_path / "hf" / "hub" / "datasets--ds--tampered"
    left = [p.name for p in cache.rglob("*") if p.is_file() or p.is_symlink()]
    assert [n for n in left if n.endswith(".parquet") or n.endswith(".incomplete") or len(n) == 64] == []
    again = run_zoo("pull", "--dataset", "ds/tampered", "--hub", hub_server.url, "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["files"][0]["path"] == path
    offline = run_zoo(
        "pull", "--dataset", "ds/tampered", "--hub", hub_server.url, "--json", env={"HF_HUB_OFFLINE": "1"}
    )
    assert offline.returncode == 0 and json.loads(offline.stdout) == json.loads(again.stdout), offline.stderr


def test_pull_takes_a_name_or_a_dataset_not_both(run_zoo):
    for args in (["pull"], ["pull", "resnet18", "--dataset", "org/x"]):
        proc = run_zoo(*args)
        assert proc.returncode == 2 and "one of the two" in proc.stderr, proc.stderr
