"""LFS files over HTTP, as the Hub serves them: publish through the LFS batch API, pull with sha256 verification,
and storage that serves other bytes or sizes than the listing says (tests/hubserver.py copies the Hub's LFS)."""

import hashlib
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from huggingface_hub import HfApi
from zoo_fixtures import assert_clean_error

import zoo
from zoo.hub import pull as zhub
from zoo.hub.integrity import VerificationError, VerifiedRecords
from zoo.hub.remote import hf_cache_folder

pytestmark = pytest.mark.usefixtures("token")


@pytest.fixture
def token(hub_server, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", hub_server.token)
    return hub_server.token


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def git_blob_id(content: bytes) -> str:
    """git's id of a blob, written out here rather than taken from the test server."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


def test_publish_goes_through_lfs_and_pull_verifies_the_sha256(hub_server, olah, make_run):
    run, _ = make_run("cnn", seed=40)
    start, stored = len(hub_server.requests), len(hub_server.storage_requests)
    published = zoo.publish(run, "lfs/cnn", hub=hub_server.url)
    requests = hub_server.requests[start:]
    assert "POST /lfs/cnn.git/info/lfs/objects/batch" in requests
    assert "POST /lfs/cnn.git/info/lfs/objects/verify" in requests
    weights_sha = sha256(run / "model.safetensors")
    # The bytes went to the storage origin, not inline in the commit, and the Hub's token did not go with them.
    assert (f"PUT /upload/{weights_sha}", None) in hub_server.storage_requests[stored:]

    listing = {f.path: f for f in HfApi(endpoint=hub_server.url).list_repo_tree("lfs/cnn", revision=published.revision)}
    weights, config = listing["model.safetensors"], listing["config.json"]
    assert weights.lfs is not None and weights.lfs.sha256 == weights_sha
    assert weights.lfs.size == weights.size == (run / "model.safetensors").stat().st_size
    # As on the Hub, an LFS file's git id is that of its pointer file, not of its bytes.
    pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{weights_sha}\nsize {weights.size}\n".encode()
    assert weights.blob_id == git_blob_id(pointer) != git_blob_id((run / "model.safetensors").read_bytes())
    assert config.lfs is None  # small text files stay regular

    pulled = zhub.download("lfs/cnn", hub=hub_server.url)
    by_path = {f.path: f for f in pulled.files}
    assert by_path["model.safetensors"].sha256 == weights_sha
    records = VerifiedRecords()
    assert records.expected(pulled.path / "model.safetensors") == f"sha256:{weights_sha}"
    assert records.expected(pulled.path / "config.json").startswith("git-sha1:")
    downloads = [auth for r, auth in hub_server.storage_requests if r == f"GET /objects/{weights_sha}"]
    assert downloads == [None], "the weights came once from the storage origin after the Hub's redirect, tokenless"

    # huggingface_hub's own verification agrees, and olah serves the same commit from the git repository.
    verification = HfApi(endpoint=hub_server.url).verify_repo_checksums(
        "lfs/cnn", revision=published.revision, local_dir=pulled.path
    )
    assert not verification.mismatches and not verification.missing_paths
    assert sha256(zhub.download(f"lfs/cnn@{published.revision}", hub=olah).path / "model.safetensors") == weights_sha


def test_tampered_lfs_object_is_caught_and_removed(hub_server, make_run):
    run, _ = make_run("cnn", seed=41)
    zoo.publish(run, "lfs/tampered", hub=hub_server.url)
    content = bytearray((run / "model.safetensors").read_bytes())
    content[-1] ^= 0xFF
    hub_server.tamper[("lfs/tampered", "model.safetensors")] = bytes(content)
    with pytest.raises(
        VerificationError, match=r"model.safetensors failed verification: expected sha256:\w{64}, got sha256:\w{64}"
    ):
        zhub.download("lfs/tampered", hub=hub_server.url)
    cache = hf_cache_folder("lfs/tampered")
    assert not list(cache.glob("snapshots/*/model.safetensors"))
    assert not any(b.read_bytes() == bytes(content) for b in cache.glob("blobs/*"))
    del hub_server.tamper[("lfs/tampered", "model.safetensors")]
    assert sha256(zhub.download("lfs/tampered", hub=hub_server.url).path / "model.safetensors") == sha256(
        run / "model.safetensors"
    )


def test_listing_whose_size_disagrees_with_the_file(hub_server, make_run):
    """The tree says one size, the pointer and the storage another: the size check catches it before hashing."""
    run, _ = make_run("cnn", seed=42)
    zoo.publish(run, "lfs/listed", hub=hub_server.url)
    real = (run / "model.safetensors").stat().st_size
    hub_server.listed_size[("lfs/listed", "model.safetensors")] = real + 7
    try:
        with pytest.raises(VerificationError, match=rf"the Hub lists {real + 7} bytes, {real} arrived"):
            zhub.download("lfs/listed", hub=hub_server.url)
        assert not list(hf_cache_folder("lfs/listed").glob("snapshots/*/model.safetensors"))
    finally:
        del hub_server.listed_size[("lfs/listed", "model.safetensors")]


def test_lfs_pointer_whose_size_disagrees_with_the_tree(hub_server, make_run):
    """The pointer (X-Linked-Size) promises more bytes than the storage has: nothing half-downloaded stays."""
    run, _ = make_run("cnn", seed=43)
    zoo.publish(run, "lfs/pointer", hub=hub_server.url)
    real = (run / "model.safetensors").stat().st_size
    hub_server.pointer_size[("lfs/pointer", "model.safetensors")] = real + 100
    try:
        with pytest.raises(VerificationError, match=rf"model.safetensors failed verification: .*{real + 100}"):
            zhub.download("lfs/pointer", hub=hub_server.url)
        cache = hf_cache_folder("lfs/pointer")
        assert not list(cache.glob("snapshots/*/model.safetensors"))
        assert not list(cache.glob("blobs/*.incomplete"))
    finally:
        del hub_server.pointer_size[("lfs/pointer", "model.safetensors")]
    assert zhub.download("lfs/pointer", hub=hub_server.url).files


def test_resolve_redirects_to_storage_that_honours_range(hub_server, make_run):
    """The server answers as the Hub does, so the tests above exercise the client's real LFS path."""
    run, _ = make_run("cnn", seed=44)
    published = zoo.publish(run, "lfs/range", hub=hub_server.url)
    data = (run / "model.safetensors").read_bytes()

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *_args, **_kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    url = f"{hub_server.url}/lfs/range/resolve/{published.revision}/model.safetensors"
    with pytest.raises(urllib.error.HTTPError) as redirect:
        opener.open(urllib.request.Request(url, method="HEAD"))
    headers = redirect.value.headers
    assert redirect.value.code == 302 and "ETag" not in headers
    assert headers["X-Linked-Etag"] == f'"{hashlib.sha256(data).hexdigest()}"'
    assert headers["X-Linked-Size"] == str(len(data)) and headers["X-Repo-Commit"] == published.revision
    storage = headers["Location"]
    assert storage.startswith(hub_server.storage_url) and hub_server.storage_url != hub_server.url
    with urllib.request.urlopen(urllib.request.Request(storage, headers={"Range": "bytes=10-19"})) as part:
        assert part.status == 206 and part.read() == data[10:20]
    with pytest.raises(urllib.error.HTTPError) as beyond:
        urllib.request.urlopen(urllib.request.Request(storage, headers={"Range": f"bytes={len(data)}-"}))
    assert beyond.value.code == 416
    raw = f"{hub_server.url}/lfs/range/raw/{published.revision}/model.safetensors"
    with urllib.request.urlopen(raw) as pointer:
        assert pointer.read().decode() == (
            f"version https://git-lfs.github.com/spec/v1\noid sha256:{hashlib.sha256(data).hexdigest()}\n"
            f"size {len(data)}\n"
        )


def test_large_lfs_files_are_hashed_while_they_download(hub_server, monkeypatch, tmp_path):
    """A 20 MB file is verified from the digest taken as it arrived: no second read of it, and still verified."""
    import json

    from zoo.hub import integrity

    big = tmp_path / "model.safetensors"
    big.write_bytes(bytes(range(256)) * (20 * 4096))
    config = json.dumps({"zoo_version": "0.1.0", "model": "cnn", "model_args": {}}).encode()
    hub_server.hub.create_repo("lfs/big")
    hub_server.hub.commit("lfs/big", {"model.safetensors": big, "config.json": config}, "big")
    read_again = []
    real = integrity.hash_file
    monkeypatch.setattr(integrity, "hash_file", lambda path, **kw: read_again.append(path.name) or real(path, **kw))
    pulled = zhub.download("lfs/big", hub=hub_server.url)
    assert read_again == ["config.json"]  # only the small file was hashed after the download
    assert {f.path: f.sha256 for f in pulled.files}["model.safetensors"] == sha256(big)
    assert VerifiedRecords().expected(pulled.path / "model.safetensors") == f"sha256:{sha256(big)}"


def test_a_tampered_large_file_is_refused_where_it_is_hashed_while_it_downloads(hub_server, run_zoo, zoo_env, tmp_path):
    """The bytes of a file large enough to be hashed as they arrive (remote.FOLLOW_MIN_SIZE) are checked all the
    same: one line, and neither the file nor a partial download stays in the cache."""
    import json

    from zoo.hub.remote import FOLLOW_MIN_SIZE

    big = tmp_path / "model.safetensors"
    big.write_bytes(bytes(range(256)) * (20 * 4096))
    assert big.stat().st_size >= FOLLOW_MIN_SIZE
    config = json.dumps({"zoo_version": "0.1.0", "model": "cnn", "model_args": {}}).encode()
    hub_server.hub.create_repo("lfs/big-tampered")
    hub_server.hub.commit("lfs/big-tampered", {"model.safetensors": big, "config.json": config}, "big")
    tampered = bytearray(big.read_bytes())
    tampered[len(tampered) // 2] ^= 0xFF  # the same size: only the digest tells
    hub_server.tamper[("lfs/big-tampered", "model.safetensors")] = bytes(tampered)
    try:
        proc = run_zoo("pull", "lfs/big-tampered", "--hub", hub_server.url)
    finally:
        del hub_server.tamper[("lfs/big-tampered", "model.safetensors")]
    expected, got = sha256(big), hashlib.sha256(tampered).hexdigest()
    assert_clean_error(proc, 1, f"model.safetensors failed verification: expected sha256:{expected}, got sha256:{got}")
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    cache = Path(zoo_env["HF_HOME"]) / "hub" / "models--lfs--big-tampered"
    assert (cache / "blobs").is_dir()  # the download went there ...
    assert not list(cache.glob("snapshots/*/model.safetensors"))  # ... and nothing of it stayed
    assert [b for b in (cache / "blobs").iterdir() if b.stat().st_size >= FOLLOW_MIN_SIZE] == []
