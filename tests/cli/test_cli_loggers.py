"""`zoo train --logger`: TensorBoard event files read back with tensorboard's own reader, a plugin's logger chosen
by flag or ZOO_LOGGERS, and a failing logger reported once while training goes on."""

import csv
import json

import pytest
from zoo_fixtures import assert_clean_error, history

TRAIN = ["train", "tiny_mlp", "--epochs", "2", "--device", "cpu", "--quiet"]


@pytest.fixture
def site(plugin_sites):
    return [plugin_sites("zoo-tinyplug")]


def scalars(folder, tag):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(folder), size_guidance={"scalars": 0})
    events.Reload()
    return [(e.step, e.value) for e in events.Scalars(tag)]


def test_tensorboard_event_files_hold_the_runs_scalars(run_zoo, site, tmp_path):
    out = tmp_path / "run"
    proc = run_zoo(*TRAIN, "--logger", "tensorboard", "--set", "log_every=5", "--out", str(out), sites=site)
    assert proc.returncode == 0, proc.stderr
    rows = history(out)
    board = out / "tensorboard"
    for name in ("accuracy", "loss", "train_loss"):
        got = scalars(board, f"epoch/{name}")
        assert [s for s, _ in got] == [1, 2]
        assert [v for _, v in got] == pytest.approx([row[name] for row in rows], rel=1e-6)  # float32 in the file
    steps = sum(row["steps"] for row in rows)
    losses = scalars(board, "train/loss")
    assert [s for s, _ in losses] == list(range(5, steps + 1, 5))
    assert all(v > 0 for _, v in losses) and losses[0][1] > losses[-1][1]  # it learns
    assert {round(v, 6) for _, v in scalars(board, "train/lr")} == {0.01}  # the recipe's lr, no schedule
    assert all(v > 0 for _, v in scalars(board, "train/samples_per_second"))


def test_zoo_loggers_sets_the_default_and_the_flag_replaces_it(run_zoo, site, tmp_path):
    first = tmp_path / "env"
    proc = run_zoo(*TRAIN, "--out", str(first), sites=site, env={"ZOO_LOGGERS": "csv"})
    assert proc.returncode == 0, proc.stderr
    with (first / "logs" / "epochs.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert [float(r["accuracy"]) for r in rows] == [row["accuracy"] for row in history(first)]
    assert not (first / "tensorboard").exists()
    second = tmp_path / "flag"
    proc = run_zoo(*TRAIN, "--logger", "tensorboard", "--out", str(second), sites=site, env={"ZOO_LOGGERS": "csv"})
    assert proc.returncode == 0, proc.stderr
    assert (second / "tensorboard").is_dir() and not (second / "logs").exists()


def test_a_failing_logger_is_reported_once_and_training_goes_on(run_zoo, site, plugin_sites, tmp_path):
    out = tmp_path / "run"
    args = ["--logger", "tracker-down", "--logger", "csv", "--set", "log_every=1", "--out", str(out), "--json"]
    proc = run_zoo(*TRAIN, *args, sites=[*site, plugin_sites("zoo-badcontract")])
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["epochs"] == 2
    reports = [line for line in proc.stderr.splitlines() if "tracker-down" in line]
    assert len(reports) == 1, proc.stderr
    assert "failed in log_step" in reports[0] and "tracking server at 127.0.0.1:9 is down" in reports[0]
    assert "training goes on without it" in reports[0]
    assert (out / "train.log").read_text().count("tracker-down") == 1
    with (out / "logs" / "epochs.csv").open() as fh:
        assert len(list(csv.DictReader(fh))) == 2  # the other logger kept logging


@pytest.mark.parametrize(
    ("env", "args", "message"),
    [
        ({}, ["--logger", "tensorbord"], "Did you mean 'tensorboard'?"),
        ({"ZOO_LOGGERS": "nope"}, [], "unknown logger 'nope'"),
    ],
)
def test_an_unknown_logger_exits_2_before_training(run_zoo, site, tmp_path, env, args, message):
    out = tmp_path / "never"
    proc = run_zoo(*TRAIN, *args, "--out", str(out), sites=site, env=env)
    assert_clean_error(proc, 2, message)
    assert not out.exists()


def test_plugins_lists_the_loggers_each_plugin_registers(run_zoo, site):
    rows = {r["name"]: r for r in json.loads(run_zoo("plugins", "--json", sites=site).stdout)}
    assert rows["tiny"]["loggers"] == ["csv"]
    assert rows["mlflow"]["loggers"] == ["mlflow"] and rows["mlflow"]["distribution"] == "zoo-mlflow"
