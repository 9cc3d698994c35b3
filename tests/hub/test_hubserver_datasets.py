"""The test Hub server serves dataset repos as the Hub does: `datasets.load_dataset` (the independent reference)
reads them through it, parquet files are LFS files on the storage origin, and `tamper` works for datasets."""

import hashlib
import io
from pathlib import Path

import httpx
import numpy as np
import pyarrow.parquet as pq
import soundfile
from hub_datasets import (
    PARQUET_BRANCH,
    convert_parquet_repo,
    image_data,
    image_repo,
    ratings_data,
    ratings_repo,
    speech_repo,
    wav,
)
from hub_datasets import reference_rows as load_reference
from huggingface_hub import HfApi, hf_hub_download

from zoo.hub.local_git import LocalHub

CLASSES = ("cat", "dog", "frog")


def git_blob_id(content: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


def test_load_dataset_yields_the_pixels_and_labels_written(hub_root, hub_server, tmp_path):
    image_repo(hub_root, "ds-images/cifar", splits={"train": 12, "test": 4}, classes=CLASSES, seed=3)
    pixels, labels = image_data({"train": 12, "test": 4}, classes=CLASSES, seed=3)["test"]
    # By the config name the card declares, as CIFAR-10's card names "plain_text".
    rows = load_reference(hub_server.url, "ds-images/cifar", "main", "test", tmp_path, True, config="plain_text")
    assert rows.class_names == {"label": list(CLASSES)}
    assert rows.features == {"img": "Image", "label": "ClassLabel"}
    assert [r["label"] for r in rows] == labels
    assert np.array_equal(np.stack([r["img"] for r in rows]), pixels)
    # The parquet files went through the storage origin, as LFS files do on the Hub.
    assert any("/objects/" in request for request, _ in hub_server.storage_requests)


def test_the_refs_convert_parquet_branch_loads(hub_root, hub_server, tmp_path):
    converted = convert_parquet_repo(hub_root, "ds-convert/csv")
    api = HfApi(endpoint=hub_server.url)
    assert not [f for f in api.list_repo_files("ds-convert/csv", repo_type="dataset") if f.endswith(".parquet")]
    info = api.dataset_info("ds-convert/csv", revision=PARQUET_BRANCH, expand=["sha"])
    assert info.sha == converted and info.siblings is None  # expand keeps only the fields asked for
    start = len(hub_server.requests)
    rows = load_reference(hub_server.url, "ds-convert/csv", PARQUET_BRANCH, "test", tmp_path)
    expected = ratings_data(20, seed=2)  # the helper's default test split
    assert rows == [dict(zip(expected, values, strict=True)) for values in zip(*expected.values(), strict=True)]
    assert f"HEAD /datasets/ds-convert/csv/resolve/{converted}/default/test/0000.parquet" in hub_server.requests[start:]


def test_a_parquet_file_is_an_lfs_file_on_the_storage_origin(hub_root, hub_server, tmp_path):
    commit = image_repo(hub_root, "ds-lfs/cifar", splits={"train": 20}, rows_per_group=5)
    path = "plain_text/train-00000-of-00001.parquet"
    local = LocalHub(hub_root, "datasets")
    entry = next(e for e in local.tree("ds-lfs/cifar", commit) if e.path == path)
    local.read_blob("ds-lfs/cifar", entry.oid, tmp_path / "stored.parquet")
    content = (tmp_path / "stored.parquet").read_bytes()
    digest = hashlib.sha256(content).hexdigest()
    api = HfApi(endpoint=hub_server.url)
    listed = {f.path: f for f in api.list_repo_tree("ds-lfs/cifar", repo_type="dataset", recursive=True)}[path]
    assert listed.lfs is not None and listed.lfs.sha256 == digest and listed.size == len(content)
    pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{digest}\nsize {len(content)}\n".encode()
    assert listed.blob_id == git_blob_id(pointer)
    sibling = {s.rfilename: s for s in api.dataset_info("ds-lfs/cifar", files_metadata=True).siblings}[path]
    assert sibling.lfs is not None and sibling.lfs.sha256 == digest
    # As on the Hub, a listing that is not recursive shows folders; paths-info answers for files and folders.
    top = api.list_repo_tree("ds-lfs/cifar", repo_type="dataset")
    assert sorted((type(e).__name__, e.path) for e in top) == [("RepoFile", "README.md"), ("RepoFolder", "plain_text")]
    info = {e.path: e for e in api.get_paths_info("ds-lfs/cifar", [path, "plain_text", "nope"], repo_type="dataset")}
    assert info.keys() == {path, "plain_text"} and info[path].lfs.sha256 == digest

    head = httpx.head(f"{hub_server.url}/datasets/ds-lfs/cifar/resolve/main/{path}")  # httpx does not follow it
    headers = head.headers
    assert head.status_code == 302 and headers["X-Linked-Etag"] == f'"{digest}"' and "ETag" not in headers
    assert headers["Location"].startswith(hub_server.storage_url)

    got = hf_hub_download("ds-lfs/cifar", path, repo_type="dataset", endpoint=hub_server.url, cache_dir=tmp_path)
    parquet = pq.ParquetFile(got)
    assert parquet.num_row_groups == 4 and b"huggingface" in parquet.schema_arrow.metadata
    assert hashlib.sha256(Path(got).read_bytes()).hexdigest() == digest


def test_tamper_and_listed_size_reach_a_dataset_not_the_model_of_the_same_id(hub_root, hub_server, tmp_path):
    ratings_repo(hub_root, "ds-same/id", rows=50)
    hub_server.hub.create_repo("ds-same/id")
    hub_server.hub.commit("ds-same/id", {"data/train-00000-of-00001.parquet": b"model bytes\0"}, "a model")
    path = "data/train-00000-of-00001.parquet"

    def download(repo_type: str, name: str) -> bytes:
        got = hf_hub_download(
            "ds-same/id", path, repo_type=repo_type, endpoint=hub_server.url, cache_dir=tmp_path / name
        )
        return Path(got).read_bytes()

    clean = download("dataset", "clean")
    table = pq.read_table(io.BytesIO(clean))
    assert table.to_pydict() == {k: v for k, v in ratings_data(50).items() if k in table.column_names}
    hub_server.tamper[("datasets/ds-same/id", path)] = clean[:-1] + bytes([clean[-1] ^ 1])
    hub_server.listed_size[("datasets/ds-same/id", path)] = 7
    try:
        assert download("dataset", "tampered") != clean
        assert download("model", "model") == b"model bytes\0"
        sizes = {
            f.path: f.size
            for f in HfApi(endpoint=hub_server.url).list_repo_tree("ds-same/id", "data", repo_type="dataset")
        }
        assert sizes[path] == 7
    finally:
        del hub_server.tamper[("datasets/ds-same/id", path)]
        del hub_server.listed_size[("datasets/ds-same/id", path)]


def test_load_dataset_yields_the_wav_bytes_and_transcripts_of_a_speech_repo(hub_root, hub_server, tmp_path):
    rng = np.random.default_rng(0)
    clips = [(rng.uniform(-0.5, 0.5, 800).astype(np.float32), 16000, f"clip {i}") for i in range(3)]
    speech_repo(hub_root, "ds-speech/tiny", clips)
    rows = load_reference(hub_server.url, "ds-speech/tiny", "main", "train", tmp_path)
    assert rows.features == {"audio": "Audio", "text": "Value"}
    assert [r["text"] for r in rows] == [text for *_, text in clips]
    assert [r["audio"] for r in rows] == [wav(samples, rate) for samples, rate, _ in clips]
    samples, rate = soundfile.read(io.BytesIO(rows[0]["audio"]), dtype="float32")
    assert rate == 16000 and np.allclose(samples, clips[0][0], atol=1 / 2**15)
