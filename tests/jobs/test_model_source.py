"""A run's model_args are checked against its weights' header on the meta device before anything is allocated."""

from __future__ import annotations

import json

from PIL import Image
from zoo_fixtures import assert_clean_error


def test_model_args_larger_than_the_weights_are_refused_before_allocating(run_zoo, make_run, tmp_path):
    folder, _ = make_run("cnn", dataset="cifar10")
    config = json.loads((folder / "config.json").read_text())
    config["model_args"]["num_classes"] = 10**9  # fc.weight [10**9, 84]: 336 GB of float32 if it were built
    (folder / "config.json").write_text(json.dumps(config))
    image = tmp_path / "x.png"
    Image.new("RGB", (32, 32), (200, 10, 10)).save(image)
    weights = (folder / "model.safetensors").read_bytes()

    proc = run_zoo("predict", str(folder), str(image), "--device", "cpu")

    message = assert_clean_error(proc, 2, "does not fit its weights", "[1000000000, 84] in the model, [10, 84]")
    assert len(message.strip().splitlines()) == 1, message
    assert (folder / "model.safetensors").read_bytes() == weights


def test_model_args_that_fit_still_load(run_zoo, make_run, tmp_path):
    folder, _ = make_run("cnn", dataset="cifar10")
    image = tmp_path / "x.png"
    Image.new("RGB", (32, 32), (200, 10, 10)).save(image)
    proc = run_zoo("predict", str(folder), str(image), "--device", "cpu", "--json")
    assert proc.returncode == 0, proc.stderr
    assert len(json.loads(proc.stdout)[0]["output"]) == 5
