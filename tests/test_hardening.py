"""Regression tests, through the real CLI in a subprocess, for each broken or hostile input that once reached
"unexpected" or did the wrong thing quietly."""

from __future__ import annotations

import json
import os
import pickle
import stat
import subprocess
from pathlib import Path

import numpy as np
import pytest
from zoo_fixtures import assert_clean_error, write_image_folder
from zoo_images.samples import write_cifar10

TINY = ["train", "tiny_mlp", "--quiet"]


@pytest.fixture
def site(plugin_sites):
    return [plugin_sites("zoo-tinyplug")]


FOLDER = None  # in a parametrized damage: a folder where the file should be


def damage(path: Path, content: str | bytes | None) -> None:
    """Put `content` at `path`, or a folder (FOLDER)."""
    if content is FOLDER:
        path.mkdir()
    else:
        path.write_bytes(content if isinstance(content, bytes) else content.encode())


def git_branches(repo: Path) -> list[str]:
    out = subprocess.run(["git", "--git-dir", str(repo), "branch", "--format=%(refname:short)"], capture_output=True)
    return out.stdout.decode().split()


# Settings and schedules ----------------------------------------------------------------------------------------


def test_image_size_zero_is_refused_before_any_work(run_zoo, tmp_path):
    write_cifar10(tmp_path / "cifar", per_batch=4)
    out = tmp_path / "never"
    args = ["--dataset", "cifar10", "--data-dir", str(tmp_path / "cifar"), "--out", str(out)]
    assert_clean_error(run_zoo("train", "cnn", *args, "--set", "size=0"), 2, "size must be an integer in [32, 32]")
    proc = run_zoo("train", "resnet18", *args, "--set", "size=0", "--set", "pretrained=false")
    assert_clean_error(proc, 2, "size must be an integer in [16, 1024], got 0")
    assert not out.exists()


def test_cnn_on_200_cifar_images_with_two_processes(run_zoo, tmp_path):
    """4 optimizer steps per rank: OneCycleLR's warm-up of exactly one step divided by zero."""
    write_cifar10(tmp_path / "cifar", per_batch=40)  # 5 x 40 = 200 training images, 40 test images
    out = tmp_path / "run"
    proc = run_zoo(
        "train", "cnn", "--dataset", "cifar10", "--data-dir", str(tmp_path / "cifar"), "--nproc", "2",
        "--epochs", "1", "--batch-size", "32", "--device", "cpu", "--out", str(out), "--json", "--quiet",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    history = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert history[0]["steps"] == 4 and 0 <= json.loads(proc.stdout)["metrics"]["accuracy"] <= 1


# Resume --------------------------------------------------------------------------------------------------------


def test_resume_with_more_epochs_of_a_schedule_is_refused_up_front(run_zoo, site, tmp_path):
    out = tmp_path / "run"
    first = run_zoo(*TINY, "--epochs", "1", "--set", "scheduler=onecycle", "--out", str(out), sites=site)
    assert first.returncode == 0, first.stderr
    before = (out / "train.log").read_text()
    proc = run_zoo(*TINY, "--epochs", "3", "--set", "scheduler=onecycle", "--out", str(out), "--resume", sites=site)
    assert_clean_error(proc, 2, "schedule was planned for 1 epochs", "--epochs 1")
    assert (out / "train.log").read_text() == before  # refused before any work: nothing logged


def test_resume_with_more_epochs_without_a_schedule_trains_on(run_zoo, site, tmp_path):
    out = tmp_path / "run"
    assert run_zoo(*TINY, "--epochs", "1", "--out", str(out), sites=site).returncode == 0
    proc = run_zoo(*TINY, "--epochs", "2", "--out", str(out), "--resume", "--json", sites=site)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["epochs"] == 2


def test_resume_of_another_model_recipe_or_data_is_refused(run_zoo, site, tmp_path):
    first, second = (
        write_cifar10(tmp_path / "a", per_batch=4, seed=0),
        write_cifar10(tmp_path / "b", per_batch=4, seed=1),
    )
    out = tmp_path / "run"
    cnn = ["train", "cnn", "--dataset", "cifar10", "--epochs", "1", "--quiet", "--out", str(out)]
    assert run_zoo(*cnn, "--data-dir", str(first.parent)).returncode == 0
    proc = run_zoo(*cnn, "--data-dir", str(second.parent), "--resume")
    assert_clean_error(proc, 2, "the data differs from what", "same --data-dir")
    proc = run_zoo("train", "cnn", "--dataset", "digits", "--epochs", "1", "--out", str(out), "--resume")
    assert_clean_error(proc, 2, "holds a run of another job", "dataset 'cifar10' -> 'digits'")
    proc = run_zoo(*TINY, "--epochs", "1", "--out", str(out), "--resume", sites=site)
    assert_clean_error(proc, 2, "holds a run of another job", "model 'cnn' -> 'tiny_mlp'")


def test_resume_from_a_file_that_is_not_a_zoo_checkpoint(run_zoo, site, tmp_path):
    import torch

    out = tmp_path / "run"
    (out / "checkpoints").mkdir(parents=True)
    torch.save({"weights": torch.zeros(3)}, out / "checkpoints" / "last.pt")
    assert_clean_error(run_zoo(*TINY, "--out", str(out), "--resume", sites=site), 2, "is not a zoo checkpoint")
    (out / "checkpoints" / "last.pt").write_bytes(b"garbage")
    assert_clean_error(run_zoo(*TINY, "--out", str(out), "--resume", sites=site), 2, "not a readable zoo checkpoint")


# Output folders ------------------------------------------------------------------------------------------------


def test_out_that_holds_the_users_files_is_refused_untouched(run_zoo, site, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "config.json").write_text('{"my": "settings"}')
    (mine / "metrics.json").write_text('{"my": 1}')
    assert_clean_error(run_zoo(*TINY, "--out", str(mine), sites=site), 2, "is not a zoo run folder", "config.json")
    assert (mine / "config.json").read_text() == '{"my": "settings"}' and sorted(os.listdir(mine)) == [
        "config.json",
        "metrics.json",
    ]
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "notes.txt").write_text("keep")
    assert_clean_error(run_zoo(*TINY, "--out", str(notes), sites=site), 2, "holds notes.txt")
    a_file = tmp_path / "file"
    a_file.write_text("x")
    assert_clean_error(run_zoo(*TINY, "--out", str(a_file), sites=site), 2, "is a file")


def test_a_failed_run_leaves_no_folder_or_empty_log(run_zoo, tmp_path):
    write_cifar10(tmp_path / "cifar", per_batch=4)
    (tmp_path / "cifar" / "cifar-10-batches-py" / "test_batch").write_bytes(b"\x80\x02garbage")
    out = tmp_path / "failed"
    proc = run_zoo("train", "cnn", "--dataset", "cifar10", "--data-dir", str(tmp_path / "cifar"), "--out", str(out))
    assert_clean_error(proc, 1, "test_batch is corrupt or truncated")
    assert not out.exists()


def test_run_files_keep_normal_permissions(run_zoo, site, tmp_path):
    out = tmp_path / "run"
    assert run_zoo(*TINY, "--epochs", "1", "--out", str(out), sites=site).returncode == 0
    for name in ("model.safetensors", "config.json", "metrics.json", "metrics.jsonl", "checkpoints/last.pt"):
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o666 & ~current_umask(), name


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# Publish -------------------------------------------------------------------------------------------------------


@pytest.fixture
def cnn_run(make_run):
    return make_run("cnn", dataset="cifar10")[0]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("registry.toml", "[weights\n", "invalid TOML"),
        ("registry.toml", 'title = "mine"\n', "unknown top-level key"),
        ("registry.toml", FOLDER, "is a folder, not a catalog file"),
        ("missing/registry.toml", "", "does not exist"),
        ("registry.toml", b"\xff\xfe\x00bad", "cannot read the catalog"),
    ],
)
def test_publish_register_is_checked_before_the_commit(run_zoo, cnn_run, tmp_path, name, content, message):
    hub = tmp_path / "hub"
    path = tmp_path / name
    if path.parent.is_dir():
        damage(path, content)
    proc = run_zoo("publish", str(cnn_run), "me/cnn", "--hub", str(hub), "--register", str(path))
    assert_clean_error(proc, 2, message)
    assert not (hub / "models" / "me" / "cnn").exists()  # nothing landed


def test_publish_refuses_option_like_and_malformed_branches(run_zoo, cnn_run, tmp_path):
    hub = tmp_path / "hub"
    assert run_zoo("publish", str(cnn_run), "me/cnn", "--hub", str(hub)).returncode == 0
    for branch in ("-d", "--revision=-d", "a..b", "x.lock", "bad\nname", "sp ace"):
        proc = run_zoo("publish", str(cnn_run), "me/cnn", "--hub", str(hub), "--revision", branch)
        assert_clean_error(proc, 2, "is not a valid branch name")
    proc = run_zoo("publish", str(cnn_run), "me/cnn", "--hub", str(hub), "--revision=-d")
    assert_clean_error(proc, 2, "is not a valid branch name")
    assert git_branches(hub / "models" / "me" / "cnn") == ["main"]


def test_register_keeps_the_catalogs_permission_bits(run_zoo, cnn_run, tmp_path):
    path = tmp_path / "registry.toml"
    path.write_text("# my catalog\n")
    path.chmod(0o640)
    proc = run_zoo("publish", str(cnn_run), "me/cnn", "--hub", str(tmp_path / "hub"), "--register", str(path))
    assert proc.returncode == 0, proc.stderr
    assert stat.S_IMODE(path.stat().st_mode) == 0o640 and "# my catalog" in path.read_text()
    assert '[weights."cnn.cifar10"]' in path.read_text()


def test_a_commit_that_loses_the_race_says_retry(run_zoo, cnn_run, tmp_path):
    hub = tmp_path / "hub"
    assert run_zoo("publish", str(cnn_run), "me/cnn", "--hub", str(hub)).returncode == 0
    repo = hub / "models" / "me" / "cnn"
    head = subprocess.run(["git", "--git-dir", str(repo), "rev-parse", "main"], capture_output=True).stdout
    (repo / "refs" / "heads" / "main.lock").write_text("another publish holds the branch\n")  # as git leaves it
    proc = run_zoo("publish", str(cnn_run), "me/cnn", "--hub", str(hub), "--name", "cnn.again")
    assert_clean_error(proc, 1, "changed while zoo was committing", "retry")
    assert subprocess.run(["git", "--git-dir", str(repo), "rev-parse", "main"], capture_output=True).stdout == head


def test_two_concurrent_publishes_one_lands_or_both_do(run_zoo, cnn_run, tmp_path, zoo_env):
    from zoo_fixtures import ZOO

    hub = tmp_path / "hub"
    assert run_zoo("publish", str(cnn_run), "me/cnn", "--hub", str(hub)).returncode == 0
    procs = [
        subprocess.Popen(
            [str(ZOO), "publish", str(cnn_run), "me/cnn", "--hub", str(hub), "--name", f"cnn.v{i}"],
            env=zoo_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(4)
    ]
    results = [(p.wait(timeout=120), p.stderr.read()) for p in procs]
    for code, stderr in results:
        assert code == 0 or (code == 1 and "retry" in stderr), stderr
        assert "Traceback" not in stderr and "lock" not in stderr


# Names ---------------------------------------------------------------------------------------------------------


def test_names_with_a_trailing_newline_are_refused(run_zoo, cnn_run, tmp_path):
    hub = tmp_path / "hub"
    proc = run_zoo("publish", str(cnn_run), "me/cnn\n", "--hub", str(hub))
    assert_clean_error(proc, 2, "'me/cnn\\n' is not a Hub repo id")
    assert not hub.exists()
    assert_clean_error(run_zoo("pull", "me/cnn\n", "--hub", str(hub)), 2, "is not a Hub repo id")
    assert_clean_error(run_zoo("plugin", "new", "foo\n", "--dir", str(tmp_path)), 2)
    assert sorted(p.name for p in tmp_path.iterdir()) == [cnn_run.name]  # no zoo-foo\n folder
    assert_clean_error(run_zoo("plugins", "install", "zoo-foo\n"), 2, "is not a distribution name")
    catalog = tmp_path / "extra.toml"
    catalog.write_text('[weights."cnn.x\\n"]\nmodel = "cnn"\nsource = "me/x"\nrevision = "main"\n')
    assert_clean_error(run_zoo("list", env={"ZOO_REGISTRY": str(catalog)}), 2, "the name must be 'arch.tag'")


def test_control_characters_never_reach_the_terminal(run_zoo, tmp_path):
    catalog = tmp_path / "extra.toml"
    catalog.write_text(
        '[weights."cnn.evil"]\nmodel = "cnn"\nsource = "me/x"\nrevision = "main"\n'
        'license = "mit\\r"\n[weights."cnn.evil".metrics]\n"\\u001b[2J\\u001b]0;owned\\u0007acc" = 1.0\n'
    )
    proc = run_zoo("info", "cnn", env={"ZOO_REGISTRY": str(catalog)})
    assert proc.returncode == 0, proc.stderr
    assert "\x1b" not in proc.stdout and "\x07" not in proc.stdout and "\r" not in proc.stdout
    assert "\\x1b[2J" in proc.stdout
    proc = run_zoo("info", "cnn\x1b[31m")
    assert_clean_error(proc, 2, "unknown model 'cnn\\x1b[31m'")
    assert "\x1b" not in proc.stderr


def test_repository_files_named_with_control_characters_are_refused_before_download(run_zoo, tmp_path):
    from zoo.hub.local_git import LocalHub

    hub = LocalHub(tmp_path / "hub")
    repo = hub.create_repo("me/evil")
    config = {"zoo_version": "0.1.0", "model": "cnn", "model_args": {}}
    git = {**os.environ, "GIT_DIR": str(repo), "GIT_INDEX_FILE": str(tmp_path / "index")}

    def run(*args: str, data: bytes | None = None) -> str:
        return subprocess.run(["git", *args], input=data, env=git, capture_output=True, check=True).stdout.decode()

    blobs = {p: run("hash-object", "-w", "--stdin", data=d) for p, d in
             {"config.json": json.dumps(config).encode(), "notes\x1b[2J.txt": b"x"}.items()}  # fmt: skip
    run(
        "update-index",
        "--add",
        "--index-info",
        data="".join(f"100644 {o.strip()}\t{p}\n" for p, o in blobs.items()).encode(),
    )
    tree = run("write-tree").strip()
    commit = run("-c", "user.name=x", "-c", "user.email=x@x", "commit-tree", tree, "-m", "evil").strip()
    run("update-ref", "refs/heads/main", commit)
    proc = run_zoo("pull", "me/evil", "--hub", str(tmp_path / "hub"))
    assert_clean_error(proc, 1, "control characters", "notes\\x1b[2J.txt")
    assert "\x1b" not in proc.stderr


# Bombs ---------------------------------------------------------------------------------------------------------


def test_a_cifar_pickle_bomb_is_refused_before_any_allocation(run_zoo, tmp_path):
    root = write_cifar10(tmp_path / "cifar", per_batch=4)
    row = np.zeros(3072, dtype=np.uint8).tolist()
    bomb = {b"data": [row] * 2_000_000, b"labels": [0] * 2_000_000}  # 6 GB as an array; pickle memoizes the row
    (root / "data_batch_1").write_bytes(pickle.dumps(bomb, protocol=2))
    assert (root / "data_batch_1").stat().st_size < 10_000_000
    proc = run_zoo("train", "cnn", "--dataset", "cifar10", "--data-dir", str(tmp_path / "cifar"), "--epochs", "1")
    assert_clean_error(proc, 1, "data_batch_1 is not a CIFAR-10 batch", "uint8 N x 3072 array")


def test_a_cifar_batch_with_more_labels_than_images_is_refused(tmp_path):
    from zoo_images.cifar10 import _images

    from zoo.core.errors import ZooError

    root = write_cifar10(tmp_path / "cifar", per_batch=4)
    batch = {b"data": np.zeros((1, 3072), dtype=np.uint8), b"labels": [0, 1]}
    (root / "data_batch_1").write_bytes(pickle.dumps(batch, protocol=2))
    with pytest.raises(ZooError, match="1 images but 2 labels"):
        _images(root / "data_batch_1")


@pytest.fixture
def huge_png(tmp_path) -> Path:
    """A 10,000 x 9,000 one-bit PNG: about 11 kB on disk, 90 million pixels, over PIL's 89.5 million limit."""
    from PIL import Image

    path = tmp_path / "huge.png"
    Image.new("1", (10_000, 9_000)).save(path, optimize=True)
    return path


def test_an_image_over_the_pixel_budget_is_refused_in_predict_and_train(run_zoo, cnn_run, huge_png, tmp_path):
    assert huge_png.stat().st_size < 1_000_000
    assert_clean_error(run_zoo("predict", str(cnn_run), str(huge_png)), 2, str(huge_png), "decompression-bomb")
    folder = write_image_folder(tmp_path / "images", {"red": (200, 0, 0), "blue": (0, 0, 200)})
    huge_png.rename(folder / "red" / "huge.png")
    proc = run_zoo("train", "cnn", "--dataset", "imagefolder", "--data-dir", str(folder), "--epochs", "1")
    assert_clean_error(proc, 2, "huge.png", "decompression-bomb")


# Local state ---------------------------------------------------------------------------------------------------


@pytest.fixture
def local_repo(run_zoo, cnn_run, tmp_path):
    hub = tmp_path / "hub"
    assert run_zoo("publish", str(cnn_run), "me/cnn", "--hub", str(hub)).returncode == 0
    return hub


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", json.dumps({"/x": {"sha256": 5}, "/y": "z"}), FOLDER])
def test_a_damaged_verified_record_is_rebuilt_never_blocking_a_pull(run_zoo, local_repo, tmp_path, content):
    cache = tmp_path / "cache"
    cache.mkdir()
    damage(cache / "verified.json", content)
    proc = run_zoo("pull", "me/cnn", "--hub", str(local_repo), "--json", env={"ZOO_CACHE_DIR": str(cache)})
    assert proc.returncode == 0, proc.stderr
    assert "warning:" in proc.stderr and "Traceback" not in proc.stderr
    assert {f["path"] for f in json.loads(proc.stdout)["files"]} >= {"model.safetensors", "config.json"}
    if content is not FOLDER:  # rebuilt: the next pull has nothing to warn about
        again = run_zoo("pull", "me/cnn", "--hub", str(local_repo), env={"ZOO_CACHE_DIR": str(cache)})
        assert again.returncode == 0 and "warning" not in again.stderr, again.stderr


@pytest.mark.parametrize("content", ['{"x": "y"}', "[]", "{{{", FOLDER])
def test_a_damaged_parameter_cache_is_rebuilt(run_zoo, tmp_path, content):
    cache = tmp_path / "cache"
    cache.mkdir()
    damage(cache / "params.json", content)
    proc = run_zoo("list", "cnn", "--json", env={"ZOO_CACHE_DIR": str(cache)})
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)[0]["params"] == 62006 and "warning:" in proc.stderr


@pytest.mark.parametrize("damage", ["objects", "head"])
def test_a_damaged_local_hub_repo_is_a_one_line_error(run_zoo, local_repo, damage):
    repo = local_repo / "models" / "me" / "cnn"
    if damage == "objects":
        for obj in (repo / "objects").rglob("*"):
            if obj.is_file() and obj.parent.name != "info":
                obj.unlink()
    else:
        (repo / "HEAD").write_text("garbage\n")
    proc = run_zoo("pull", "me/cnn", "--hub", str(local_repo))
    assert_clean_error(proc, 1, "the local hub repository me/cnn", "is damaged")
    assert len(proc.stderr.strip().splitlines()) == 1


def test_leftovers_of_killed_pulls_and_publishes_are_cleaned(run_zoo, cnn_run, local_repo, tmp_path):
    dead = _dead_pid()
    cache = tmp_path / "cache"
    pull = run_zoo("pull", "me/cnn", "--hub", str(local_repo), "--json", env={"ZOO_CACHE_DIR": str(cache)})
    folder = Path(json.loads(pull.stdout)["path"])
    leftovers = [folder / f".zoo-tmp-{dead}-abc", cache / f".zoo-tmp-{dead}-verified"]
    for leftover in leftovers:
        leftover.write_bytes(b"half a file")
    (folder / "model.safetensors").unlink()
    assert run_zoo("pull", "me/cnn", "--hub", str(local_repo), env={"ZOO_CACHE_DIR": str(cache)}).returncode == 0
    assert not any(p.exists() for p in leftovers) and (folder / "model.safetensors").is_file()
    alive = folder / f".zoo-tmp-{os.getpid()}-mine"  # a live process's temporary file is left alone
    alive.write_bytes(b"being written")
    (folder / "model.safetensors").unlink()
    assert run_zoo("pull", "me/cnn", "--hub", str(local_repo), env={"ZOO_CACHE_DIR": str(cache)}).returncode == 0
    assert alive.exists()
    alive.unlink()
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    stale = tmp / f".zoo-tmp-{dead}-publish"
    stale.mkdir()
    (stale / "model.safetensors").write_bytes(b"x")
    proc = run_zoo("publish", str(cnn_run), "me/other", "--hub", str(local_repo), env={"TMPDIR": str(tmp)})
    assert proc.returncode == 0, proc.stderr
    assert list(tmp.iterdir()) == []


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


# Distributed failures ------------------------------------------------------------------------------------------


def test_a_failing_rank_reads_like_a_single_process_error(run_zoo, tmp_path):
    write_cifar10(tmp_path / "cifar", per_batch=4)
    (tmp_path / "cifar" / "cifar-10-batches-py" / "data_batch_3").write_bytes(b"\x80\x02garbage")
    out = tmp_path / "ddp"
    args = ["--nproc", "2", "--device", "cpu", "--epochs", "1", "--out", str(out)]
    proc = run_zoo("train", "cnn", "--dataset", "cifar10", "--data-dir", str(tmp_path / "cifar"), *args)
    assert_clean_error(proc, 1, "data_batch_3 is corrupt or truncated", "(rank ", str(out / "train.log"))
    assert "ChildFailedError" not in proc.stderr and "torchrun" not in proc.stderr
    assert len([line for line in proc.stderr.splitlines() if line.strip()]) == 1, proc.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = run_zoo(
        "train", "cnn", "--dataset", "imagefolder", "--data-dir", str(empty), *args[:-1], str(tmp_path / "b")
    )
    assert_clean_error(proc, 2, "no class folders in")


def test_debug_shows_the_workers_tracebacks(run_zoo, tmp_path):
    write_cifar10(tmp_path / "cifar", per_batch=4)
    (tmp_path / "cifar" / "cifar-10-batches-py" / "test_batch").write_bytes(b"\x80\x02garbage")
    args = ["--nproc", "2", "--device", "cpu", "--epochs", "1", "--out", str(tmp_path / "d")]
    proc = run_zoo("--debug", "train", "cnn", "--dataset", "cifar10", "--data-dir", str(tmp_path / "cifar"), *args)
    assert proc.returncode == 1 and "Traceback" in proc.stderr


def test_a_config_whose_model_args_do_not_build_is_a_usage_error(run_zoo, cnn_run, tmp_path):
    from PIL import Image

    config = json.loads((cnn_run / "config.json").read_text())
    config["model_args"] = {"num_c asses": 10}  # as make fuzz once flipped a byte
    (cnn_run / "config.json").write_text(json.dumps(config))
    Image.new("RGB", (32, 32)).save(tmp_path / "x.png")
    proc = run_zoo("predict", str(cnn_run), str(tmp_path / "x.png"))
    assert_clean_error(proc, 2, "config.json: its model_args do not build cnn", "num_c asses")
