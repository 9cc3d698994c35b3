"""`zoo publish --export onnx,pt2` over HTTP to the test Hub server: the exported files travel through LFS with the
weights, config.json and the card carry their parity figures, the catalog entry pins them, `zoo pull` verifies them
(a tampered one is refused), `zoo predict --runtime onnx` runs the pulled file, and nothing in them is a pickle."""

import hashlib
import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pytest
from huggingface_hub import HfApi
from PIL import Image
from zoo_fixtures import ZOO, assert_clean_error, start_server, stop

import zoo
from zoo.core.errors import UsageError, ZooError
from zoo.hub import pull as zhub
from zoo.hub.integrity import VerifiedRecords
from zoo.jobs import artifacts
from zoo.jobs.publishing import publish
from zoo.store.layout import EXPORTS
from zoo.store.run_folder import check_run_config
from zoo.store.weights import PICKLE_SUFFIXES

REPO = "exports/cnn-digits"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """The module's one run: a cnn trained for an epoch on digits (weights at a trained model's scale)."""
    folder = tmp_path_factory.mktemp("exports") / "run"
    zoo.train("cnn", dataset="digits", epochs=1, out=str(folder), quiet=True, device="cpu", seed=0)
    return folder


@pytest.fixture(scope="module")
def published(trained, hub_server):
    """The run published once with --export onnx,pt2 (the Python API `zoo publish` calls)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_TOKEN", hub_server.token)
        return publish(trained, REPO, hub=hub_server.url, export="onnx,pt2")


def test_the_commit_holds_the_exports_through_lfs_with_their_figures(published, trained, hub_server):
    shown = published.to_json()
    files = {f["path"]: f["sha256"] for f in shown["files"]}
    listing = {f.path: f for f in HfApi(endpoint=hub_server.url).list_repo_tree(REPO, revision=published.revision)}
    for fmt, name in EXPORTS.items():
        digest = sha256(trained / name)  # the export was written into the run folder, then published
        assert files[name] == digest
        assert listing[name].lfs is not None and listing[name].lfs.sha256 == digest  # LFS, like the weights
        described = shown["exports"][fmt]
        assert (described["path"], described["sha256"], described["size"]) == (name, digest, listing[name].size)
        parity = described["parity"]
        assert parity["passed"] is True and parity["batch_sizes"] == [1, 7] and parity["samples"] == 8
        assert parity["max_abs"] <= parity["atol"] + parity["rtol"] * parity["max_eager"]
        assert parity["agreement"] == {"name": "top-1", "value": 1.0}
        assert f'"{name}" = "sha256:{digest}"' in published.catalog_entry  # pinned: a catalog pull verifies it
    assert listing["model.safetensors"].lfs is not None


def test_pull_verifies_the_exports_and_predict_runs_the_pulled_onnx(published, run_zoo, hub_server, tmp_path):
    pulled = zhub.download(REPO, hub=hub_server.url)
    records = VerifiedRecords()
    for fmt, name in EXPORTS.items():
        digest = published.exports[fmt]["sha256"]
        assert {f.path: f.sha256 for f in pulled.files}[name] == digest == sha256(pulled.path / name)
        assert records.expected(pulled.path / name) == f"sha256:{digest}"  # checked against the Hub's LFS sha256
    config = json.loads((pulled.path / "config.json").read_text())
    assert config["exports"] == published.exports
    check_run_config(config, "config.json")  # the published schema takes it
    card = (pulled.path / "README.md").read_text()
    onnx = published.exports["onnx"]["parity"]
    assert "## Exports" in card and f"| `model.onnx` | onnx | {onnx['max_abs']:.3g} | {onnx['max_rel']:.3g} |" in card

    # No pickle anywhere: no pickle file in the repo, no pickled sample inputs or tensors in the .pt2 archive.
    assert not [f.path for f in pulled.files if f.path.endswith(PICKLE_SUFFIXES)]
    data = (pulled.path / "model.pt2").read_bytes()
    archive = zipfile.ZipFile(pulled.path / "model.pt2")
    assert all(i.file_size == 0 for i in archive.infolist() if "/sample_inputs/" in i.filename)
    weights = [n for n in archive.namelist() if n.endswith(("weights_config.json", "constants_config.json"))]
    assert weights and all(
        e["use_pickle"] is False for n in weights for e in json.loads(archive.read(n))["config"].values()
    )
    artifacts.check_pt2(data, "model.pt2")

    image = tmp_path / "digit.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (8, 8, 3), dtype=np.uint8)).save(image)
    proc = run_zoo("predict", REPO, str(image), "--runtime", "onnx", "--hub", hub_server.url, "--json")
    assert proc.returncode == 0, proc.stderr
    ran = json.loads(proc.stdout)[0]["output"]
    eager = zoo.predict(REPO, [str(image)], hub=hub_server.url, device="cpu")[0]["output"]
    assert [r["label"] for r in ran] == [e["label"] for e in eager]
    assert np.allclose([r["score"] for r in ran], [e["score"] for e in eager], atol=1e-4)


def test_a_tampered_export_on_the_hub_fails_the_pull(published, trained, run_zoo, zoo_env, hub_server, tmp_path):
    """The Hub serves other bytes for model.onnx: a pull by repo id (the Hub's LFS sha256) and by catalog name
    (the entry's pin) each fail with one line naming the file, and the file stays out of the snapshot."""
    onnx = published.exports["onnx"]
    content = bytearray((trained / "model.onnx").read_bytes())
    content[len(content) // 2] ^= 0xFF
    registry = tmp_path / "registry.toml"
    registry.write_text(published.catalog_entry)
    hub_server.tamper[(REPO, "model.onnx")] = bytes(content)
    try:
        by_repo = run_zoo("pull", REPO, "--hub", hub_server.url)
        by_name = run_zoo("pull", published.entry_name, "--hub", hub_server.url, env={"ZOO_REGISTRY": str(registry)})
    finally:
        del hub_server.tamper[(REPO, "model.onnx")]
    refused = f"model.onnx failed verification: expected sha256:{onnx['sha256']}, got sha256:"
    for proc in (by_repo, by_name):
        assert_clean_error(proc, 1, refused + hashlib.sha256(content).hexdigest())
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    cache = Path(zoo_env["HF_HOME"]) / "hub" / "models--exports--cnn-digits"
    assert (cache / "snapshots").is_dir() and not list(cache.glob("snapshots/*/model.onnx"))
    assert not [b for b in (cache / "blobs").iterdir() if b.read_bytes() == bytes(content)]


def test_a_failing_gate_or_an_unknown_format_uploads_nothing(trained, run_zoo, hub_server, monkeypatch, tmp_path):
    proc = run_zoo("publish", str(trained), "exports/unknown", "--export", "onnx,tflite", "--hub", hub_server.url)
    assert_clean_error(proc, 2, "--export takes a comma list of onnx, pt2", "'onnx,tflite'")
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    with pytest.raises(UsageError, match="--export takes a comma list"):
        publish(trained, "exports/unknown", hub=hub_server.url, export=[])
    assert not hub_server.hub.exists("exports/unknown")

    run = tmp_path / "run"  # the run without its exports, to see that a failing gate writes none
    shutil.copytree(trained, run, ignore=shutil.ignore_patterns(*EXPORTS.values(), "published.json"))
    load = artifacts.load

    def drifting(data: bytes, fmt: str, where: str) -> artifacts.Runtime:
        """The .pt2 read back computes 0.5 more than the model: a broken export the gate must refuse."""
        runtime = load(data, fmt, where)
        if fmt == "pt2":
            ran = runtime._run
            runtime._run = lambda *tensors: [t + 0.5 for t in ran(*tensors)]
        return runtime

    monkeypatch.setenv("HF_TOKEN", hub_server.token)
    monkeypatch.setattr(artifacts, "load", drifting)
    with pytest.raises(ZooError, match="the pt2 export of cnn fails the parity gate") as failed:
        publish(run, "exports/drift", hub=hub_server.url, export="onnx,pt2")
    assert not isinstance(failed.value, UsageError) and len(str(failed.value).splitlines()) == 1  # exit 1
    assert not hub_server.hub.exists("exports/drift")
    assert not [n for n in EXPORTS.values() if (run / n).exists()]  # not even the onnx export, which passed

    dry = publish(run, "exports/dry", hub=hub_server.url, export="onnx", dry_run=True)
    assert dry.revision is None and not hub_server.hub.exists("exports/dry")
    assert {f.path: f.sha256 for f in dry.files}["model.onnx"] == dry.exports["onnx"]["sha256"]
    assert "model.pt2" not in {f.path for f in dry.files}


def test_zoo_serve_of_a_published_repo_names_its_commit_and_answers_as_predict(
    published, zoo_env, hub_server, tmp_path
):
    """`zoo serve ORG/NAME` pulls the repo as `zoo pull` does (every file verified) and serves it: /info names the
    repo, the commit and each file's sha256, and POST /predict answers as `zoo predict --json` does."""
    import httpx

    image = tmp_path / "digit.png"
    Image.fromarray(np.random.default_rng(1).integers(0, 255, (8, 8, 3), dtype=np.uint8)).save(image)
    proc, url = start_server([REPO, "--hub", hub_server.url, "--device", "cpu"], tmp_path, zoo_env)
    try:
        info = httpx.get(f"{url}/info", timeout=30).json()
        answer = httpx.post(f"{url}/predict", files={"file": (image.name, image.read_bytes())}, timeout=60)
    finally:
        _, err = stop(proc)
    assert "Traceback" not in err, err
    assert (info["repo_id"], info["revision"], info["task"]) == (REPO, published.revision, "image-classification")
    served = {f["path"]: f["sha256"] for f in info["files"]}
    assert served["model.safetensors"] == {f.path: f.sha256 for f in published.files}["model.safetensors"]
    assert info["metrics"] == json.loads((zhub.download(REPO, hub=hub_server.url).path / "metrics.json").read_text())
    predicted = subprocess.run(
        [str(ZOO), "predict", REPO, image.name, "--hub", hub_server.url, "--json", "--device", "cpu"],
        env=zoo_env, capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert predicted.returncode == 0, predicted.stderr
    assert answer.status_code == 200 and answer.json() == json.loads(predicted.stdout), answer.text
