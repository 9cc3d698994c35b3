"""`zoo export` and `zoo predict --runtime` as users run them, on the exportcases fixture plugin's models: a
third-party image model with no export code, exports that compute something else, a model torch.export cannot
trace, a task with no example inputs, and bad flags."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pytest
from zoo_fixtures import FIXTURE_PLUGINS, assert_clean_error, unwritable, write_run

RUN_FILES = ["config.json", "metrics.json", "model.safetensors"]


@pytest.fixture
def cases(plugin_sites, isolated_registry, monkeypatch, tmp_path):
    """`cases(model)`: a run folder of an exportcases model; the plugin's site dir is `cases.site`."""
    site = plugin_sites("zoo-exportcases")
    monkeypatch.syspath_prepend(str(site))
    isolated_registry()

    def run(name: str, dataset: str = "digits") -> Path:
        write_run(tmp_path / name, name, dataset=dataset)
        return tmp_path / name

    run.site = site
    return run


def one_line(proc, code: int, *words: str) -> str:
    """A refusal as zoo gives it: exit `code`, one line on stderr holding `words`, no traceback."""
    err = assert_clean_error(proc, code, *words)
    assert len(err.strip().splitlines()) == 1, err
    return err


def digit_png(folder: Path) -> Path:
    from PIL import Image

    path = folder / "digit.png"
    Image.new("RGB", (32, 32), (200, 30, 30)).save(path)
    return path


def test_a_third_party_image_model_exports_in_both_formats_with_no_export_code(cases, run_zoo, tmp_path):
    source = FIXTURE_PLUGINS / "zoo-exportcases" / "zoo_exportcases"
    code = (source / "__init__.py").read_text() + (source / "plain.py").read_text()
    assert "example_inputs" not in code and "agreement" not in code and "zoo_images.classify:" in code
    run = cases("xc_plain")
    hub = tmp_path / "hub"
    published = run_zoo("publish", str(run), "me/xc-plain", "--hub", str(hub), "--json", sites=[cases.site])
    assert published.returncode == 0, published.stderr
    cases_ = (("pt2", str(run), run / "model.pt2"), ("onnx", "me/xc-plain", tmp_path / "xc-plain.onnx"))
    for fmt, target, written in cases_:
        proc = run_zoo("export", target, "--format", fmt, "--hub", str(hub), "--json", sites=[cases.site], cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        result = json.loads(proc.stdout)
        assert Path(tmp_path, result["path"]) == written and result["format"] == fmt
        assert result["sha256"] == hashlib.sha256(written.read_bytes()).hexdigest()
        assert result["size"] == written.stat().st_size
        parity = result["parity"]
        assert parity["passed"] and parity["agreement"] == {"name": "top-1", "value": 1.0}
        assert parity["source"] == "the validation split of digits" and parity["batch_sizes"] == [1, 7]


def test_the_gate_refuses_an_export_that_computes_something_else(cases, run_zoo, tmp_path):
    run = cases("xc_drift_at_one")
    proc = run_zoo("export", str(run), "--format", "pt2", "--json", sites=[cases.site], cwd=tmp_path)
    one_line(proc, 1, "the pt2 export of xc_drift_at_one fails the parity gate", "0.5", "Nothing was written.")
    shown = json.loads(proc.stdout)
    assert shown["path"] is None and shown["parity"]["passed"] is False
    assert shown["parity"]["max_abs"] == pytest.approx(0.5, abs=1e-3)
    assert sorted(p.name for p in run.iterdir()) == RUN_FILES and not list(tmp_path.glob("*.pt2"))


def test_a_model_torch_export_cannot_trace_gets_one_line(cases, run_zoo, tmp_path):
    run = cases("xc_untraceable")
    proc = run_zoo("export", str(run), "--format", "pt2", sites=[cases.site], cwd=tmp_path)
    one_line(proc, 1, "torch.export cannot export xc_untraceable: ", "data-dependent")
    assert sorted(p.name for p in run.iterdir()) == RUN_FILES


def test_a_task_without_example_inputs_is_refused_naming_what_is_missing(cases, run_zoo, tmp_path):
    run = cases("xc_scorer", dataset="xc-rows")
    proc = run_zoo("export", str(run), "--format", "onnx", sites=[cases.site], cwd=tmp_path)
    one_line(proc, 2, "xc_scorer cannot be exported", "recipe 'exportcases:xc_scorer-xc-rows'", "Recipe.example_inputs")
    assert sorted(p.name for p in run.iterdir()) == RUN_FILES


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        (["--format", "tflite"], ["--format must be one of onnx, pt2", "'tflite'"]),
        (["--format", "onnx", "--atol", "-1"], ["--atol must be in [0, 1)", "-1"]),
        (["--format", "onnx", "--rtol", "nan"], ["--rtol must be in [0, 1)", "nan"]),
        (["--format", "onnx", "--opset", "7"], ["--opset must be in 18..23", "7"]),
        (["--format", "pt2", "--opset", "18"], ["--opset applies to --format onnx only"]),
        (["--format", "pt2", "--out", "model.onnx"], ["--out must end in .pt2", "model.onnx"]),
        (["--format", "onnx", "--out", "UNWRITABLE/model.onnx"], ["the export's folder"]),
    ],
)
def test_bad_flags_get_one_line_and_nothing_is_written(cases, run_zoo, tmp_path, flags, words):
    run = cases("xc_plain")
    locked = unwritable(tmp_path)
    flags = [f.replace("UNWRITABLE", str(locked)) for f in flags]
    work = tmp_path / "work"
    work.mkdir()
    one_line(run_zoo("export", str(run), *flags, sites=[cases.site], cwd=work), 2, *words)
    assert sorted(p.name for p in run.iterdir()) == RUN_FILES and not list(work.iterdir())


def test_predict_with_a_runtime_needs_the_export_and_refuses_a_pickled_pt2(cases, run_zoo, tmp_path):
    import torch

    run = cases("xc_plain")
    image = str(digit_png(tmp_path))
    missing = run_zoo("predict", str(run), image, "--runtime", "onnx", sites=[cases.site])
    one_line(missing, 2, "the run folder has no model.onnx", f"make one with 'zoo export {run} --format onnx'")
    # torch.export.save's default: the example inputs as a pickle, which torch.export.load would unpickle
    buffer = io.BytesIO()
    torch.export.save(torch.export.export(torch.nn.Flatten(), (torch.zeros(2, 3, 32, 32),)), buffer)
    (run / "model.pt2").write_bytes(buffer.getvalue())
    pickled = run_zoo("predict", str(run), image, "--runtime", "pt2", sites=[cases.site])
    one_line(pickled, 2, f"{run / 'model.pt2'} carries pickled sample inputs: zoo does not unpickle")
