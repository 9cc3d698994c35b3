"""zoo.jobs.export: the parity gate's figures, and the gate on real exports of the exportcases fixture plugin's
models (one exported as it is, two whose exported graph computes something else at one batch size only)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from zoo_fixtures import write_run

from zoo.core.errors import UsageError, ZooError
from zoo.jobs.export import Parity, ParityFailed, export, output_path


@pytest.fixture
def cases(plugin_sites, isolated_registry, monkeypatch, tmp_path):
    """`cases(model)`: a run folder of an exportcases model (its plugin importable in this process)."""
    monkeypatch.syspath_prepend(str(plugin_sites("zoo-exportcases")))
    isolated_registry()

    def run(name: str) -> Path:
        write_run(tmp_path / name, name)
        return tmp_path / name

    return run


def test_parity_tolerance_is_elementwise_and_relative_is_against_the_largest_output():
    big, small = torch.tensor([[1000.0, 0.001]]), torch.tensor([[1000.05, 0.001]])
    loose = Parity()
    loose.add([big], [small], atol=1e-4, rtol=1e-4)  # 0.05 <= 1e-4 + 1e-4 * 1000
    assert loose.passed and loose.max_abs == pytest.approx(0.05, rel=1e-3)
    assert loose.max_rel == pytest.approx(0.05 / 1000, rel=1e-3)
    tight = Parity()  # 2e-4 off on the small logit: within rtol of the largest, not of its own
    tight.add([big], [torch.tensor([[1000.0, 0.0012]])], atol=1e-4, rtol=1e-4)
    assert not tight.passed and tight.max_abs == pytest.approx(2e-4, rel=1e-2)
    assert tight.report(1e-4, 1e-4, "s")["passed"] is False


def test_parity_fails_a_nan_export_and_refuses_other_shapes():
    nan = Parity()
    nan.add([torch.zeros(2, 3)], [torch.tensor([[0.0, float("nan"), 0.0], [0.0] * 3])], atol=1e-4, rtol=1e-4)
    assert not nan.passed and nan.max_abs == float("inf")
    with pytest.raises(ZooError, match=r"shape \(3, 2\) for \(2, 3\)"):
        Parity().add([torch.zeros(2, 3)], [torch.zeros(3, 2)], atol=1e-4, rtol=1e-4)
    with pytest.raises(ZooError, match="2 outputs where the model returns 1"):
        Parity().add([torch.zeros(1)], [torch.zeros(1), torch.zeros(1)], atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize(
    ("model", "fmt", "shown_at"),
    [("xc_drift_at_one", "onnx", "a batch of one"), ("xc_drift_past_one", "pt2", "a batch of seven")],
)
def test_the_gate_compares_at_batch_one_and_at_seven(cases, model, fmt, shown_at):
    """Each model's export is off by 0.5 at one batch size only (`shown_at`): the gate must look at both."""
    run = cases(model)
    with pytest.raises(ParityFailed) as failed:
        export(str(run), fmt)
    parity = failed.value.parity
    assert parity["passed"] is False and parity["batch_sizes"] == [1, 7] and parity["samples"] == 8
    assert parity["max_abs"] == pytest.approx(0.5, abs=1e-3), shown_at
    assert parity["source"] == "the validation split of digits"
    message = str(failed.value)
    assert "\n" not in message and "max |exported - eager| 0.5" in message and "Nothing was written" in message
    assert sorted(p.name for p in run.iterdir()) == ["config.json", "metrics.json", "model.safetensors"]


def test_a_good_export_is_written_where_asked_with_its_metadata(cases, tmp_path, monkeypatch):
    run = cases("xc_plain")
    monkeypatch.chdir(tmp_path)
    result = export(str(run), "onnx", out="plain.onnx")
    assert result["path"] == "plain.onnx" and (tmp_path / "plain.onnx").is_file()
    assert result["parity"]["passed"] and result["parity"]["agreement"] == {"name": "top-1", "value": 1.0}
    import onnx

    meta = {p.key: p.value for p in onnx.load(tmp_path / "plain.onnx").metadata_props}
    inputs = json.loads(meta["zoo"])["inputs"]
    assert [(i["name"], i["rank"], i["axes"]["0"]["name"], i["axes"]["0"]["min"]) for i in inputs] == [
        ("images", 4, "batch", 1)
    ]


def test_default_output_paths(tmp_path):
    assert output_path("me/cnn-digits@0123abc", "onnx", None, None) == Path("cnn-digits.onnx")
    assert output_path("resnet18", "pt2", None, None) == Path("resnet18.pt2")
    assert output_path(str(tmp_path), "pt2", None, tmp_path) == tmp_path / "model.pt2"
    with pytest.raises(UsageError, match=r"--out must end in \.pt2"):
        output_path("resnet18", "pt2", str(tmp_path / "x.onnx"), None)
    (tmp_path / "dir.onnx").mkdir()
    with pytest.raises(UsageError, match="is a folder"):
        output_path("resnet18", "onnx", str(tmp_path / "dir.onnx"), None)


def test_an_export_its_runtime_cannot_run_fails_the_gate_in_one_line(cases, monkeypatch):
    """The runtime's own error (here: a static batch, as from an axis the recipe did not declare dynamic) is one
    runtime line naming the export and the batch, not the runtime's traceback; nothing is written."""
    from zoo.jobs import artifacts

    run = cases("xc_plain")
    load = artifacts.load

    def static_batch(data: bytes, fmt: str, where: str) -> artifacts.Runtime:
        runtime = load(data, fmt, where)
        ran = runtime._run

        def run_at_seven(*tensors):
            if tensors[0].shape[0] != 7:
                got = tensors[0].shape[0]
                raise RuntimeError(f"Got invalid dimensions for input: index: 0 Got: {got}\nExpected: 7")
            return ran(*tensors)

        runtime._run = run_at_seven
        return runtime

    monkeypatch.setattr(artifacts, "load", static_batch)
    with pytest.raises(ZooError) as failed:
        export(str(run), "pt2")
    assert not isinstance(failed.value, UsageError)
    assert str(failed.value) == (
        "the pt2 export of xc_plain cannot run the gate's batch of 1: Got invalid dimensions for input: index: 0 Got: 1"
    )
    assert sorted(p.name for p in run.iterdir()) == ["config.json", "metrics.json", "model.safetensors"]
