"""`zoo train`, `zoo eval` and `zoo predict` as a user runs them, including kills, Ctrl-C and two-process DDP."""

import json
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from zoo_fixtures import ZOO, assert_clean_error, history, same_weights, start_and_wait_for

# Long enough (about 3,500 steps) that a kill lands mid-run; each checkpoint is logged to train.log. On the CPU:
# bitwise resume is the point here, not the device.
LONG = ["train", "tiny_mlp", "--epochs", "20", "--batch-size", "8", "--checkpoint-every", "25", "--quiet"]
LONG += ["--device", "cpu"]


@pytest.fixture
def site(plugin_sites):
    return [plugin_sites("zoo-tinyplug")]


def test_sigkill_mid_epoch_then_resume_is_bitwise_identical(run_zoo, site, zoo_env, tmp_path):
    straight = run_zoo(*LONG, "--out", str(tmp_path / "straight"), sites=site)
    assert straight.returncode == 0, straight.stderr
    killed = tmp_path / "killed"
    proc = start_and_wait_for(LONG, killed, site, zoo_env, r"checkpoint saved at epoch [3-9], batch \d+")
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    log = (killed / "train.log").read_text()
    assert "done in" not in log and not (killed / "model.safetensors").exists()
    resumed = run_zoo(*LONG, "--out", str(killed), "--resume", sites=site)
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed from" in (killed / "train.log").read_text()
    assert same_weights(tmp_path / "straight", killed)
    assert history(tmp_path / "straight") == history(killed)


def test_ctrl_c_saves_a_checkpoint_and_exits_cleanly(run_zoo, site, zoo_env, tmp_path):
    out = tmp_path / "interrupted"
    proc = start_and_wait_for(LONG, out, site, zoo_env, r"checkpoint saved at epoch 2, batch \d+")
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "interrupted: checkpoint saved at epoch" in stderr and "--resume" in stderr
    assert "Traceback" not in stderr
    straight = run_zoo(*LONG, "--out", str(tmp_path / "straight"), sites=site)
    resumed = run_zoo(*LONG, "--out", str(out), "--resume", sites=site)
    assert straight.returncode == resumed.returncode == 0, resumed.stderr
    assert same_weights(tmp_path / "straight", out)


def rank_records(folder: Path) -> dict[int, dict]:
    """The records the tiny plugin's ranks wrote themselves (`--set dump_weights=FOLDER`), by global rank."""
    records = {int(p.stem.removeprefix("rank")): json.loads(p.read_text()) for p in folder.glob("rank*.json")}
    for rank, record in records.items():
        record["weights"] = load_file(folder / f"rank{rank}.safetensors")
    return records


def assert_ranks_split_the_data(records: dict[int, dict], epochs: int, train_size: int) -> None:
    """Every epoch, each rank trained on its own share of the (distinct) training rows: equal, disjoint, complete."""
    world = len(records)
    for epoch in range(epochs):
        shares = [record["epochs"][epoch] for record in records.values()]
        assert [len(share) for share in shares] == [train_size // world] * world, f"epoch {epoch + 1}"
        assert len(set().union(*shares)) == train_size, f"epoch {epoch + 1}: the ranks' shares overlap"
    assert all(len(record["epochs"]) == epochs for record in records.values())


def assert_equal_weights(records: dict[int, dict], run: Path) -> None:
    """Every rank ended with the weights the run saved, bit for bit."""
    saved = load_file(run / "model.safetensors")
    for rank, record in records.items():
        weights = record["weights"]
        assert weights.keys() == saved.keys() and all(torch.equal(weights[k], saved[k]) for k in saved), rank


def test_two_cpu_processes_with_ddp(run_zoo, site, tmp_path):
    out, dump = tmp_path / "ddp", tmp_path / "dump"
    args = ["--nproc", "2", "--device", "cpu", "--set", f"dump_weights={dump}", "--out", str(out), "--json"]
    proc = run_zoo("train", "tiny_mlp", *args, sites=site)
    assert proc.returncode == 0, proc.stderr
    records = rank_records(dump)
    assert sorted(records) == [0, 1], "two processes, each its own rank"
    assert [(r["env"]["RANK"], r["env"]["LOCAL_RANK"], r["env"]["WORLD_SIZE"]) for _, r in sorted(records.items())] == [
        ("0", "0", "2"),
        ("1", "1", "2"),
    ]
    assert records[0]["pid"] != records[1]["pid"] and records[0]["agent"] == records[1]["agent"]
    assert_ranks_split_the_data(records, epochs=3, train_size=1400)
    assert_equal_weights(records, out)
    result = json.loads(proc.stdout)
    assert result["run_dir"] == str(out) and result["metrics"]["accuracy"] > 0.8
    log = (out / "train.log").read_text()
    assert re.search(r"weights identical on all 2 ranks: sha256 [0-9a-f]{64}", log)
    config = json.loads((out / "config.json").read_text())
    assert config["distributed"]["world_size"] == 2
    assert config["distributed"]["weights_sha256"] in log
    visible = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    assert visible == ["checkpoints", "config.json", "metrics.json", "metrics.jsonl", "model.safetensors", "train.log"]
    assert log.count("start tiny-fit") == 1  # only rank 0 writes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ddp", "dump"]


def test_two_nodes_on_one_machine(site, zoo_env, tmp_path):
    """Multi-node flags for real: two torchrun agents meet at one rendezvous endpoint on 127.0.0.1. Node 1 starts
    first, so a rendezvous that ranked nodes by arrival (or process id) rather than by --node-rank would show."""
    from zoo_fixtures import free_port

    endpoint = f"127.0.0.1:{free_port()}"
    env = dict(zoo_env, PYTHONPATH=str(site[0]))
    out, dump = tmp_path / "multinode", tmp_path / "dump"
    # --device cpu: two nodes on one machine would share one GPU on a GPU box
    args = ["--nnodes", "2", "--rdzv-endpoint", endpoint, "--device", "cpu", "--set", f"dump_weights={dump}"]
    args += ["--out", str(out), "--quiet", "--json"]

    def start(node_rank: int) -> subprocess.Popen:
        command = [str(ZOO), "train", "tiny_mlp", *args, "--node-rank", str(node_rank)]
        return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    late = start(1)
    for _ in range(600):  # until node 1's launcher is about to start its torchrun agent
        if (out / ".job.json").exists() or late.poll() is not None:
            break
        time.sleep(0.1)
    nodes = [start(0), late]
    outputs = [node.communicate(timeout=300) for node in nodes]
    assert [node.returncode for node in nodes] == [0, 0], outputs
    assert json.loads(outputs[0][0])["metrics"]["accuracy"] > 0.8
    assert json.loads(outputs[1][0]) == {"run_dir": str(out), "node_rank": 1}
    assert "weights identical on all 2 ranks" in (out / "train.log").read_text()
    records = rank_records(dump)
    assert sorted(records) == [0, 1], "one rank on each node"
    assert all(r["env"]["WORLD_SIZE"] == "2" and r["env"]["LOCAL_RANK"] == "0" for r in records.values())
    assert records[0]["agent"] != records[1]["agent"], "each node runs its own torchrun agent"
    node_rank = {node.pid: rank for rank, node in enumerate(nodes)}  # which `zoo train --node-rank K` started it
    assert {r["env"]["GROUP_RANK"]: node_rank.get(r["launcher"]) for r in records.values()} == {"0": 0, "1": 1}
    assert_ranks_split_the_data(records, epochs=3, train_size=1400)
    assert_equal_weights(records, out)


def test_compile(run_zoo, site, tmp_path):
    args = ["--compile", "--epochs", "1", "--device", "cpu", "--out", str(tmp_path / "c"), "--json"]  # 0.5: CPU batches
    proc = run_zoo("train", "tiny_mlp", *args, sites=site)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["metrics"]["accuracy"] > 0.5
    assert json.loads((tmp_path / "c" / "config.json").read_text())["settings"]["compile"] is True


def test_gpu_check_script_runs():
    """bench/gpu_check.sh is for a GPU machine; a tiny CPU run keeps it from rotting between loans."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    script = root / "bench" / "gpu_check.sh"
    proc = subprocess.run(["bash", str(script), "--cpu-smoke"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"resnet18 zoo engine\s+\d+", proc.stdout) and re.search(r"resnet50 zoo engine\s+\d+", proc.stdout)
    assert re.search(r"wav2vec2_base zoo engine\s+\d+", proc.stdout)
    for mode in ("cpu", "device"):
        assert re.search(rf"resnet18 decode={mode}\s+\d+", proc.stdout)
    assert re.search(r"device decode against the CPU path: max [01] levels", proc.stdout)


def test_train_eval_predict_json(run_zoo, site, tmp_path):
    out = tmp_path / "run"
    trained = run_zoo("train", "tiny_mlp", "--out", str(out), "--json", "--epochs", "2", sites=site)
    assert trained.returncode == 0, trained.stderr
    result = json.loads(trained.stdout)
    assert set(result) == {"run_dir", "model", "recipe", "dataset", "epochs", "metrics", "seconds"}
    assert (result["model"], result["recipe"], result["dataset"], result["epochs"]) == (
        "tiny_mlp",
        "tiny-fit",
        "tiny-digits",
        2,
    )
    evaluated = json.loads(run_zoo("eval", str(out), "--json", sites=site).stdout)
    assert set(evaluated) == {"model", "dataset", "metrics"}
    assert evaluated["metrics"]["accuracy"] == result["metrics"]["accuracy"]
    from sklearn.datasets import load_digits

    x, _ = load_digits(return_X_y=True)
    sample = tmp_path / "digit.csv"
    sample.write_text(",".join(str(int(v)) for v in x[1600]))
    predicted = json.loads(run_zoo("predict", str(out), str(sample), "--top", "3", "--json", sites=site).stdout)
    assert [row["input"] for row in predicted] == [str(sample)]
    [row] = predicted
    assert len(row["output"]) == 3 and set(row["output"][0]) == {"label", "score"}
    assert row["output"][0]["score"] >= row["output"][1]["score"] >= row["output"][2]["score"]
    human = run_zoo("predict", str(out), str(sample), sites=site)
    assert human.returncode == 0 and str(sample) in human.stdout


def test_progress_bar_on_stderr(run_zoo, site, tmp_path):
    proc = run_zoo("train", "tiny_mlp", "--epochs", "1", "--out", str(tmp_path / "p"), sites=site)
    assert proc.returncode == 0
    assert "samples/s" in proc.stderr and "epoch 1/1" in proc.stderr and "loss" in proc.stderr
    assert "run folder" in proc.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--epochs", "0"], "--epochs must be an integer in [1, 1000000], got 0"),
        (["--lr", "-0.1"], "--lr must be a finite number > 0, got -0.1"),
        (["--lr", "inf"], "--lr must be a finite number > 0, got inf"),
        (["--set", "weight_decay=inf"], "weight_decay must be a finite number >= 0, got inf"),
        (
            ["--set", "optimizer=sgd", "--set", "nesterov=true", "--set", "momentum=0"],
            "nesterov=true needs momentum > 0",
        ),
        (["--set", "label_smoothing=5"], "label_smoothing must be a finite number in [0, 1], got 5.0"),
        (["--set", "warmup_epochs=inf"], "warmup_epochs must be a finite number in [0, 1000000], got inf"),
        (["--seed", str(2**70)], "--seed must be an integer in [0, 4294967295], got 1180591620717411303424"),
        (["--batch-size", "5000", "--set", "drop_last=true"], "no batch would remain"),
        # a device this machine lacks: CUDA on a CPU box, Apple's MPS on a CUDA box
        (["--device", "mps"], "MPS backend is not available")
        if torch.cuda.is_available()
        else (["--device", "cuda"], "no CUDA GPU is visible"),
        (["--nproc", "4096", "--device", "cpu"], "more than the"),
        (["--set", "hiden=64"], "Did you mean 'hidden'?"),
        (["--set", "lr=fast"], "expected float"),
        (["--recipe", "nope"], "unknown recipe 'nope'"),
        (["--dataset", "nope"], "unknown dataset 'nope'"),
        (["--data-dir", "/nonexistent/zoo"], "does not exist"),
        (["--precision", "fp16", "--device", "cpu"], "fp16 needs a CUDA GPU"),
        (["--nnodes", "2"], "needs --rdzv-endpoint"),
    ],
)
def test_impossible_values_exit_2_before_any_work(run_zoo, site, tmp_path, args, message):
    out = tmp_path / "never"
    assert_clean_error(run_zoo("train", "tiny_mlp", "--out", str(out), *args, sites=site), 2, message)
    assert not out.exists()


def test_model_without_a_recipe(run_zoo, plugin_sites):
    proc = run_zoo("train", "needs_file", "--epochs", "1", sites=[plugin_sites("zoo-unbuildable")])
    assert_clean_error(proc, 2, "no plugin provides a training recipe")


def test_eval_of_a_folder_that_is_not_a_run(run_zoo, tmp_path):
    assert_clean_error(run_zoo("eval", str(tmp_path)), 2, "is not a run folder")


def test_ddp_ranks_end_equal_and_match_one_process_with_the_same_global_batch(run_zoo, site, tmp_path):
    """Each rank saves the weights it evaluates (the tiny plugin's test hook), so the check does not rest on the
    trainer's own digest; two ranks of 8 must train as one process of 16 (no dropout, same data order)."""
    common = ["--epochs", "1", "--device", "cpu", "--quiet", "--set", "dropout=0"]
    two, one = tmp_path / "two", tmp_path / "one"
    args2 = ["--nproc", "2", "--batch-size", "8", "--set", f"dump_weights={tmp_path / 'dump2'}", "--out", str(two)]
    args1 = ["--batch-size", "16", "--set", f"dump_weights={tmp_path / 'dump1'}", "--out", str(one)]
    other = ["--batch-size", "8", "--set", f"dump_weights={tmp_path / 'dump8'}", "--out", str(tmp_path / "eight")]
    for args in (args2, args1, other):
        proc = run_zoo("train", "tiny_mlp", *common, *args, sites=site)
        assert proc.returncode == 0, proc.stderr
    rank0, rank1 = (load_file(tmp_path / "dump2" / f"rank{r}.safetensors") for r in (0, 1))
    assert rank0.keys() == rank1.keys() and all(torch.equal(rank0[k], rank1[k]) for k in rank0)
    single = load_file(tmp_path / "dump1" / "rank0.safetensors")
    assert all(torch.allclose(rank0[k], single[k], atol=1e-5, rtol=1e-4) for k in single), "2 ranks != 1 process"
    smaller = load_file(tmp_path / "dump8" / "rank0.safetensors")  # the comparison is sharp enough to notice
    assert not all(torch.allclose(smaller[k], single[k], atol=1e-5, rtol=1e-4) for k in single)
    saved = load_file(two / "model.safetensors")
    assert all(torch.equal(saved[k], rank0[k]) for k in saved)
