"""Property-based checks of one rule: no input a user can type or a file can hold reaches "unexpected".

Hypothesis drives zoo's real CLI entry point (`zoo.cli.main`, in this process so that hundreds of examples stay
cheap) and the public API with generated settings, names and damaged files. Every example must end with exit code
0, 1 or 2, no traceback, no "unexpected", raw control characters in nothing printed, nothing changed outside the
example's own folder, and no temporary file left behind.

`make fuzz` runs the same properties with the `fuzz` profile: 15 times the examples (the profiles are in the root
conftest.py). Properties whose examples train a model take a share of the profile's count (`few`).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import zoo
from zoo.plugin.config import ENGINE_FIELDS
from zoo.registry.merged import get_registry

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
FAST = settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow], deadline=None)


def few(n: int) -> settings:
    """A share of the profile's example count, for properties whose examples train a model."""
    return settings(FAST, max_examples=max(3, settings.default.max_examples * n // 100))


def snapshot(root: Path, skip: Path) -> dict[str, tuple[int, int]]:
    out = {}
    for path in root.rglob("*"):
        if skip == path or skip in path.parents or not path.is_file():
            continue
        stat = path.stat()
        out[str(path.relative_to(root))] = (stat.st_size, stat.st_mtime_ns)
    return out


class CLI:
    """zoo's console entry point, run in this process with its own argv, cwd, stdout and stderr."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def __call__(self, *args: str, env: dict[str, str] | None = None, out: Path | None = None) -> tuple[int, str]:
        from zoo.cli import main

        work = Path(tempfile.mkdtemp(dir=self.root, prefix="example-"))
        out = out or work / "out"
        before = snapshot(self.root, out)
        stdout, stderr = io.StringIO(), io.StringIO()
        saved = {k: os.environ.get(k) for k in (env or {})}
        cwd = os.getcwd()
        try:
            os.environ.update(env or {})
            get_registry.cache_clear()  # the next command loads plugins and catalogs afresh, as a new process would
            os.chdir(work)
            with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
                sys.argv = ["zoo", *[a.replace("{out}", str(out)) for a in args]]
                try:
                    main()
                    code = 0
                except SystemExit as exc:
                    code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        finally:
            os.chdir(cwd)
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            get_registry.cache_clear()
        text = stdout.getvalue() + stderr.getvalue()
        assert code in (0, 1, 2), (code, text)
        # zoo's marker for its own bugs ("Error: unexpected KeyError: ... report it"), not the word in a message
        assert "Traceback" not in text and "Error: unexpected" not in text and "report it" not in text, text
        assert not CONTROL.search(text), repr(text)
        after = snapshot(self.root, out)
        changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k) and "example-" not in k)
        assert not changed, f"changed outside the example's folder: {changed}"
        left = [p for p in self.root.rglob("*") if p.name.startswith(".zoo-tmp-")]
        assert not left, f"temporary files left behind: {left}"
        shutil.rmtree(work, ignore_errors=True)
        return code, text


@pytest.fixture
def cli(tmp_path, plugin_sites, monkeypatch, isolated_registry):  # noqa: ARG001 - reloaded after the test
    monkeypatch.syspath_prepend(str(plugin_sites("zoo-tinyplug")))
    monkeypatch.setattr(sys, "argv", list(sys.argv))
    yield CLI(tmp_path)


# Settings ------------------------------------------------------------------------------------------------------

TINY_OPTIONS = ("hidden", "label_smoothing")
NUMBERS = st.one_of(
    st.sampled_from(["inf", "-inf", "nan", "NaN", "1e308", "1e309", "-0", "0", "-1", "1", "0.5", "1.0", "2**70"]),
    st.integers().map(str),
    st.integers(min_value=2**60, max_value=2**80).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)
VALUES = st.one_of(NUMBERS, st.text(max_size=30), st.sampled_from(["true", "false", "yes", "sgd", "onecycle", ""]))


@FAST
@given(key=st.sampled_from(sorted(ENGINE_FIELDS) + list(TINY_OPTIONS)), value=VALUES)
@example(key="lr", value="inf")
@example(key="weight_decay", value="inf")
@example(key="warmup_epochs", value="inf")
@example(key="seed", value=str(2**70))
@example(key="label_smoothing", value="5")
def test_every_setting_is_checked_before_any_work(cli, key, value):
    """Each value is refused naming the setting, or passes to the next check (the data folder): never trains."""
    value = value.replace("\x00", "")
    code, text = cli("train", "tiny_mlp", "--data-dir", "/nonexistent/zoo", "--out", "{out}", "--set", f"{key}={value}")
    assert code == 2, text
    flag = "--" + key.replace("_", "-")
    assert "does not exist" in text or key in text or flag in text, text


EDGES = {
    "lr": ["1e-300", "1000"],
    "momentum": ["0", "0.999"],
    "weight_decay": ["0", "1e6"],
    "warmup_epochs": ["0", "0.01", "1000000"],
    "grad_accum": ["1", "3", "65536"],
    "grad_clip": ["0", "1e-30", "1e30"],
    "ema_decay": ["0", "0.5", "0.999999"],
    "seed": ["0", str(2**32 - 1)],
    "scheduler": ["none", "onecycle", "cosine", "tri-stage"],
    "optimizer": ["sgd", "adam", "adamw"],
    "nesterov": ["true", "false"],
    "label_smoothing": ["0", "1"],
    "hidden": ["1", "4096"],
    "batch_size": ["700", "16777216"],
    "log_every": ["1", str(10**12)],
    "checkpoint_every": ["0", "1", str(10**12)],
    "drop_last": ["true", "false"],
}


@few(30)
@given(sets=st.dictionaries(st.sampled_from(sorted(EDGES)), st.just(None), min_size=1, max_size=4), data=st.data())
def test_settings_at_the_edges_of_their_ranges_train(cli, sets, data):
    """Whatever passes the checks trains to the end: one epoch of real training per example."""
    pairs = [f"{k}={data.draw(st.sampled_from(EDGES[k]), label=k)}" for k in sorted(sets)]
    args = [a for pair in pairs for a in ("--set", pair)]
    code, text = cli("train", "tiny_mlp", "--epochs", "1", "--quiet", "--out", "{out}", *args)
    assert code in (0, 2), text
    if code == 2:  # the only combination the ranges alone cannot refuse
        assert "nesterov=true needs momentum > 0" in text or "no batch would remain" in text, text


# Names ---------------------------------------------------------------------------------------------------------

NAMES = st.one_of(
    st.text(max_size=40).map(lambda s: s.replace("\x00", "")),
    st.sampled_from(["resnet18", "cnn", "tiny_mlp", "resnet18.tv_in1k", "tiny:tiny_mlp", "org/repo", "a/b@main"]),
    st.sampled_from(["resnet18\n", "org/repo\n", "../../etc/passwd", "org/../x", "-d", "--help", "\x1b[31mred"]),
).filter(lambda s: s not in ("--help", "-h"))


@FAST
@given(name=NAMES, command=st.sampled_from(["info", "list", "pull", "pin", "predict", "eval", "plugin-new"]))
def test_names_anywhere(cli, name, command, tmp_path):
    args = {
        "info": ["info", name],
        "list": ["list", name],
        "pull": ["pull", name, "--hub", str(tmp_path / "hub")],
        "pin": ["pin", name, "--hub", str(tmp_path / "hub")],
        "predict": ["predict", name, "x.png", "--hub", str(tmp_path / "hub")],
        "eval": ["eval", name, "--hub", str(tmp_path / "hub")],
        "plugin-new": ["plugin", "new", name, "--dir", "{out}"],
    }[command]
    cli(*args)


@pytest.fixture
def run_folder(make_run, tmp_path):
    folder, _ = make_run("cnn", dataset="cifar10", folder=tmp_path / "run")
    rows = [{"epoch": e, "accuracy": 0.5 + e / 10, "loss": 1 / e, "train_loss": 1.2 / e, "steps": 3} for e in (1, 2)]
    (folder / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (folder / "published.json").write_text(json.dumps([{"repo_id": "me/run", "revision": "a" * 40, "hub": None}]))
    return folder


@FAST
@given(repo=NAMES, branch=NAMES)
@example(repo="me/model", branch="--revision=-d")
@example(repo="me/model", branch="-d")
@example(repo="me/model\n", branch="main")
def test_publish_repo_ids_and_branches(cli, run_folder, repo, branch, tmp_path):
    hub = tmp_path / "example-hub"  # the local hub is this example's own output
    code, _ = cli("publish", str(run_folder), repo, "--hub", str(hub), "--revision", branch, out=hub)
    if code == 0:
        branches = [p.name for p in hub.rglob("refs/heads/*")]
        assert all(not b.startswith("-") and "\n" not in b for b in branches), branches


# Files ---------------------------------------------------------------------------------------------------------

MUTATIONS = st.one_of(
    st.tuples(st.just("truncate"), st.floats(0, 1)),
    st.tuples(st.just("flip"), st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), min_size=1, max_size=8)),
    st.tuples(st.just("empty"), st.none()),
    st.tuples(st.just("random"), st.binary(max_size=2000)),  # b"\xc2": "unexpected end of data", a UsageError
    st.tuples(st.just("utf16"), st.none()),
    st.tuples(st.just("prepend"), st.binary(min_size=1, max_size=50)),
    st.tuples(st.just("nested-json"), st.integers(1, 200_000)),
    st.tuples(st.just("giant-field"), st.integers(1, 5_000_000)),
    st.tuples(st.just("folder"), st.none()),
)


def mutate(path: Path, mutation: tuple) -> None:
    kind, arg = mutation
    data = path.read_bytes() if path.is_file() else b""
    if kind == "folder":
        path.unlink(missing_ok=True)
        path.mkdir()
        return
    if kind == "truncate":
        data = data[: int(len(data) * arg)]
    elif kind == "flip":
        data = bytearray(data)
        for where, byte in arg:
            if data:
                data[min(len(data) - 1, int(len(data) * where))] = byte
        data = bytes(data)
    elif kind == "empty":
        data = b""
    elif kind == "random":
        data = arg
    elif kind == "utf16":
        data = data.decode("latin-1").encode("utf-16")
    elif kind == "prepend":
        data = arg + data
    elif kind == "nested-json":
        data = b"[" * arg + b"]" * arg
    elif kind == "giant-field":
        data = b"user,item,rating\n" + b"1," + b"9" * arg + b",4\n"
    path.write_bytes(data)


@pytest.fixture
def catalog(tmp_path):
    path = tmp_path / "extra.toml"
    path.write_text(
        '[weights."tiny_mlp.extra"]\nmodel = "tiny_mlp"\nsource = "me/tiny"\nrevision = "main"\n'
        '[weights."tiny_mlp.extra".metrics]\naccuracy = 0.9\n'
    )
    return path


@FAST
@given(mutation=MUTATIONS)
def test_damaged_catalogs(cli, catalog, mutation, tmp_path):
    damaged = Path(tempfile.mkdtemp(dir=tmp_path, prefix="example-")) / "extra.toml"
    shutil.copy(catalog, damaged)
    mutate(damaged, mutation)
    for args in (["list"], ["info", "tiny_mlp"], ["pull", "tiny_mlp.extra", "--hub", str(tmp_path / "hub")]):
        cli(*args, env={"ZOO_REGISTRY": str(damaged)})


RUN_PARTS = ["config.json", "metrics.json", "model.safetensors", "metrics.jsonl", "published.json"]


@FAST
@given(part=st.sampled_from(RUN_PARTS), mutation=MUTATIONS)
def test_damaged_run_folders(cli, run_folder, part, mutation, tmp_path):
    damaged = Path(tempfile.mkdtemp(dir=tmp_path, prefix="example-")) / "run"
    shutil.copytree(run_folder, damaged)
    mutate(damaged / part, mutation)
    image = damaged.parent / "x.png"
    from PIL import Image

    Image.new("RGB", (32, 32), (10, 20, 30)).save(image)
    cli("publish", str(damaged), "me/run", "--dry-run")
    cli("predict", str(damaged), str(image))
    cli("runs", str(damaged.parent), "--json")
    cli("runs", "show", str(damaged))


ROW_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
ROWS = st.lists(
    st.fixed_dictionaries(
        {"epoch": st.integers(-3, 10**6 + 3)}, optional={"accuracy": ROW_VALUES, "train_loss": ROW_VALUES}
    )
    | st.dictionaries(st.sampled_from(["epoch", "accuracy", "loss", "train_loss"]), ROW_VALUES, max_size=4),
    max_size=6,
)


@FAST
@given(rows=ROWS)
@example(rows=[{"epoch": 1, "accuracy": -1e308}, {"epoch": 2, "accuracy": 1e308}])
def test_any_metrics_jsonl_shows_and_publishes_or_is_refused(cli, run_folder, rows, tmp_path):
    damaged = Path(tempfile.mkdtemp(dir=tmp_path, prefix="example-")) / "run"
    shutil.copytree(run_folder, damaged)
    (damaged / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    cli("runs", "show", str(damaged))
    cli("publish", str(damaged), "me/run", "--dry-run")


@pytest.fixture(scope="module")
def published_tiny(tmp_path_factory, plugin_sites):
    """The files of a real tiny_mlp run as `zoo publish` commits them (read back from a local hub)."""
    import subprocess

    from zoo_fixtures import ZOO

    from zoo.hub.local_git import LocalHub

    work = tmp_path_factory.mktemp("published-tiny")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZOO_")}
    env.update(PYTHONPATH=str(plugin_sites("zoo-tinyplug")), ZOO_CACHE_DIR=os.environ["ZOO_CACHE_DIR"])
    for args in (
        ["train", "tiny_mlp", "--epochs", "1", "--device", "cpu", "--quiet", "--out", str(work / "run")],
        ["publish", str(work / "run"), "me/tiny", "--hub", str(work / "hub")],
    ):
        subprocess.run([str(ZOO), *args], env=env, check=True, capture_output=True, timeout=300)
    hub = LocalHub(work / "hub")
    files = {}
    for entry in hub.tree("me/tiny", hub.resolve("me/tiny")):
        files[entry.path] = work / "files" / entry.path
        files[entry.path].parent.mkdir(parents=True, exist_ok=True)
        hub.read_blob("me/tiny", entry.oid, files[entry.path])
    return files


@few(15)
@given(part=st.sampled_from(["README.md", "metrics.json", "config.json"]), mutation=MUTATIONS)
def test_damaged_published_files_to_reproduce(cli, published_tiny, part, mutation, tmp_path):
    from zoo.hub.local_git import LocalHub

    example = Path(tempfile.mkdtemp(dir=tmp_path, prefix="example-"))
    files = {path: example / "files" / path for path in published_tiny}
    for path, source in published_tiny.items():
        files[path].parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, files[path])
    mutate(files[part], mutation)
    if files[part].is_dir():
        files[part] = files[part].with_name(files[part].name + ".empty")
        files[part].write_bytes(b"")
    hub = LocalHub(example / "hub")
    hub.create_repo("me/tiny")
    hub.commit("me/tiny", files, "damaged")
    cli("reproduce", "me/tiny", "--hub", str(example / "hub"), "--out", "{out}", "--quiet")


@few(40)
@given(mutation=MUTATIONS)
def test_damaged_images_to_predict(cli, run_folder, mutation, tmp_path):
    from PIL import Image

    image = Path(tempfile.mkdtemp(dir=tmp_path, prefix="example-")) / "x.png"
    Image.new("RGB", (40, 30), (200, 20, 30)).save(image)
    mutate(image, mutation)
    cli("predict", str(run_folder), str(image))


@few(40)
@given(batch=st.sampled_from(["data_batch_1", "test_batch", "batches.meta"]), mutation=MUTATIONS)
def test_damaged_cifar10(cli, batch, mutation, tmp_path):
    from zoo_images.samples import write_cifar10

    folder = Path(tempfile.mkdtemp(dir=tmp_path, prefix="example-"))
    write_cifar10(folder, per_batch=4)
    mutate(folder / "cifar-10-batches-py" / batch, mutation)
    cli("train", "cnn", "--dataset", "cifar10", "--data-dir", str(folder), "--epochs", "1", "--quiet", "--out", "{out}")


@few(40)
@given(mutation=MUTATIONS, fmt=st.sampled_from(["ratings.csv", "u.data", "ratings.dat"]))
def test_damaged_ratings(cli, mutation, fmt, tmp_path):
    folder = Path(tempfile.mkdtemp(dir=tmp_path, prefix="example-"))
    rows = [(u, i, (u * i) % 5 + 1) for u in range(1, 9) for i in range(1, 9)]
    dataset = "movielens"
    if fmt == "ratings.csv":
        text = "user,item,rating,timestamp\n" + "".join(f"{u},{i},{r},0\n" for u, i, r in rows)
        dataset = "ratings-csv"
    elif fmt == "u.data":  # MovieLens-100K
        text = "".join(f"{u}\t{i}\t{r}\t0\n" for u, i, r in rows)
    else:  # MovieLens-1M
        text = "".join(f"{u}::{i}::{r}::0\n" for u, i, r in rows)
    (folder / fmt).write_text(text)
    mutate(folder / fmt, mutation)
    target = folder / fmt if dataset == "ratings-csv" else folder
    cli("train", "mf", "--dataset", dataset, "--data-dir", str(target), "--epochs", "1", "--quiet", "--out", "{out}")


SPEECH = ("--set", "pretrained=false", "--batch-size", "4", "--epochs", "1", "--quiet", "--out", "{out}")


@few(30)
@given(
    layout=st.sampled_from(["speech-manifest", "librispeech"]),
    part=st.sampled_from(["manifest", "audio"]),
    mutation=MUTATIONS,
)
def test_damaged_speech_datasets(cli, layout, part, mutation, tmp_path):
    from zoo_wav2vec.samples import librispeech, speech_manifest

    folder = Path(tempfile.mkdtemp(dir=tmp_path, prefix="example-"))
    (speech_manifest if layout == "speech-manifest" else librispeech)(folder)
    pattern = {"manifest": "*.t*", "audio": "*.[wf][al][va]*"}[part]  # train.tsv / *.trans.txt; *.wav / *.flac
    victim = sorted(p for p in folder.rglob(pattern) if p.name != "input.wav")[0]
    mutate(victim, mutation)
    cli("train", "wav2vec2_tiny", "--dataset", layout, "--data-dir", str(folder), *SPEECH)


@pytest.fixture
def speech_run(tmp_path):
    from zoo_wav2vec.samples import speech_manifest

    speech_manifest(tmp_path / "speech")
    out = tmp_path / "speech-run"
    zoo.train("wav2vec2_tiny", dataset="speech-manifest", data_dir=str(tmp_path / "speech"), epochs=1,
              batch_size=4, sets={"pretrained": "false"}, out=out, quiet=True)  # fmt: skip
    return out


@few(40)
@given(mutation=MUTATIONS)
def test_damaged_audio_to_transcribe(cli, speech_run, mutation, tmp_path):
    audio = Path(tempfile.mkdtemp(dir=tmp_path, prefix="example-")) / "x.wav"
    shutil.copy(tmp_path / "speech" / "input.wav", audio)
    mutate(audio, mutation)
    cli("predict", str(speech_run), str(audio))


@few(30)  # each example counts parameters afresh, in a child process
@given(which=st.sampled_from(["verified.json", "params.json"]), mutation=MUTATIONS)
def test_damaged_caches_never_block(cli, which, mutation, tmp_path):
    cache = Path(tempfile.mkdtemp(dir=tmp_path, prefix="example-")) / "cache"
    cache.mkdir()
    (cache / which).write_text(json.dumps({"x": {"sha256": 1}} if which == "verified.json" else {"x": "y"}))
    mutate(cache / which, mutation)
    code, text = cli("list", "tiny*", env={"ZOO_CACHE_DIR": str(cache)})
    assert code == 0 and "tiny_mlp" in text, text


@pytest.fixture
def foreign_repo(tmp_path):
    """A tiny sharded transformers Wav2Vec2ForCTC repo, as save_pretrained writes it, and a second of speech."""
    from zoo_fixtures import save_transformers_ctc

    folder = tmp_path / "foreign"
    shape = {"hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 16,
             "conv_dim": (8, 8), "conv_kernel": (10, 3), "conv_stride": (5, 2), "num_conv_pos_embeddings": 8,
             "num_conv_pos_embedding_groups": 2}  # fmt: skip
    save_transformers_ctc(folder, max_shard_size="8KB", **shape)
    import soundfile

    soundfile.write(tmp_path / "speech.wav", [0.1 * ((i % 40) - 20) / 20 for i in range(16000)], 16000)
    return folder


def _commit_foreign(folder: Path, tmp_path: Path) -> Path:
    """The repo's files as someone/speech in this example's own local hub."""
    from zoo.hub.local_git import LocalHub

    hub = Path(tempfile.mkdtemp(dir=tmp_path, prefix="example-")) / "hub"
    local = LocalHub(hub)
    local.create_repo("someone/speech")
    files = {str(f.relative_to(folder)): f for f in folder.rglob("*") if f.is_file()}
    local.commit("someone/speech", files, "transformers files")
    return hub


FOREIGN_FILES = ["config.json", "vocab.json", "tokenizer_config.json", "processor_config.json"]
FOREIGN_FILES += ["model.safetensors.index.json", "model-00001-of-00004.safetensors"]


@few(40)
@given(part=st.sampled_from(FOREIGN_FILES), mutation=MUTATIONS)
def test_damaged_foreign_repos(cli, foreign_repo, part, mutation, tmp_path):
    damaged = Path(tempfile.mkdtemp(dir=tmp_path, prefix="example-")) / "repo"
    shutil.copytree(foreign_repo, damaged)
    if (damaged / part).exists():
        mutate(damaged / part, mutation)
    hub = _commit_foreign(damaged, tmp_path)
    cli("info", "someone/speech", "--hub", str(hub))
    cli("predict", "someone/speech", str(tmp_path / "speech.wav"), "--hub", str(hub))


JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**65), 2**65), st.floats(), st.text(max_size=8)),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)),
    max_leaves=8,
)
CONFIG_KEYS = ["architectures", "conv_dim", "conv_kernel", "conv_stride", "conv_bias", "feat_extract_norm",
               "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "vocab_size",
               "num_conv_pos_embeddings", "num_conv_pos_embedding_groups", "do_stable_layer_norm", "pad_token_id",
               "hidden_act", "architecture", "pretrained_cfg", "num_classes", "label_names"]  # fmt: skip


@few(60)
@given(fields=st.dictionaries(st.sampled_from(CONFIG_KEYS), JSON_VALUES, min_size=1, max_size=3))
@example(fields={"hidden_size": -1})
@example(fields={"num_attention_heads": 3})
@example(fields={"conv_dim": [8, 8, 8]})
@example(fields={"architecture": "resnet18", "pretrained_cfg": {"input_size": "big"}, "num_classes": 0})
def test_hostile_foreign_configs(cli, foreign_repo, fields, tmp_path):
    """Values a config.json can hold, in the fields the claimers read: a claim, a refusal, or a clean error."""
    damaged = Path(tempfile.mkdtemp(dir=tmp_path, prefix="example-")) / "repo"
    shutil.copytree(foreign_repo, damaged)
    config = json.loads((damaged / "config.json").read_text())
    (damaged / "config.json").write_text(json.dumps({**config, **fields}))
    hub = _commit_foreign(damaged, tmp_path)
    cli("info", "someone/speech", "--hub", str(hub))
    cli("predict", "someone/speech", str(tmp_path / "speech.wav"), "--hub", str(hub))


def test_the_undamaged_inputs_work(cli, run_folder, speech_run, foreign_repo, tmp_path):
    """The properties above damage these inputs: undamaged, each command succeeds, so no property is vacuous."""
    from PIL import Image
    from zoo_images.samples import write_cifar10

    image = tmp_path / "x.png"
    Image.new("RGB", (40, 30), (200, 20, 30)).save(image)
    assert (r := cli("predict", str(run_folder), str(image)))[0] == 0, r[1]
    assert (r := cli("publish", str(run_folder), "me/run", "--dry-run"))[0] == 0, r[1]
    cifar = tmp_path / "example-cifar"
    write_cifar10(cifar, per_batch=4)
    train = ("--epochs", "1", "--quiet", "--out", "{out}")
    assert (r := cli("train", "cnn", "--dataset", "cifar10", "--data-dir", str(cifar), *train))[0] == 0, r[1]
    ratings = tmp_path / "example-ratings" / "ratings.csv"
    ratings.parent.mkdir()
    rows = [(u, i, (u * i) % 5 + 1) for u in range(1, 9) for i in range(1, 9)]
    ratings.write_text("user,item,rating,timestamp\n" + "".join(f"{u},{i},{r},0\n" for u, i, r in rows))
    assert (r := cli("train", "mf", "--dataset", "ratings-csv", "--data-dir", str(ratings), *train))[0] == 0, r[1]
    (ratings.parent / "u.data").write_text("".join(f"{u}\t{i}\t{r}\t0\n" for u, i, r in rows))
    assert (r := cli("train", "mf", "--dataset", "movielens", "--data-dir", str(ratings.parent), *train))[0] == 0, r[1]
    (ratings.parent / "u.data").unlink()
    (ratings.parent / "ratings.dat").write_text("".join(f"{u}::{i}::{r}::0\n" for u, i, r in rows))
    assert (r := cli("train", "mf", "--dataset", "movielens", "--data-dir", str(ratings.parent), *train))[0] == 0, r[1]
    assert (r := cli("predict", str(speech_run), str(tmp_path / "speech" / "input.wav")))[0] == 0, r[1]
    hub = _commit_foreign(foreign_repo, tmp_path)
    assert (r := cli("info", "someone/speech", "--hub", str(hub)))[0] == 0, r[1]
    assert (r := cli("predict", "someone/speech", str(tmp_path / "speech.wav"), "--hub", str(hub)))[0] == 0, r[1]
    from zoo_wav2vec.samples import librispeech, speech_manifest

    for layout, write in (("speech-manifest", speech_manifest), ("librispeech", librispeech)):
        speech = tmp_path / f"example-{layout}"
        write(speech)
        assert (r := cli("train", "wav2vec2_tiny", "--dataset", layout, "--data-dir", str(speech), *SPEECH))[0] == 0, r[
            1
        ]


# The public API ------------------------------------------------------------------------------------------------

PY_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20), st.lists(st.integers(), max_size=3)
)


@FAST
@given(sets=st.dictionaries(st.sampled_from(sorted(ENGINE_FIELDS) + list(TINY_OPTIONS)), PY_VALUES, max_size=6))
@example(sets={"batch_size": "\n"})  # found by make fuzz: the value's newline reached the message
def test_build_config_returns_valid_settings_or_a_usage_error(sets):
    import math

    from zoo.core.errors import UsageError
    from zoo.core.limits import check
    from zoo.engine.settings import build_config
    from zoo.plugin.config import ENGINE_LIMITS

    defaults = {"epochs": 2, "lr": 0.1, "hidden": 8, "label_smoothing": 0.0}
    limits = {"hidden": "[1, 4096]", "label_smoothing": "[0, 1]"}
    try:
        config = build_config(defaults, {}, sets, limits)
    except UsageError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    for name, limit in ENGINE_LIMITS.items():
        check(name, getattr(config, name), limit)  # raises if a value slipped through
    assert math.isfinite(config.lr) and 0 <= config.options["label_smoothing"] <= 1


@FAST
@given(text=st.text(max_size=300))
@example(text='[weights."a.b"]\nmodel = "a"\nsource = "o/r"\nrevision = "main"\n')
@example(text='[weights."a.b\\n"]\nmodel = "a"\nsource = "o/r"\nrevision = "main"\n')
@example(text='[weights."a.b"]\nmodel = "a"\nsource = "o/r\\n"\nrevision = "main"\n')
def test_catalog_text_parses_or_is_a_catalog_error(text):
    from zoo.core.errors import CatalogError
    from zoo.registry.catalog import parse_catalog

    try:
        entries = parse_catalog(text, "fuzz.toml")
    except CatalogError as exc:
        assert str(exc).startswith("fuzz.toml")
        return
    for entry in entries:
        assert "\n" not in entry.name + entry.source + entry.model


@FAST
@given(text=st.text(max_size=60))
@example(text="org/name\n")
@example(text="-d")
def test_validators_accept_only_whole_clean_names(text):
    from zoo.core.errors import ZooError
    from zoo.core.paths import check_branch, check_repo_id, check_repo_path

    for validate in (check_repo_id, check_repo_path, check_branch):
        try:
            validate(text)
        except ZooError:
            continue
        assert not CONTROL.search(text) and "\n" not in text
        # a file in a repo may be named "-d" (it never reaches a command line); ids and branches may not
        assert validate is check_repo_path or not text.startswith("-")
