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
import hashlib
import io
import json
import math
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from stat import S_ISDIR, S_ISREG
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import zoo
from zoo.plugin.config import ENGINE_FIELDS
from zoo.registry.merged import get_registry

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
FAST = settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow], deadline=None)


def few(n: int) -> settings:
    """A share of the profile's example count, for properties whose examples train a model: 10 at least."""
    return settings(FAST, max_examples=max(10, settings.default.max_examples * n // 100))


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def snapshot(root: Path, outputs: tuple[Path, ...], known: dict[tuple, str]) -> dict[str, object]:
    """Every entry under `root` but the command's own outputs: a file by its bytes (hashed once per stat, `known`),
    a folder as such, anything else by its kind."""
    out: dict[str, object] = {}
    for path in root.rglob("*"):
        if any(path == o or o in path.parents for o in outputs):
            continue
        stat = path.lstat()
        if S_ISREG(stat.st_mode):
            key = (str(path), stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)
            if key not in known:
                known[key] = _digest(path)
            out[str(path.relative_to(root))] = known[key]
        else:
            out[str(path.relative_to(root))] = "folder" if S_ISDIR(stat.st_mode) else f"mode {stat.st_mode:o}"
    return out


class CLI:
    """zoo's console entry point, run in this process with its own argv, cwd, stdout and stderr.

    Each command may write only its working folder, `out` and the folders in `writes`: every other file under the
    root (the damaged inputs of the examples included) must keep its bytes, and nothing may appear or vanish there.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.known: dict[tuple, str] = {}
        self.stdout = ""  # the last command's standard output alone

    def __call__(
        self, *args: str, env: dict[str, str] | None = None, out: Path | None = None, writes: tuple[Path, ...] = ()
    ) -> tuple[int, str]:
        from zoo.cli import main

        work = Path(tempfile.mkdtemp(dir=self.root, prefix="example-"))
        out = out or work / "out"
        outputs = (work, out, *writes)
        before = snapshot(self.root, outputs, self.known)
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
        text, self.stdout = stdout.getvalue() + stderr.getvalue(), stdout.getvalue()
        assert code in (0, 1, 2), (code, text)
        # zoo's marker for its own bugs ("Error: unexpected KeyError: ... report it"), not the word in a message
        assert "Traceback" not in text and "Error: unexpected" not in text and "report it" not in text, text
        # the CLI's last line of defence for an OSError: a refusal that should have been named where it arose
        assert "run again with --debug" not in text, text
        assert not CONTROL.search(text), repr(text)
        after = snapshot(self.root, outputs, self.known)
        changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
        assert not changed, f"changed outside the command's own outputs: {changed}"
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

TINY_OPTIONS = ("hidden", "label_smoothing", "dropout")
NUMBERS = st.one_of(
    st.sampled_from(["inf", "-inf", "nan", "NaN", "1e308", "1e309", "-0", "0", "-1", "1", "0.5", "1.0", "2**70"]),
    st.integers().map(str),
    st.integers(min_value=2**60, max_value=2**80).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)
VALUES = st.one_of(NUMBERS, st.text(max_size=30), st.sampled_from(["true", "false", "yes", "sgd", "onecycle", ""]))
WORDS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}


def _word(text: str) -> bool:
    if text.lower() not in WORDS:
        raise ValueError(text)
    return WORDS[text.lower()]


def _shares(text: str) -> bool:
    """tri-stage's warmup, hold and decay: three shares of the steps, each in [0, 1], that add up to all of them."""
    try:
        shares = [float(s) for s in text.split(",")]
    except ValueError:
        return False
    return len(shares) == 3 and all(0 <= s <= 1 for s in shares) and abs(sum(shares) - 1) < 1e-9


def _either(value: bool) -> bool:  # noqa: ARG001 - both words are settings
    return True


def _device(kind: str) -> bool:
    import torch

    mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    return kind in ("auto", "cpu") or (kind == "cuda" and torch.cuda.is_available()) or (kind == "mps" and mps)


# What each setting of a tiny_mlp run means (README.md, TrainConfig's notes), written here apart from zoo's tables
# (zoo.plugin.config.ENGINE_LIMITS, RecipeSpec.limits): its type, and whether a value of it is one a run can use.
# A float must also be finite. The caps on counts (a million epochs, 2**24 rows a batch, ...) are zoo's promise.
MEANING: dict[str, tuple[type, Callable[[Any], bool]]] = {
    "epochs": (int, lambda v: 1 <= v <= 10**6),
    "batch_size": (int, lambda v: 1 <= v <= 2**24),
    "lr": (float, lambda v: v > 0),
    "weight_decay": (float, lambda v: v >= 0),
    "optimizer": (str, lambda v: v in ("sgd", "adam", "adamw")),
    "momentum": (float, lambda v: 0 <= v < 1),  # a share of the last step kept: all of it never decays
    "nesterov": (bool, _either),  # with SGD, only where momentum > 0 (the default is 0.9)
    "scheduler": (str, lambda v: v in ("none", "onecycle", "cosine", "tri-stage")),
    "warmup_epochs": (float, lambda v: 0 <= v <= 10**6),
    "stage_ratios": (str, _shares),
    "grad_accum": (int, lambda v: 1 <= v <= 2**16),
    "grad_clip": (float, lambda v: v >= 0),  # 0: no clipping
    "ema_decay": (float, lambda v: 0 <= v < 1),  # 0: no EMA; 1 would never move
    "num_workers": (int, lambda v: -1 <= v <= 256),  # -1: chosen from the cores
    "drop_last": (bool, _either),
    "seed": (int, lambda v: 0 <= v < 2**32),  # numpy's legacy seeding takes 32 bits
    "device": (str, _device),
    "precision": (str, lambda v: v in ("auto", "fp32", "bf16")),  # fp16 needs CUDA; these runs pin --device cpu
    "compile": (bool, _either),
    "channels_last": (bool, _either),
    "checkpoint_every": (int, lambda v: v >= 0),  # steps; 0: once an epoch
    "deterministic": (bool, _either),
    "best_metric": (str, lambda v: v == "" or re.fullmatch("-?(accuracy|loss)", v) is not None),  # '-': lower wins
    "patience": (int, lambda v: v >= 0),  # 0: never stop early
    "log_every": (int, lambda v: v >= 1),
    # tiny_mlp's recipe options
    "hidden": (int, lambda v: 1 <= v <= 4096),
    "label_smoothing": (float, lambda v: 0 <= v <= 1),
    "dropout": (float, lambda v: 0 <= v < 1),
}
# Just inside and just outside each end of each range: a range zoo widens or narrows fails one of these.
RANGE_ENDS = {
    "epochs": ["0", "1", "1000000", "1000001"],
    "batch_size": ["0", "1", "16777216", "16777217"],
    "lr": ["0", "-0", "5e-324", "1.7976931348623157e308", "inf"],
    "weight_decay": ["-5e-324", "0", "1.7976931348623157e308", "inf"],
    "momentum": ["-5e-324", "0", "0.9999999999999999", "1"],
    "warmup_epochs": ["-5e-324", "0", "1000000", "1000000.0000000001"],
    "grad_accum": ["0", "1", "65536", "65537"],
    "grad_clip": ["-5e-324", "0", "1.7976931348623157e308", "inf"],
    "ema_decay": ["-5e-324", "0", "0.9999999999999999", "1"],
    "num_workers": ["-2", "-1", "256", "257"],
    "seed": ["-1", "0", "4294967295", "4294967296"],
    "checkpoint_every": ["-1", "0"],
    "patience": ["-1", "0"],
    "log_every": ["0", "1"],
    "hidden": ["0", "1", "4096", "4097"],
    "label_smoothing": ["-5e-324", "0", "1", "1.0000000000000002"],
    "dropout": ["-5e-324", "0", "0.9999999999999999", "1"],
    "optimizer": ["sgd", "SGD", "lion"],
    "scheduler": ["tri-stage", "tristage"],
    "stage_ratios": ["0,0,1", "0.5,0.5", "0.6,0.6,-0.2", "nan,0.5,0.5"],
    "precision": ["bf16", "fp16", "int8"],
    "device": ["cpu", "tpu"],
    "best_metric": ["-loss", "--loss", "-", "rmse"],
    "nesterov": ["on", "maybe"],
}


def meant(key: str, text: str) -> tuple[bool, Any]:
    """Whether `text`, handed over as `--set KEY=TEXT`, is a value `key` can take, and that value."""
    kind, usable = MEANING[key]
    parse = {bool: _word, int: int, float: float, str: str}[kind]
    try:
        value = parse(text.strip())  # `--set lr = 0.1`: the spaces around a value are not part of it
    except ValueError:
        return False, None
    return (not isinstance(value, float) or math.isfinite(value)) and usable(value), value


def names(text: str, key: str) -> bool:
    """The message names the setting, as `--set` writes it (lr, batch_size) or as a flag (--lr, --batch-size)."""
    flag = "--" + key.replace("_", "-")
    return re.search(rf"(?<![\w-])({re.escape(key)}|{re.escape(flag)})(?![\w-])", text) is not None


@dataclass
class Gate:
    """The settings of each job that passed every check of `zoo train` (`seen`). The job trains for real when `train`
    is set and it is short (one epoch, a few workers, no torch.compile); else it stops there."""

    seen: list[dict] = field(default_factory=list)
    train: bool = True


@pytest.fixture
def trainer_gate(monkeypatch) -> Gate:
    import zoo.jobs.train as jobs

    real, gate = jobs.run, Gate()

    def run(job, *args, **kwargs):
        gate.seen.append(job.settings)
        s = job.settings
        if gate.train and s["epochs"] == 1 and -1 <= s["num_workers"] <= 2 and not s["compile"]:
            return real(job, *args, **kwargs)
        return {"run_dir": job.out, "model": "tiny_mlp", "metrics": {}}

    monkeypatch.setattr(jobs, "run", run)
    return gate


def _with_range_ends(test: Callable) -> Callable:
    for key, values in RANGE_ENDS.items():
        for value in values:
            test = example(key=key, value=value)(test)
    return test


def test_every_setting_has_a_meaning():
    assert set(MEANING) == set(ENGINE_FIELDS) | set(TINY_OPTIONS), "write the meaning of each new setting here"


@FAST
@given(key=st.sampled_from(sorted(MEANING)), value=VALUES)
@_with_range_ends
def test_every_setting_is_checked_before_any_work(cli, trainer_gate, key, value):
    """A value outside its meaning is refused naming the setting before the trainer starts; any other value goes
    to the trainer as given, and a generated one trains (on real data: scikit-learn's digits, an epoch of 2 steps)."""
    value = value.replace("\x00", "")
    started, trainer_gate.train = trainer_gate.seen, value not in RANGE_ENDS.get(key, ())  # the ends: their check
    started.clear()
    usable, parsed = meant(key, value)
    base = ("--device", "cpu", "--epochs", "1", "--batch-size", "700", "--quiet", "--out", "{out}")
    code, text = cli("train", "tiny_mlp", *base, "--set", f"{key}={value}")
    if not usable:
        assert not started, f"{key}={value!r} reached the trainer: {text}"
        assert code == 2 and names(text, key), text
        return
    assert code == 0 and started, text
    given = started[0][key] if key in started[0] else started[0]["options"][key]
    assert given == parsed, (key, value, given)


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
    base = ("--device", "cpu", "--epochs", "1", "--batch-size", "700", "--quiet", "--out", "{out}")
    code, text = cli("train", "tiny_mlp", *base, *args)
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
    """The files of a real tiny_mlp run (an epoch of 2 steps on the CPU) as `zoo publish` commits them (read back
    from a local hub)."""
    from zoo.hub.local_git import LocalHub

    work = tmp_path_factory.mktemp("published-tiny")
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(plugin_sites("zoo-tinyplug")))
        patch.setattr(sys, "argv", list(sys.argv))
        cli, run = CLI(work), work / "run"
        train = ("--device", "cpu", "--epochs", "1", "--batch-size", "700", "--quiet", "--out", str(run))
        assert (r := cli("train", "tiny_mlp", *train, out=run))[0] == 0, r[1]
        publish = ("publish", str(run), "me/tiny", "--hub", str(work / "hub"))
        assert (r := cli(*publish, out=work / "hub", writes=(run,)))[0] == 0, r[1]  # published.json: the run's record
    zoo.reload()
    hub = LocalHub(work / "hub")
    files = {}
    for entry in hub.tree("me/tiny", hub.resolve("me/tiny")):
        files[entry.path] = work / "files" / entry.path
        files[entry.path].parent.mkdir(parents=True, exist_ok=True)
        hub.read_blob("me/tiny", entry.oid, files[entry.path])
    return files


def _commit_published(files: dict[str, Path], tmp_path: Path) -> Path:
    """The published files, as they are now, as me/tiny in this example's own local hub."""
    from zoo.hub.local_git import LocalHub

    hub = Path(tempfile.mkdtemp(dir=tmp_path, prefix="example-")) / "hub"
    LocalHub(hub).create_repo("me/tiny")
    LocalHub(hub).commit("me/tiny", files, "as published")
    return hub


@few(15)
@given(part=st.sampled_from(["README.md", "metrics.json", "config.json"]), mutation=MUTATIONS)
def test_damaged_published_files_to_reproduce(cli, published_tiny, part, mutation, tmp_path):
    example = Path(tempfile.mkdtemp(dir=tmp_path, prefix="example-"))
    files = {path: example / "files" / path for path in published_tiny}
    for path, source in published_tiny.items():
        files[path].parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, files[path])
    mutate(files[part], mutation)
    if files[part].is_dir():
        files[part] = files[part].with_name(files[part].name + ".empty")
        files[part].write_bytes(b"")
    cli("reproduce", "me/tiny", "--hub", str(_commit_published(files, tmp_path)), "--out", "{out}", "--quiet")


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


@pytest.fixture(scope="module")
def trained_speech(tmp_path_factory):
    """A folder holding speech/ (a speech-manifest dataset) and speech-run/ (one epoch of wav2vec2_tiny on it)."""
    from zoo_wav2vec.samples import speech_manifest

    folder = tmp_path_factory.mktemp("trained-speech")
    speech_manifest(folder / "speech")
    zoo.train("wav2vec2_tiny", dataset="speech-manifest", data_dir=str(folder / "speech"), epochs=1, batch_size=4,
              device="cpu", sets={"pretrained": "false"}, out=folder / "speech-run", quiet=True)  # fmt: skip
    return folder


@pytest.fixture
def speech_run(trained_speech, tmp_path):
    """This test's copy of the trained speech run (tmp_path/speech-run) and its data (tmp_path/speech)."""
    shutil.copytree(trained_speech, tmp_path, dirs_exist_ok=True)
    return tmp_path / "speech-run"


@few(40)
@given(mutation=MUTATIONS)
def test_damaged_audio_to_transcribe(cli, speech_run, mutation, tmp_path):
    audio = Path(tempfile.mkdtemp(dir=tmp_path, prefix="example-")) / "x.wav"
    shutil.copy(tmp_path / "speech" / "input.wav", audio)
    mutate(audio, mutation)
    cli("predict", str(speech_run), str(audio))


@pytest.fixture
def counted(cli, tmp_path) -> Path:
    """A cache folder holding the parameter counts of the models `zoo list tiny*` shows."""
    cache = tmp_path / "counted"
    cache.mkdir()
    assert (r := cli("list", "tiny*", env={"ZOO_CACHE_DIR": str(cache)}, writes=(cache,)))[0] == 0, r[1]
    assert (cache / "params.json").is_file()
    return cache


@few(30)  # with a damaged params.json, an example counts parameters afresh, in a child process
@given(which=st.sampled_from(["verified.json", "params.json"]), mutation=MUTATIONS)
def test_damaged_caches_never_block(cli, counted, which, mutation, tmp_path):
    cache = Path(tempfile.mkdtemp(dir=tmp_path, prefix="example-")) / "cache"
    cache.mkdir()
    if which == "verified.json":  # good counts beside it: this example needs no child process
        shutil.copy(counted / "params.json", cache / "params.json")
    (cache / which).write_text(json.dumps({"x": {"sha256": 1}} if which == "verified.json" else {"x": "y"}))
    mutate(cache / which, mutation)
    code, text = cli("list", "tiny*", env={"ZOO_CACHE_DIR": str(cache)}, writes=(cache,))  # zoo's own cache
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


def test_the_undamaged_inputs_work(cli, run_folder, speech_run, foreign_repo, published_tiny, tmp_path):
    """The properties above damage these inputs: undamaged, each command succeeds, so no property is vacuous."""
    from PIL import Image
    from zoo_images.samples import write_cifar10

    image = tmp_path / "x.png"
    Image.new("RGB", (40, 30), (200, 20, 30)).save(image)
    assert (r := cli("predict", str(run_folder), str(image)))[0] == 0, r[1]
    assert (r := cli("publish", str(run_folder), "me/run", "--dry-run"))[0] == 0, r[1]
    _undamaged_runs_are_listed_and_shown(cli, run_folder)
    cifar = tmp_path / "example-cifar"
    write_cifar10(cifar, per_batch=4)
    train = ("--device", "cpu", "--epochs", "1", "--quiet", "--out", "{out}")
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
        code, text = cli("train", "wav2vec2_tiny", "--dataset", layout, "--data-dir", str(speech), *SPEECH)
        assert code == 0, text
    hub = _commit_published(published_tiny, tmp_path)
    code, text = cli("reproduce", "me/tiny", "--hub", str(hub), "--out", "{out}", "--quiet", "--json")
    assert code == 0 and json.loads(cli.stdout)["verdict"] == "bitwise", text  # the same CPU, seed and data


def _undamaged_runs_are_listed_and_shown(cli: CLI, run: Path) -> None:
    """`zoo runs` lists the run with its metric; `zoo runs show` prints each epoch's row of metrics.jsonl."""
    assert (r := cli("runs", str(run.parent), "--json"))[0] == 0, r[1]
    (row,) = [row for row in json.loads(cli.stdout) if row["run_dir"] == str(run)]
    assert row["metric"] == {"name": "accuracy", "value": 0.95} and row["published"] == "me/run@" + "a" * 40, row
    assert (r := cli("runs", str(run.parent)))[0] == 0 and re.search(r"cnn\s.*0\.95", cli.stdout), r[1]
    code, text = cli("runs", "show", str(run))
    assert code == 0 and "cnn (cnn-cifar10 on cifar10)" in text, text
    table = [line.split() for line in cli.stdout.splitlines()]
    for epoch, accuracy, loss in (("1", "0.6", "1"), ("2", "0.7", "0.5")):
        assert any(cells[:1] == [epoch] and accuracy in cells and loss in cells for cells in table), text


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
