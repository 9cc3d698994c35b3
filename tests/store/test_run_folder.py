"""A run folder's documents are checked where zoo reads them: each damaged field is one line naming the file and
the field, exit 2, and nothing written; an --out holding the user's own files is refused."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from zoo_fixtures import ZOO, assert_clean_error

TRAIN = ["train", "tiny_mlp", "--device", "cpu", "--quiet"]
#: replaced by a raw JSON literal after dumping, so a case can write what json.dumps never does (1e400, NaN)
MARK = "@@literal@@"
BIG_INT = "1" + "0" * 400  # a number too large for a float


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, plugin_sites, params_cache):
    """A real one-epoch tiny_mlp run (with its checkpoint), noted as published, and a row of digits to predict."""
    root = tmp_path_factory.mktemp("tiny-run")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZOO_", "HF_"))}
    env.update(PYTHONPATH=str(plugin_sites("zoo-tinyplug")), ZOO_CACHE_DIR=str(params_cache))
    args = [str(ZOO), *TRAIN, "--epochs", "1", "--out", str(root / "run")]
    proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    published = [{"repo_id": "me/tiny", "revision": "a" * 40, "hub": None, "date": "2026-01-01T00:00:00+00:00"}]
    (root / "run" / "published.json").write_text(json.dumps(published))
    (root / "digits.csv").write_text(",".join(["8"] * 64))
    return root


def damage(folder: Path, file: str, keys: tuple, literal: str) -> None:
    """Set the field at `keys` of `file` (for metrics.jsonl, keys[0] is the line's index) to the JSON `literal`;
    no keys: the whole document."""
    path = folder / file
    if not keys:
        path.write_text(literal)
        return
    lines = path.read_text().splitlines()
    line = keys[0] if file == "metrics.jsonl" else None
    doc = json.loads(lines[line] if line is not None else path.read_text())
    target = doc
    for key in keys[1 if line is not None else 0 : -1]:
        target = target[key]
    target[keys[-1]] = MARK
    text = json.dumps(doc).replace(f'"{MARK}"', literal)
    if line is not None:
        lines[line] = text
        text = "\n".join(lines) + "\n"
    path.write_text(text)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def subject(file: str, keys: tuple) -> str:
    """The field as zoo's message names it: "field 'settings.lr'", "field '[0].repo_id'", "the document"."""
    named = ""
    for key in keys[1:] if file == "metrics.jsonl" else keys:  # a line of metrics.jsonl: its own keys
        named += f"[{key}]" if isinstance(key, int) else f".{key}" if named else key
    return f"field '{named}'" if named else "the document"


OPTION = ("settings", "options")
# (command, file, keys, literal); the commands that import torch (eval, predict, train) take a few cases each
CASES = {
    "lr-a-string": ("eval", "config.json", ("settings", "lr"), '"fast"'),
    "model-args-a-list": ("eval", "config.json", ("model_args",), "[64, 32]"),
    "epochs-zero": ("predict", "config.json", ("settings", "epochs"), "0"),
    "option-of-the-wrong-type": ("resume", "config.json", (*OPTION, "hidden"), '"wide"'),
    "seed-out-of-range": ("resume", "config.json", ("seed",), str(2**40)),
    "lr-too-large-for-a-float": ("runs show", "config.json", ("settings", "lr"), "1e400"),
    "option-out-of-the-recipes-range": ("publish", "config.json", (*OPTION, "dropout"), "1.5"),
    "world-size-zero": ("runs show", "config.json", ("distributed", "world_size"), "0"),
    "device-kind-unknown": ("publish", "config.json", ("device_kind",), '"tpu"'),
    "finished-a-number": ("runs show", "config.json", ("finished",), "20260101"),
    "metric-too-large-for-a-float": ("runs show", "metrics.json", ("accuracy",), "1e400"),
    "metric-a-string": ("publish", "metrics.json", ("accuracy",), '"high"'),
    "metric-a-list": ("runs show", "metrics.json", ("loss",), "[0.2]"),
    "metric-nan": ("publish", "metrics.json", ("loss",), "NaN"),
    "metric-a-huge-integer": ("runs show", "metrics.json", ("accuracy",), BIG_INT),
    "row-metric-a-string": ("runs show", "metrics.jsonl", (0, "accuracy"), '"x"'),
    "row-loss-a-list": ("publish", "metrics.jsonl", (0, "train_loss"), "[1]"),
    "row-loss-too-large-for-a-float": ("runs show", "metrics.jsonl", (0, "loss"), "1e400"),
    "published-not-a-list": ("runs show", "published.json", (), '{"repo_id": "me/tiny"}'),
    "published-repo-id-a-number": ("publish", "published.json", (0, "repo_id"), "7"),
}


@pytest.mark.parametrize("case", CASES)
def test_a_damaged_field_is_named_and_nothing_is_written(run_zoo, plugin_sites, tiny_run, tmp_path, case):
    command, file, keys, literal = CASES[case]
    run = tmp_path / "run"
    shutil.copytree(tiny_run / "run", run)
    damage(run, file, keys, literal)
    before = snapshot(run)
    hub = tmp_path / "hub"
    args = {
        "eval": ["eval", str(run), "--device", "cpu"],
        "predict": ["predict", str(run), str(tiny_run / "digits.csv"), "--device", "cpu"],
        "runs show": ["runs", "show", str(run)],
        "publish": ["publish", str(run), "me/tiny", "--hub", str(hub)],
        "resume": [*TRAIN, "--epochs", "1", "--resume", "--out", str(run)],
    }[command]
    proc = run_zoo(*args, sites=[plugin_sites("zoo-tinyplug")], timeout=120)
    named = f"{run / file}{':1' if file == 'metrics.jsonl' else ''}: {subject(file, keys)}"
    stderr = assert_clean_error(proc, 2, named)
    assert len(stderr.strip().splitlines()) == 1, stderr
    assert snapshot(run) == before and not hub.exists()


def test_a_run_resumes_beside_its_own_logger_folders(run_zoo, plugin_sites, tiny_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(tiny_run / "run", run)
    (run / "logs").mkdir()
    (run / "logs" / "epochs.csv").write_text("epoch,accuracy\n1,0.9\n")  # what the csv logger writes
    (run / "tensorboard").mkdir()
    proc = run_zoo(*TRAIN, "--epochs", "2", "--resume", "--out", str(run), sites=[plugin_sites("zoo-tinyplug")])
    assert proc.returncode == 0, proc.stderr
    assert json.loads((run / "metrics.json").read_text())["epoch"] == 2


@pytest.mark.parametrize("folder", ["logs", "tensorboard"])
def test_an_out_holding_the_users_logger_folder_is_refused(run_zoo, plugin_sites, tmp_path, folder):
    out = tmp_path / "mine"
    (out / folder).mkdir(parents=True)
    (out / folder / "notes.txt").write_text("the user's own")
    proc = run_zoo(*TRAIN, "--out", str(out), sites=[plugin_sites("zoo-tinyplug")], timeout=120)
    assert_clean_error(proc, 2, f"--out {out} is not empty and is not a zoo run folder (it holds {folder})")
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*")) == [folder, f"{folder}/notes.txt"]
