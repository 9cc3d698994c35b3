"""`zoo train --data-dir hf://datasets/...` as users run it: two DDP ranks share a streamed Hub dataset (each row once,
from the records the ranks wrote), and a run killed mid-epoch resumes to the same bits, reading row groups in
DataLoader workers. The data: scikit-learn's digits written as a parquet dataset repo by the `datasets` library."""

import json
import signal
from collections import Counter
from pathlib import Path

import pytest
from zoo_fixtures import history, same_weights, start_and_wait_for

TRAIN_ROWS, ROWS_PER_GROUP = 1437, 64  # an odd count: two ranks need one padding row
CARD = """---
configs:
- config_name: default
  data_files:
  - split: train
    path: data/train-*
  - split: test
    path: data/test-*
dataset_info:
  features:
  - name: pixels
    sequence: float32
  - name: label
    dtype:
      class_label:
        names:
%s
---
# digits
"""


@pytest.fixture(scope="module")
def digits_hub(tmp_path_factory) -> Path:
    """A local hub folder holding datasets/org/digits: train and test parquet files of 64-pixel rows."""
    import datasets
    from sklearn.datasets import load_digits

    from zoo.hub.local_git import LocalHub

    root = tmp_path_factory.mktemp("hub")
    x, y = load_digits(return_X_y=True)
    features = datasets.Features(
        {"pixels": datasets.Sequence(datasets.Value("float32")), "label": datasets.ClassLabel(names=list("0123456789"))}
    )
    files = {}
    for split, rows in (("train", slice(0, TRAIN_ROWS)), ("test", slice(TRAIN_ROWS, None))):
        table = datasets.Dataset.from_dict({"pixels": x[rows].tolist(), "label": y[rows].tolist()}, features=features)
        path = root / f"{split}.parquet"
        table.to_parquet(str(path), batch_size=ROWS_PER_GROUP)
        files[f"data/{split}-00000-of-00001.parquet"] = path
    names = "\n".join(f"          '{i}': '{i}'" for i in range(10))
    files["README.md"] = (CARD % names).encode()
    hub = LocalHub(root, "datasets")
    hub.create_repo("org/digits")
    hub.commit("org/digits", files, "digits")
    return root


@pytest.fixture
def site(plugin_sites):
    return [plugin_sites("zoo-tinyplug")]


def train_rows(hub: Path) -> Counter:
    """The training rows as the tiny plugin's records name them (sha256 of the float32 row, scaled)."""
    import hashlib

    import pyarrow.parquet as pq
    import torch

    table = pq.read_table(hub / "train.parquet")
    rows = torch.tensor(table.column("pixels").to_pylist(), dtype=torch.float32) / 16.0
    return Counter(hashlib.sha256(row.numpy().tobytes()).hexdigest()[:16] for row in rows)


def test_two_ranks_each_stream_their_share_and_one_epoch_covers_every_row_once(run_zoo, site, digits_hub, tmp_path):
    records = tmp_path / "records"
    proc = run_zoo(
        "train", "tiny_mlp", "--data-dir", "hf://datasets/org/digits", "--hub", str(digits_hub), "--nproc", "2",
        "--epochs", "2", "--device", "cpu", "--set", f"dump_weights={records}", "--set", "num_workers=1",
        "--out", str(tmp_path / "run"), "--quiet", sites=site, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    ranks = [json.loads((records / f"rank{r}.json").read_text()) for r in range(2)]
    assert [r["env"]["RANK"] for r in ranks] == ["0", "1"] and ranks[0]["pid"] != ranks[1]["pid"]
    expected = train_rows(digits_hub)
    for epoch in range(2):
        shares = [r["epochs"][epoch] for r in ranks]
        assert [len(s) for s in shares] == [(TRAIN_ROWS + 1) // 2] * 2
        seen = Counter(shares[0]) + Counter(shares[1])
        assert set(seen) == set(expected)  # every row, ...
        assert sum(seen.values()) - sum(expected.values()) == 1  # ... once, plus the one padding row
    assert ranks[0]["epochs"][0] != ranks[0]["epochs"][1]  # reshuffled each epoch
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["hub_dataset"]["repo_id"] == "org/digits" and len(config["hub_dataset"]["revision"]) == 40


# Long enough that a kill lands mid-epoch; on the CPU, where a killed and a straight run must give the same bits.
LONG = [
    "train", "tiny_mlp", "--data-dir", "hf://datasets/org/digits", "--epochs", "3", "--batch-size", "16",
    "--checkpoint-every", "10", "--set", "num_workers=2", "--device", "cpu", "--quiet",
]  # fmt: skip


def test_a_streamed_run_killed_mid_epoch_resumes_bitwise(run_zoo, site, zoo_env, digits_hub, tmp_path):
    args = [*LONG, "--hub", str(digits_hub)]
    straight = run_zoo(*args, "--out", str(tmp_path / "straight"), sites=site, timeout=600)
    assert straight.returncode == 0, straight.stderr
    killed = tmp_path / "killed"
    proc = start_and_wait_for(args, killed, site, zoo_env, r"checkpoint saved at epoch 2, batch [1-9]\d")
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    resumed = run_zoo(*args, "--out", str(killed), "--resume", sites=site, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed from" in (killed / "train.log").read_text()
    assert same_weights(tmp_path / "straight", killed) and history(tmp_path / "straight") == history(killed)


def test_reproduce_pulls_the_recorded_dataset_commit_and_refuses_other_files(run_zoo, site, digits_hub, tmp_path):
    from zoo.hub.local_git import LocalHub

    hub = str(digits_hub)
    trained = run_zoo(
        "train", "tiny_mlp", "--data-dir", "hf://datasets/org/digits", "--hub", hub, "--epochs", "2",
        "--device", "cpu", "--out", str(tmp_path / "run"), "--quiet", sites=site,
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    evaluated = run_zoo("eval", str(tmp_path / "run"), "--hub", hub, "--json", sites=site)  # on the recorded commit
    assert evaluated.returncode == 0, evaluated.stderr
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert json.loads(evaluated.stdout)["metrics"]["accuracy"] == pytest.approx(metrics["accuracy"], abs=1e-6)
    published = run_zoo("publish", str(tmp_path / "run"), "me/tiny-digits", "--hub", hub, "--json", sites=site)
    assert published.returncode == 0, published.stderr
    recorded = json.loads((tmp_path / "run" / "config.json").read_text())["hub_dataset"]
    # main moves on: a later commit drops a training row, on a branch so the other tests keep main
    data = LocalHub(digits_hub, "datasets")
    data.create_branch("org/digits", "v2")
    import pyarrow.parquet as pq

    smaller = tmp_path / "train.parquet"
    pq.write_table(pq.read_table(digits_hub / "train.parquet").slice(1), smaller)
    data.commit("org/digits", {"data/train-00000-of-00001.parquet": smaller}, "drop a row", branch="v2")
    same = run_zoo("reproduce", "me/tiny-digits", "--hub", hub, "--out", str(tmp_path / "again"), "--json", sites=site)
    assert same.returncode == 0, same.stderr
    assert json.loads(same.stdout)["verdict"] == "bitwise"
    assert json.loads((tmp_path / "again" / "config.json").read_text())["hub_dataset"] == recorded
    other = run_zoo(
        "reproduce", "me/tiny-digits", "--hub", hub, "--data-dir", "hf://datasets/org/digits@v2",
        "--out", str(tmp_path / "other"), sites=site,
    )  # fmt: skip
    assert other.returncode == 2 and "differs from the data the published run was trained on" in other.stderr
    assert "Traceback" not in other.stderr
