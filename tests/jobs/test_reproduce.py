"""`zoo reproduce`: a published run retrained from its card's command, bitwise on this machine; changed data refused
(an image edited in place at the same size included), the same bytes elsewhere accepted; a published metric edited
later caught; settings committed later retrain to other weights; a 2-rank DDP run reproduced with --nproc 2 and not
with --nproc 1; a repo's `download: true` never downloads."""

import csv
import json
import os
import re
import shlex
import shutil

import pytest
from zoo_fixtures import (
    ZOO,
    assert_clean_error,
    edit_in_place,
    free_port,
    stored_pngs,
    write_cifar10,
    write_image_folder,
)

from zoo.hub.local_git import LocalHub
from zoo.jobs.reproduce import _settings, compare

DIGITS = ["train", "cnn", "--dataset", "digits", "--epochs", "2", "--device", "cpu", "--quiet"]


@pytest.fixture(scope="module")
def published(tmp_path_factory, params_cache):
    """A digits cnn run published three times to a local hub: me/cnn-digits, and me/cnn-edited and me/cnn-retuned to
    be edited later."""
    import subprocess

    work = tmp_path_factory.mktemp("published")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZOO_", "HF_", "MLFLOW_"))}
    env.update(ZOO_CACHE_DIR=str(params_cache), HF_HOME=str(work / "hf"), COLUMNS="200", NO_COLOR="1")

    def zoo(*args):
        proc = subprocess.run([str(ZOO), *args], env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        return proc

    zoo(*DIGITS, "--out", str(work / "run"))
    revisions = {}
    for repo in ("me/cnn-digits", "me/cnn-edited", "me/cnn-retuned"):
        revisions[repo] = json.loads(
            zoo("publish", str(work / "run"), repo, "--hub", str(work / "hub"), "--json").stdout
        )["revision"]
    return work, revisions


def read_file(hub: LocalHub, repo_id: str, revision: str, path: str, tmp_path) -> bytes:
    [entry] = [e for e in hub.tree(repo_id, revision) if e.path == path]
    hub.read_blob(repo_id, entry.oid, tmp_path / "blob")
    return (tmp_path / "blob").read_bytes()


def reproduce(run_zoo, *args, cwd, sites=()):
    return run_zoo("reproduce", *args, "--quiet", cwd=cwd, sites=sites)


def test_the_cards_command_reproduces_the_digits_run_bitwise(run_zoo, published, tmp_path):
    work, revisions = published
    hub = LocalHub(work / "hub")
    revision = revisions["me/cnn-digits"]
    card = read_file(hub, "me/cnn-digits", revision, "README.md", tmp_path).decode()
    [command] = re.findall(r"## Reproduce\n.*?```bash\n(.*?)\n```", card, re.S)
    assert command == "zoo reproduce me/cnn-digits"
    assert "![Training loss and accuracy per epoch" in card
    png = read_file(hub, "me/cnn-digits", revision, "training_curves.png", tmp_path)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
    proc = reproduce(run_zoo, *shlex.split(command)[2:], "--hub", str(work / "hub"), "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert (result["verdict"], result["same_weights"], result["warnings"]) == ("bitwise", True, [])
    assert (result["repo_id"], result["revision"], result["tolerance"]) == ("me/cnn-digits", revision, 0.005)
    assert result["run_dir"] == f"runs/reproduce-cnn-digits-{revision[:8]}"
    metrics = json.loads((work / "run" / "metrics.json").read_text())
    checks = {m["name"]: m for m in result["metrics"]}
    assert set(checks) == set(metrics) - {"epoch"}
    for name, check in checks.items():
        assert check["published"] == check["reproduced"] == metrics[name] and check["delta"] == 0
        assert sorted(check["sources"]) == ["README.md", "config.json", "metrics.json"]
    assert json.loads((tmp_path / result["run_dir"] / "metrics.json").read_text()) == metrics


def test_a_metric_edited_in_a_later_commit_is_caught(run_zoo, published, tmp_path):
    work, revisions = published
    hub = LocalHub(work / "hub")
    metrics = json.loads(read_file(hub, "me/cnn-edited", revisions["me/cnn-edited"], "metrics.json", tmp_path))
    edited = {**metrics, "accuracy": round(metrics["accuracy"] + 0.001, 6)}  # within the tolerance, yet wrong
    hub.commit("me/cnn-edited", {"metrics.json": json.dumps(edited).encode()}, "Better accuracy")
    proc = reproduce(run_zoo, "me/cnn-edited", "--hub", str(work / "hub"), cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert "verdict     differs" in proc.stdout and "the published metrics are wrong" in proc.stdout
    row = next(line for line in proc.stdout.splitlines() if line.startswith("accuracy") and "metrics.json" in line)
    assert f"{edited['accuracy']:.6g}" in row and f"{metrics['accuracy']:.6g}" in row and "-0.001" in row
    as_json = reproduce(run_zoo, "me/cnn-edited", "--hub", str(work / "hub"), "--out", "again", "--json", cwd=tmp_path)
    assert as_json.returncode == 1
    result = json.loads(as_json.stdout)
    assert result["verdict"] == "differs" and result["same_weights"]
    wrong = [m for m in result["metrics"] if m["delta"] != 0]
    assert [(m["name"], m["sources"]) for m in wrong] == [("accuracy", ["metrics.json"])]
    # The revision published first still reproduces.
    first = f"me/cnn-edited@{revisions['me/cnn-edited']}"
    proc = reproduce(run_zoo, first, "--hub", str(work / "hub"), "--out", "first", "--json", cwd=tmp_path)
    assert proc.returncode == 0 and json.loads(proc.stdout)["verdict"] == "bitwise"


def test_settings_committed_later_retrain_to_other_weights_and_differ(run_zoo, published, tmp_path):
    """The repo's config.json now records another learning rate than the weights were trained with: retraining as
    it says gives other weights and other metrics."""
    work, revisions = published
    hub = LocalHub(work / "hub")
    config = json.loads(read_file(hub, "me/cnn-retuned", revisions["me/cnn-retuned"], "config.json", tmp_path))
    assert config["settings"]["lr"] != 0.001
    config["settings"]["lr"] = 0.001
    hub.commit("me/cnn-retuned", {"config.json": json.dumps(config).encode()}, "Another learning rate")
    proc = reproduce(run_zoo, "me/cnn-retuned", "--hub", str(work / "hub"), "--json", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    result = json.loads(proc.stdout)
    assert (result["verdict"], result["same_weights"]) == ("differs", False)
    retrained = json.loads((tmp_path / result["run_dir"] / "config.json").read_text())
    assert retrained["settings"]["lr"] == 0.001
    accuracy = next(m for m in result["metrics"] if m["name"] == "accuracy" and "metrics.json" in m["sources"])
    assert abs(accuracy["delta"]) > result["tolerance"]






def test_changed_data_is_refused_naming_both_fingerprints(run_zoo, tmp_path):
    data = stored_pngs(tmp_path / "flowers")
    args = ["--dataset", "imagefolder", "--data-dir", str(data), "--epochs", "1", "--device", "cpu", "--quiet"]
    assert run_zoo("train", "cnn", *args, "--out", str(tmp_path / "run")).returncode == 0
    hub = str(tmp_path / "hub")
    assert run_zoo("publish", str(tmp_path / "run"), "me/flowers", "--hub", hub).returncode == 0
    published = json.loads((tmp_path / "run" / "config.json").read_text())["dataset"]["fingerprint"]
    # The same bytes under another folder, touched since: the same data.
    copy = shutil.copytree(data, tmp_path / "elsewhere" / "copy")
    os.utime(copy / "red" / "0.png", ns=(1, 1))
    proc = reproduce(run_zoo, "me/flowers", "--hub", hub, "--data-dir", str(copy), "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["verdict"] == "bitwise"
    shutil.rmtree(tmp_path / "runs")
    # One image edited in place: the same size, the same mtime, other pixels.
    edit_in_place(copy / "blue" / "1.png")
    proc = reproduce(run_zoo, "me/flowers", "--hub", hub, "--data-dir", str(copy), cwd=tmp_path)
    assert_clean_error(proc, 2, "differs from the data the published run was trained on", published)
    assert not (tmp_path / "runs").exists()
    write_image_folder(tmp_path / "flowers", {"green": (30, 200, 30)}, per_class=2)  # the data grew a class
    proc = reproduce(run_zoo, "me/flowers", "--hub", hub, "--data-dir", str(data), cwd=tmp_path)
    message = assert_clean_error(proc, 2, "differs from the data the published run was trained on", published)
    local = re.search(r"local (sha256:[0-9a-f]{64})", message)
    assert local and local.group(1) != published
    assert not (tmp_path / "runs").exists()  # nothing half-made


def test_a_two_rank_ddp_run_reproduces_with_nproc_2(run_zoo, plugin_sites, tmp_path):
    site = [plugin_sites("zoo-tinyplug")]
    run = tmp_path / "ddp"
    train = ["train", "tiny_mlp", "--epochs", "2", "--nproc", "2", "--device", "cpu", "--quiet", "--logger", "csv"]
    assert run_zoo(*train, "--out", str(run), sites=site).returncode == 0
    with (run / "logs" / "epochs.csv").open() as fh:
        assert [r["epoch"] for r in csv.DictReader(fh)] == ["1", "2"]  # rank 0 alone logs
    hub = str(tmp_path / "hub")
    assert run_zoo("publish", str(run), "me/tiny-ddp", "--hub", hub, sites=site).returncode == 0
    proc = reproduce(run_zoo, "me/tiny-ddp", "--hub", hub, "--nproc", "2", "--json", cwd=tmp_path, sites=site)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert (result["verdict"], result["warnings"]) == ("bitwise", [])
    reproduced = json.loads((tmp_path / result["run_dir"] / "config.json").read_text())
    assert reproduced["distributed"]["world_size"] == 2
    one = reproduce(
        run_zoo, "me/tiny-ddp", "--hub", hub, "--nproc", "1", "--out", "one", "--json", cwd=tmp_path, sites=site
    )
    # One process takes a step per batch of 32 where the two ranks took one per 64 (DDP averages their gradients):
    # twice the steps, other weights, and a loss that moves far past the tolerance. Differs, exit 1.
    assert one.returncode == 1, one.stderr
    assert "--nproc 1 differs from the published run's 2 processes" in one.stderr
    result = json.loads(one.stdout)
    assert (result["verdict"], result["same_weights"]) == ("differs", False)
    loss = next(m for m in result["metrics"] if m["name"] == "loss" and "metrics.json" in m["sources"])
    assert abs(loss["delta"]) > 10 * result["tolerance"]


def test_a_repos_download_true_never_downloads(run_zoo, tmp_path):
    """A repo whose config.json records download: true retrains from the user's --data-dir; the dataset is not
    asked to download (through a proxy that answers nothing, a download attempt would fail the command)."""
    data = tmp_path / "cifar"
    write_cifar10(data)
    args = ["--dataset", "cifar10", "--data-dir", str(data), "--epochs", "1", "--device", "cpu", "--quiet"]
    assert run_zoo("train", "cnn", *args, "--out", str(tmp_path / "run")).returncode == 0
    hub = LocalHub(tmp_path / "hub")
    assert run_zoo("publish", str(tmp_path / "run"), "me/cifar", "--hub", str(tmp_path / "hub")).returncode == 0
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    config["settings"]["options"]["download"] = True
    hub.commit("me/cifar", {"config.json": json.dumps(config).encode()}, "Download the data")
    dead = f"http://127.0.0.1:{free_port()}"
    offline = {"http_proxy": dead, "https_proxy": dead, "HTTP_PROXY": dead, "HTTPS_PROXY": dead, "no_proxy": ""}
    work = tmp_path / "work"
    work.mkdir()
    base = ["reproduce", "me/cifar", "--hub", str(tmp_path / "hub"), "--quiet"]
    proc = run_zoo(*base, "--data-dir", str(data), "--json", cwd=work, env=offline)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["verdict"] == "bitwise"
    assert (
        json.loads((work / result["run_dir"] / "config.json").read_text())["settings"]["options"]["download"] is False
    )
    proc = run_zoo(*base, "--out", "again", cwd=work, env=offline)
    assert_clean_error(proc, 2, "cifar10 needs --data-dir")
    assert sorted(p.name for p in work.iterdir()) == ["runs"]  # nothing downloaded into the working folder


@pytest.mark.parametrize(
    ("options", "asked", "want"),
    [
        ({"download": True, "size": 32}, False, {"download": False, "size": 32}),
        ({"download": True}, True, {"download": True}),
        ({"size": 32}, False, {"size": 32}),  # a recipe without the option is not handed one
        ({"size": 32}, True, {"size": 32, "download": True}),
    ],
)
def test_only_the_user_asks_for_a_download(options, asked, want):
    config = {"settings": {"lr": 0.1, "device": "cuda", "options": options}}
    assert _settings(config, asked) == {"lr": 0.1, **want}


def test_what_cannot_be_reproduced_exits_2(run_zoo, tmp_path):
    hub = LocalHub(tmp_path / "hub")
    hub.create_repo("me/foreign")
    hub.commit("me/foreign", {"config.json": b'{"architectures": ["Other"]}', "model.safetensors": b"x"}, "add")
    assert_clean_error(reproduce(run_zoo, "me/foreign", "--hub", str(tmp_path / "hub"), cwd=tmp_path), 2, "me/foreign")
    assert_clean_error(reproduce(run_zoo, "me/x", "--tolerance", "-1", cwd=tmp_path), 2, "--tolerance")


PUBLISHED = {"accuracy": {"metrics.json": 0.9, "config.json": 0.9, "README.md": 0.9}, "loss": {"metrics.json": 0.3}}


@pytest.mark.parametrize(
    ("reproduced", "same_weights", "verdict"),
    [
        ({"accuracy": 0.9, "loss": 0.3}, True, "bitwise"),
        ({"accuracy": 0.9, "loss": 0.3}, False, "within-tolerance"),  # other weights, the same numbers
        ({"accuracy": 0.904, "loss": 0.297}, False, "within-tolerance"),
        ({"accuracy": 0.904, "loss": 0.3}, True, "differs"),  # the same weights cannot measure another value
        ({"accuracy": 0.91, "loss": 0.3}, False, "differs"),
        ({"accuracy": 0.9}, False, "differs"),  # a published metric the reproduction does not report
    ],
)
def test_verdicts(reproduced, same_weights, verdict):
    got, checks = compare(PUBLISHED, reproduced, same_weights, 0.005)
    assert got == verdict
    assert [(c.name, c.published, c.reproduced) for c in checks] == [
        ("accuracy", 0.9, reproduced.get("accuracy")),
        ("loss", 0.3, reproduced.get("loss")),
    ]


def test_files_that_disagree_are_each_checked():
    published = {"accuracy": {"metrics.json": 0.9, "config.json": 0.9, "README.md": 0.95}}
    verdict, checks = compare(published, {"accuracy": 0.9}, True, 0.005)
    assert verdict == "differs"
    assert [(c.published, c.sources, c.delta) for c in checks] == [
        (0.9, ["metrics.json", "config.json"], 0.0),
        (0.95, ["README.md"], pytest.approx(-0.05)),
    ]
