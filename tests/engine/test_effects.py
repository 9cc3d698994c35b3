"""bf16, --compile and EMA change what the engine does: each test looks at the effect, not the config echo."""

from __future__ import annotations

from typing import ClassVar

import pytest
import torch
from safetensors.torch import load_file
from torch.utils.data import TensorDataset

from zoo.engine.settings import build_config
from zoo.engine.trainer import RunInfo, Trainer
from zoo.plugin.recipe import Data, Recipe


class Probe(Recipe):
    """One weight, a constant input and the loss w * x: every gradient is x, so each SGD step subtracts lr * x."""

    seen: ClassVar[list] = []  # (output dtype, model class) of every training forward

    def build_data(self) -> Data:
        x = torch.ones(8, 1)
        return Data(TensorDataset(x), TensorDataset(x), info={"labels": []})

    def build_model(self, args):  # noqa: ARG002 - the Recipe method's signature
        model = torch.nn.Linear(1, 1, bias=False)
        torch.nn.init.constant_(model.weight, 1.0)
        return model

    def loss(self, model, batch):
        (x,) = batch
        out = model(x)
        Probe.seen.append((out.dtype, type(model)))
        return out.float().mean()

    def metrics(self, model, batch):
        (x,) = batch
        return {"loss": (float(model(x).float().sum()), len(x))}


def fit(tmp_path, **sets) -> tuple[dict, list]:
    Probe.seen = []
    config = build_config({"epochs": 1, "batch_size": 2, "optimizer": "sgd", "momentum": 0.0, "lr": 0.1}, {}, sets)
    recipe = Probe(config, model_spec=None, dataset_spec=None, data_dir=None)
    info = RunInfo("probe", "probe", "ones", "test", None, "test", {})
    Trainer(recipe, info, tmp_path / "run", quiet=True).fit()
    return load_file(tmp_path / "run" / "model.safetensors"), Probe.seen


def test_bf16_runs_the_forward_in_bfloat16(tmp_path):
    _, seen = fit(tmp_path / "a", precision="bf16", device="cpu")
    assert {dtype for dtype, _ in seen} == {torch.bfloat16}
    _, seen = fit(tmp_path / "b", precision="fp32", device="cpu")
    assert {dtype for dtype, _ in seen} == {torch.float32}


def test_compile_trains_through_the_compiled_module(tmp_path):
    from torch._dynamo.eval_frame import OptimizedModule

    torch._dynamo.reset()
    weights, seen = fit(tmp_path, compile="true", device="cpu")
    assert {kind for _, kind in seen} == {OptimizedModule}
    assert torch.allclose(weights["weight"], torch.tensor([[1.0 - 4 * 0.1]]))  # 4 steps of lr * x, as uncompiled


@pytest.mark.parametrize("decay", [0.5, 0.9])
def test_ema_weights_follow_the_decay_formula(tmp_path, decay):
    weights, _ = fit(tmp_path, ema_decay=str(decay), device="cpu")
    w = [1.0 - 0.1 * step for step in range(1, 5)]  # the raw weight after each of the 4 steps
    ema = w[0]  # AveragedModel copies the weights at its first update
    for value in w[1:]:
        ema = decay * ema + (1 - decay) * value
    assert weights["weight"].item() == pytest.approx(ema, abs=1e-6)
    assert weights["weight"].item() != pytest.approx(w[-1], abs=1e-3)  # not the raw weights


def test_the_probe_trains_as_designed(tmp_path):
    weights, seen = fit(tmp_path, device="cpu")
    assert len(seen) == 4 and weights["weight"].item() == pytest.approx(0.6)
