"""The engine on real data (scikit-learn's digits) through a real plugin distribution's recipe."""

import json

import pytest
import torch
from safetensors.torch import load_file

import zoo
from zoo.core.errors import UsageError
from zoo.jobs.train import train


@pytest.fixture
def tiny(plugin_sites, monkeypatch, isolated_registry):
    monkeypatch.syspath_prepend(str(plugin_sites("zoo-tinyplug")))
    isolated_registry()


def fit(tmp_path, name="run", **kwargs):
    """Train on the CPU unless told otherwise: step counts and accuracies below are the CPU defaults'."""
    sets = kwargs.pop("sets", {})
    kwargs.setdefault("device", "cpu")
    return train("tiny_mlp", out=tmp_path / name, quiet=True, sets=sets, **kwargs)


@pytest.mark.usefixtures("tiny")
def test_run_folder(tmp_path):
    result = fit(tmp_path)
    run = tmp_path / "run"
    assert {"model.safetensors", "config.json", "metrics.json", "metrics.jsonl", "train.log"} <= {
        p.name for p in run.iterdir()
    }
    assert result["metrics"]["accuracy"] > 0.85  # 3 epochs of real training
    config = json.loads((run / "config.json").read_text())
    assert config | {"model": "tiny_mlp", "recipe": "tiny-fit", "plugin": "tiny", "plugin_version": "1.2.3"} == config
    assert config["model_args"] == {"features": 64, "hidden": 32, "classes": 10, "dropout": 0.1}
    assert config["dataset"]["name"] == "tiny-digits" and config["dataset"]["fingerprint"].startswith("sha256:")
    assert config["labels"] == [str(i) for i in range(10)] and config["seed"] == 0
    history = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [h["epoch"] for h in history] == [1, 2, 3] and all(h["steps"] == 44 for h in history)
    assert json.loads((run / "metrics.json").read_text()) == result["metrics"]
    assert "epoch 3/3" in (run / "train.log").read_text()
    # zoo publish takes the run folder as it is
    assert zoo.publish(run, "me/tiny", hub=tmp_path / "hub", dry_run=True).files


@pytest.mark.usefixtures("tiny")
def test_resume_at_an_epoch_boundary_is_exact(tmp_path):
    fit(tmp_path, "straight", epochs=3)
    fit(tmp_path, "split", epochs=2)
    fit(tmp_path, "split", epochs=3, resume=True)
    a, b = load_file(tmp_path / "straight" / "model.safetensors"), load_file(tmp_path / "split" / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.usefixtures("tiny")
def test_grad_accumulation_ema_and_best_metric(tmp_path):
    accum = fit(tmp_path, "accum", epochs=1, sets={"grad_accum": "2"})
    history = json.loads((tmp_path / "accum" / "metrics.jsonl").read_text().splitlines()[0])
    assert history["steps"] == 22 and accum["metrics"]["accuracy"] > 0.5
    plain = load_file(fit(tmp_path, "plain", epochs=2)["run_dir"] + "/model.safetensors")
    ema = load_file(fit(tmp_path, "ema", epochs=2, sets={"ema_decay": "0.9"})["run_dir"] + "/model.safetensors")
    assert any(not torch.equal(plain[k], ema[k]) for k in plain if k in ema)
    best = fit(tmp_path, "best", epochs=4, lr=0.5, sets={"best_metric": "accuracy"})
    rows = [json.loads(x) for x in (tmp_path / "best" / "metrics.jsonl").read_text().splitlines()]
    top = max(rows, key=lambda r: r["accuracy"])
    assert best["metrics"]["epoch"] == top["epoch"] and best["metrics"]["accuracy"] == top["accuracy"]


@pytest.mark.parametrize(
    "sets",
    [
        {"optimizer": "sgd", "nesterov": "true", "scheduler": "onecycle", "lr": "0.1"},
        {"scheduler": "cosine", "warmup_epochs": "0.5", "grad_clip": "1.0"},
        {"precision": "bf16"},
        {"optimizer": "adam", "weight_decay": "0.01", "label_smoothing": "0.1"},
    ],
)
@pytest.mark.usefixtures("tiny")
def test_settings_train_to_finite_metrics(tmp_path, sets):
    result = fit(tmp_path, epochs=1, sets=sets)
    assert 0.3 < result["metrics"]["accuracy"] <= 1 and result["metrics"]["loss"] == result["metrics"]["loss"]


@pytest.mark.usefixtures("tiny")
def test_early_stopping(tmp_path):
    result = fit(tmp_path, epochs=30, lr=2.0, sets={"best_metric": "-loss", "patience": "1"})
    rows = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    assert len(rows) < 30 and result["epochs"] == len(rows)


@pytest.mark.usefixtures("tiny")
def test_refusals_before_any_work(tmp_path):
    missing, message = ("mps", "MPS backend") if torch.cuda.is_available() else ("cuda", "no CUDA GPU")
    with pytest.raises(UsageError, match=message):
        fit(tmp_path, device=missing)
    with pytest.raises(UsageError, match=r"is larger than the 1400 training samples"):
        fit(tmp_path, batch_size=5000, sets={"drop_last": "true"})
    with pytest.raises(UsageError, match="more than the"):
        fit(tmp_path, nproc=10_000, device="cpu")
    with pytest.raises(UsageError, match="nothing to resume"):
        fit(tmp_path, "empty", resume=True)
    for typo in ("acuracy", "--loss", "-"):
        with pytest.raises(UsageError, match=rf"metric of recipe 'tiny-fit' \(accuracy, loss\).*got '{typo}'"):
            fit(tmp_path, "typo", epochs=1, sets={"best_metric": typo})
    assert not (tmp_path / "run").exists()


def test_weights_digest_covers_scalar_buffers():
    from torch import nn

    from zoo.engine.trainer import weights_digest

    bn = nn.BatchNorm1d(3)
    before = weights_digest(bn)
    bn.num_batches_tracked += 1  # a 0-dim integer buffer
    assert weights_digest(bn) != before and len(before) == 64
