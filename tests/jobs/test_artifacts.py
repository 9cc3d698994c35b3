"""zoo.jobs.artifacts: exported files read back as zoo runs them; inputs checked first, no pickle ever loaded."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
import torch
from zoo_fixtures import write_run

from zoo.core.errors import UsageError
from zoo.jobs import artifacts
from zoo.jobs.export import export_loaded
from zoo.jobs.inference import load_for_inference


@pytest.fixture
def plain(plugin_sites, isolated_registry, monkeypatch, tmp_path):
    """(recipe, eager model, run config) of the exportcases plugin's xc_plain, with random weights."""
    monkeypatch.syspath_prepend(str(plugin_sites("zoo-exportcases")))
    isolated_registry()
    write_run(tmp_path / "run", "xc_plain")
    return load_for_inference(str(tmp_path / "run"), device="cpu")


def exported(plain, fmt: str) -> bytes:
    return export_loaded(*plain, fmt, None, 1e-4, 1e-4)["data"]


def rewritten(data: bytes, name: str, content: bytes) -> bytes:
    """The .pt2 archive with the member ending in `name` replaced by `content`."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            target.writestr(info, content if info.filename.endswith(name) else source.read(info))
    return out.getvalue()


@pytest.mark.parametrize("fmt", ["onnx", "pt2"])
def test_a_runtime_answers_as_eager_and_refuses_inputs_the_export_does_not_take(plain, fmt):
    _, model, _ = plain
    runtime = artifacts.load(exported(plain, fmt), fmt, f"the {fmt} file")
    images = torch.randn(3, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(runtime(images), model(images), atol=1e-5, rtol=1e-5)
    refusals = {
        "must have 4 dimensions, got 3": (images[0],),
        "has 0 batch; the export takes at least 1": (images[:0],),
        "takes 1 inputs, got 2": (images, images),
    }
    for message, tensors in refusals.items():
        with pytest.raises(UsageError, match=message) as refused:
            runtime(*tensors)
        assert str(refused.value).startswith(f"the {fmt} file") and "\n" not in str(refused.value)


def test_a_pt2_file_that_would_unpickle_anything_is_refused(plain):
    _, model, _ = plain
    data = exported(plain, "pt2")
    members = zipfile.ZipFile(io.BytesIO(data)).infolist()
    assert not [m.filename for m in members if "/sample_inputs/" in m.filename and m.file_size]  # zoo's: no pickle
    weights = next(m.filename for m in members if m.filename.endswith("weights_config.json"))
    config = json.loads(zipfile.ZipFile(io.BytesIO(data)).read(weights))
    assert config["config"] and not any(e["use_pickle"] for e in config["config"].values())
    # what torch.export.save writes by default: the example inputs as a pickle, next to zoo's metadata
    program = torch.export.export(model, (torch.zeros(2, 3, 32, 32),))
    buffer = io.BytesIO()
    torch.export.save(program, buffer, extra_files={artifacts.PT2_META: json.dumps({"inputs": []})})
    pickled_weights = json.dumps({"config": {k: {**e, "use_pickle": True} for k, e in config["config"].items()}})
    damaged = {
        "carries pickled sample inputs": buffer.getvalue(),
        "stores tensors as pickles": rewritten(data, "weights_config.json", pickled_weights.encode()),
        "is not a .pt2 archive": b"PK\x03\x04 not a zip",
    }
    for message, content in damaged.items():
        with pytest.raises(UsageError, match=message) as refused:
            artifacts.load(content, "pt2", "model.pt2")
        assert str(refused.value).startswith("model.pt2") and "\n" not in str(refused.value)


def test_an_onnx_file_without_zoo_metadata_or_damaged_is_refused(plain):
    import onnx

    proto = onnx.load_from_string(exported(plain, "onnx"))
    assert [p.key for p in proto.metadata_props] == [artifacts.META_KEY]
    del proto.metadata_props[:]
    with pytest.raises(UsageError, match=r"model\.onnx has no zoo export metadata: export it again with 'zoo export'"):
        artifacts.load(proto.SerializeToString(), "onnx", "model.onnx")
    with pytest.raises(UsageError, match=r"model\.onnx is not an ONNX model onnxruntime can run"):
        artifacts.load(proto.SerializeToString()[:200], "onnx", "model.onnx")
