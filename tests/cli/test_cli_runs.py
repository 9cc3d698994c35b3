"""`zoo runs` finds the finished runs under a folder and summarises them; `zoo runs show` prints one epoch by epoch."""

import json
import os
import shutil

import pytest
from zoo_fixtures import assert_clean_error, history


@pytest.fixture(scope="module")
def runs_tree(tmp_path_factory, plugin_sites, params_cache):
    """Two real runs at different depths, one published to a local hub, and a copy of one with a broken config."""
    import os
    import subprocess

    from zoo_fixtures import ZOO

    root = tmp_path_factory.mktemp("runs")
    site = plugin_sites("zoo-tinyplug")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZOO_", "HF_"))}
    env.update(PYTHONPATH=str(site), ZOO_CACHE_DIR=str(params_cache), COLUMNS="200", NO_COLOR="1")
    common = ["train", "tiny_mlp", "--device", "cpu", "--quiet"]
    for args in (["--epochs", "3", "--out", str(root / "a")], ["--epochs", "2", "--out", str(root / "deep" / "b")]):
        proc = subprocess.run([str(ZOO), *common, *args], env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
    hub = root.parent / f"{root.name}-hub"
    proc = subprocess.run(
        [str(ZOO), "publish", str(root / "a"), "me/tiny", "--hub", str(hub), "--json"], env=env, capture_output=True,
        text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return root, json.loads(proc.stdout)["revision"]


def test_runs_json_lists_every_finished_run(run_zoo, plugin_sites, runs_tree):
    root, revision = runs_tree
    proc = run_zoo("runs", str(root), "--json", sites=[plugin_sites("zoo-tinyplug")])
    assert proc.returncode == 0, proc.stderr
    rows = {r["run_dir"]: r for r in json.loads(proc.stdout)}
    assert set(rows) == {str(root / "a"), str(root / "deep" / "b")}  # data/, checkpoints/ are not runs
    a, b = rows[str(root / "a")], rows[str(root / "deep" / "b")]
    assert set(a) == {"run_dir", "model", "recipe", "dataset", "metric", "epochs", "seconds", "finished", "published"}
    assert (a["model"], a["recipe"], a["dataset"], a["epochs"], b["epochs"]) == (
        "tiny_mlp",
        "tiny-fit",
        "tiny-digits",
        3,
        2,
    )
    metrics = json.loads((root / "a" / "metrics.json").read_text())
    assert a["metric"] == {"name": "accuracy", "value": metrics["accuracy"]}
    assert a["published"] == f"me/tiny@{revision}" and b["published"] is None
    assert 0 < a["seconds"] < 300 and a["finished"] <= b["finished"]  # oldest first


def test_runs_table_and_a_damaged_run(run_zoo, plugin_sites, runs_tree, tmp_path):
    root, _ = runs_tree
    copy = tmp_path / "tree"
    shutil.copytree(root, copy)
    (copy / "deep" / "b" / "metrics.json").write_text("{not json")
    proc = run_zoo("runs", str(copy), sites=[plugin_sites("zoo-tinyplug")])
    assert proc.returncode == 0, proc.stderr
    assert "tiny_mlp" in proc.stdout and "me/tiny@" in proc.stdout and "accuracy" in proc.stdout
    assert "deep/b" not in proc.stdout and "skipped" in proc.stderr and "deep/b" in proc.stderr


@pytest.mark.parametrize("width", [80, 60])
def test_runs_table_fits_a_narrow_terminal_and_never_splits_a_cell(run_zoo, plugin_sites, runs_tree, width):
    root, _ = runs_tree
    site = [plugin_sites("zoo-tinyplug")]
    rows = json.loads(run_zoo("runs", str(root), "--json", sites=site).stdout)
    proc = run_zoo("runs", str(root), sites=site, env={"COLUMNS": str(width)})
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.rstrip("\n").splitlines()
    assert len(lines) == 1 + len(rows), proc.stdout  # a header and one line per run: no cell wrapped onto another
    assert all(len(line.rstrip()) <= width for line in lines), proc.stdout
    assert lines[0].split()[:2] == ["Run", "Model"] and "Metric" in lines[0]
    for row in rows:  # the columns kept show whole: the model, the metric, the date
        line = next(line for line in lines[1:] if f"{row['metric']['value']:.4g}" in line)
        assert f" {row['model']} " in line and f"{row['metric']['name']} {row['metric']['value']:.4g}" in line
        if width == 80:
            assert row["finished"][:16].replace("T", " ") in line


def test_runs_show_prints_each_epoch_and_a_chart(run_zoo, plugin_sites, runs_tree):
    root, _ = runs_tree
    site = [plugin_sites("zoo-tinyplug")]
    shown = json.loads(run_zoo("runs", "show", str(root / "a"), "--json", sites=site).stdout)
    lines = (root / "a" / "metrics.jsonl").read_text().splitlines()
    assert shown["history"] == [json.loads(line) for line in lines] and len(lines) == 3
    assert shown["best_epoch"] == json.loads((root / "a" / "metrics.json").read_text())["epoch"]
    text = run_zoo("runs", "show", str(root / "a"), sites=site).stdout
    rows = history(root / "a")
    for row in rows:
        assert f"{row['train_loss']:.4g}" in text and f"{row['accuracy']:.4g}" in text
    assert "train_loss\n" in text and "accuracy\n" in text and "▲ best: epoch" in text
    assert text.count("│") >= 12 and "█" in text  # two charts of 6 rows


def test_runs_without_runs(run_zoo, tmp_path):
    quiet = run_zoo("runs", cwd=tmp_path)  # no runs/ here yet: nothing to list is not an error
    assert quiet.returncode == 0 and "No finished runs" in quiet.stdout
    assert_clean_error(run_zoo("runs", str(tmp_path / "nope")), 2, "is not a folder")
    assert_clean_error(run_zoo("runs", "show", str(tmp_path)), 2, "is not a run folder")
    assert_clean_error(run_zoo("runs", "show"), 2, "zoo runs show RUN_DIR")


def _edit(path, change):
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document))


def _fifo(path):
    path.unlink()
    os.mkfifo(path)


# Each damages a copy of a run its own way; `zoo runs` must skip it with one warning and list the rest.
DAMAGES = {
    "fifo-config": lambda run: _fifo(run / "config.json"),
    "fifo-metrics": lambda run: _fifo(run / "metrics.json"),
    "config-not-json": lambda run: (run / "config.json").write_text("{"),
    "lr-a-string": lambda run: _edit(run / "config.json", lambda c: c["settings"].update(lr="fast")),
    "model-of-five-megabytes": lambda run: _edit(run / "config.json", lambda c: c.update(model="m" * 5_000_000)),
    "metric-a-list": lambda run: _edit(run / "metrics.json", lambda m: m.update(accuracy=[1])),
    "row-a-string": lambda run: (run / "metrics.jsonl").write_text('{"epoch": 1, "loss": "x"}\n'),
    "published-a-number": lambda run: (run / "published.json").write_text("7"),
}


def test_runs_lists_every_good_run_and_warns_once_per_damaged_one(run_zoo, plugin_sites, runs_tree, tmp_path):
    root, _ = runs_tree
    tree = tmp_path / "tree"
    for name in ("good", "labels-of-five-megabytes", *DAMAGES):
        shutil.copytree(root / "a", tree / name)
    for name, damage in DAMAGES.items():
        damage(tree / name)
    # a field zoo does not read, however large, is no damage
    _edit(tree / "labels-of-five-megabytes" / "config.json", lambda c: c.update(labels=["x" * 1_000_000] * 5))
    (tree / "other-library").mkdir()  # another library's config.json: not a run, and no warning
    (tree / "other-library" / "config.json").write_text('{"architectures": ["Other"]}')
    (tree / "other-library" / "metrics.json").write_text("{}")
    proc = run_zoo("runs", str(tree), "--json", sites=[plugin_sites("zoo-tinyplug")], timeout=120)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert sorted(r["run_dir"] for r in rows) == [str(tree / "good"), str(tree / "labels-of-five-megabytes")]
    assert len(proc.stdout) < 5000  # the big field is not echoed
    warnings = proc.stderr.splitlines()
    assert len(warnings) == len(DAMAGES) and all(w.startswith("warning: skipped") for w in warnings), proc.stderr
    for name in DAMAGES:
        [line] = [w for w in warnings if f"{tree / name}:" in w]
        assert len(line) < 1000, line[:2000]
