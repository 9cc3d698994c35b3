"""zoo.plugin.hubdata: ParquetRows reads what the `datasets` library reads from the same files, one row group at a
time; HubSource.column maps columns or says in one line what it found; damaged files are one line naming them."""

import pickle
from operator import itemgetter
from pathlib import Path

import pytest

from zoo.core.errors import UsageError, ZooError
from zoo.plugin import Feature, HubSource, ParquetRows

ROWS, PER_GROUP = 50, 8


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> list[Path]:
    """Two parquet files written by the `datasets` library: ids 0..49 with a word each, 8 rows per row group."""
    import datasets

    folder = tmp_path_factory.mktemp("parquet")
    paths = []
    for part, ids in enumerate((range(0, 30), range(30, ROWS))):
        path = folder / f"train-{part}.parquet"
        datasets.Dataset.from_dict({"id": list(ids), "word": [f"w{i}" for i in ids]}).to_parquet(
            str(path), batch_size=PER_GROUP
        )
        paths.append(path)
    return paths


def test_rows_are_what_the_datasets_library_reads_from_the_same_files(files):
    import datasets

    reference = datasets.load_dataset("parquet", data_files=[str(p) for p in files], split="train")
    rows = ParquetRows(files, ["id", "word"], lambda row: (row["id"], row["word"]))
    assert len(rows) == len(reference) == ROWS
    assert [rows[i] for i in range(len(rows))] == [(r["id"], r["word"]) for r in reference]
    assert rows.row_groups == [8, 8, 8, 6, 8, 8, 4]  # each file's groups, the last of each shorter


def test_a_row_reads_only_its_row_group_and_a_copy_for_a_worker_starts_empty(files):
    rows = ParquetRows(files, ["id"], itemgetter("id"), keep=2)
    assert rows[33] == 33 and list(rows._cache) == [4]  # row 33 = 2nd file, 1st group (the 5th overall)
    rows[0], rows[9]
    assert list(rows._cache) == [0, 1]  # at most `keep` groups stay
    assert pickle.loads(pickle.dumps(rows))._cache == {}


def test_split_carves_the_last_rows_off_as_validation(files):
    rows = ParquetRows(files, ["id"], lambda row: row["id"])
    train, val = rows.split(0.1)
    assert [train[i] for i in range(len(train))] == list(range(45))
    assert [val[i] for i in range(len(val))] == list(range(45, 50))
    assert sum(train.row_groups) == 45 and sum(val.row_groups) == 5
    with pytest.raises(IndexError):
        val[5]


def test_a_decoding_error_names_the_file_row_group_and_row(files):
    def decode(row):
        if row["id"] == 37:
            raise ZooError("label 99 is not a class")
        return row["id"]

    rows = ParquetRows(files, ["id"], decode)
    with pytest.raises(ZooError) as caught:
        rows[37]
    assert str(caught.value) == "train-1.parquet, row group 0, row 7: label 99 is not a class"


def test_a_truncated_file_and_a_missing_column_are_one_line_naming_the_file(files, tmp_path):
    cut = tmp_path / "cut.parquet"
    cut.write_bytes(files[0].read_bytes()[:-100])
    with pytest.raises(ZooError) as caught:
        ParquetRows([cut], ["id"], lambda row: row)
    assert "cut.parquet is not a readable parquet file" in str(caught.value) and "\n" not in str(caught.value)
    with pytest.raises(UsageError) as caught:
        ParquetRows(files, ["id", "label"], lambda row: row)
    assert str(caught.value).startswith("train-0.parquet has no column label (it has id, word)")


def source(**features: Feature) -> HubSource:
    return HubSource("org/set", "a" * 40, {"train": ()}, features, {})


def test_column_prefers_the_named_column_of_the_right_kind_and_refuses_in_one_line():
    found = source(img=Feature("image"), thumb=Feature("image"), label=Feature("class_label", names=("a", "b")))
    assert found.column("image", ("image",), ("img", "image")) == "img"
    assert found.column("label", ("class_label",)) == "label"
    with pytest.raises(UsageError) as caught:
        source(text=Feature("value", "string"), n=Feature("value", "int64")).column("image", ("image",), ("img",))
    message = str(caught.value)
    assert "hf://datasets/org/set@" in message and "needs an image column" in message
    assert "text (string), n (int64)" in message and "\n" not in message


def test_the_fingerprint_changes_with_any_file_digest():
    a = HubSource("org/set", "a" * 40, {}, {}, {"x.parquet": "1" * 64, "y.parquet": "2" * 64})
    b = HubSource("org/set", "a" * 40, {}, {}, {"x.parquet": "1" * 64, "y.parquet": "3" * 64})
    assert a.fingerprint != b.fingerprint and a.fingerprint == HubSource.from_json(a.to_json()).fingerprint
