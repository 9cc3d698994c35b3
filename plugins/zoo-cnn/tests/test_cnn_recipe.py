"""The cnn plugin end to end through the real CLI: CIFAR-10 files, an image folder, and digits to >= 95%."""

import json
import pickle

from PIL import Image
from zoo_fixtures import assert_clean_error, write_image_folder

import zoo


def test_recipe_is_registered_with_its_datasets():
    info = zoo.model_info("cnn")
    assert info["default_recipe"] == "cnn-cifar10" and info["recipes"] == ["cnn-cifar10"]
    assert {"cifar10", "digits", "imagefolder"} <= set(info["datasets"])
    recipe = zoo.get_registry().recipes.get("cnn-cifar10")
    assert recipe.gpu_defaults["batch_size"] == 512 and recipe.cpu_defaults["batch_size"] < 512
    assert recipe.gpu_defaults["nesterov"] and recipe.gpu_defaults["scheduler"] == "onecycle"
    assert recipe.gpu_defaults["label_smoothing"] > 0


def test_mini_cifar10_train_eval_predict(run_zoo, mini_cifar, tmp_path):
    out = tmp_path / "run"
    trained = run_zoo(
        "train",
        "cnn",
        "--data-dir",
        str(mini_cifar),
        "--epochs",
        "2",
        "--batch-size",
        "16",
        "--device",
        "cpu",  # eval below must match train's accuracy exactly: the same device's kernels
        "--out",
        str(out),
        "--json",
    )
    assert trained.returncode == 0, trained.stderr
    metrics = json.loads(trained.stdout)["metrics"]
    assert set(metrics) >= {"accuracy", "top5", "loss"}
    config = json.loads((out / "config.json").read_text())
    assert config["labels"][0] == "airplane" and config["preprocessing"]["size"] == 32
    assert config["dataset"]["name"] == "cifar10" and config["model_args"] == {"num_classes": 10, "in_channels": 3}
    evaluated = json.loads(
        run_zoo("eval", str(out), "--data-dir", str(mini_cifar), "--device", "cpu", "--json").stdout
    )
    assert evaluated["dataset"] == "cifar10" and evaluated["metrics"]["accuracy"] == metrics["accuracy"]
    test_batch = pickle.loads((mini_cifar / "cifar-10-batches-py" / "test_batch").read_bytes(), encoding="bytes")
    image = tmp_path / "plane.png"
    Image.fromarray(test_batch[b"data"][0].reshape(3, 32, 32).transpose(1, 2, 0)).save(image)
    predicted = json.loads(run_zoo("predict", str(out), str(image), "--top", "3", "--json").stdout)
    assert len(predicted[0]["output"]) == 3
    assert all(row["label"] in config["labels"] for row in predicted[0]["output"])
    assert 0 < sum(r["score"] for r in predicted[0]["output"]) <= 1.0001  # the top 3 of a softmax


def test_image_folder_with_bad_files(run_zoo, tmp_path):
    folder = write_image_folder(tmp_path / "shapes", {"red": (220, 30, 30), "blue": (20, 40, 210)}, per_class=12)
    (folder / "red" / "README.txt").write_text("not an image")
    (folder / "blue" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 30)
    proc = run_zoo(
        "train",
        "cnn",
        "--dataset",
        "imagefolder",
        "--data-dir",
        str(folder),
        "--epochs",
        "3",
        "--batch-size",
        "8",
        "--out",
        str(tmp_path / "run"),
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    assert "skipped 1 image(s)" in proc.stderr and "broken.jpg" in proc.stderr
    assert "ignored 1 non-image file(s)" in proc.stderr
    assert json.loads((tmp_path / "run" / "config.json").read_text())["labels"] == ["blue", "red"]
    cmyk = tmp_path / "cmyk.jpg"
    Image.new("RGB", (40, 30), (210, 30, 30)).convert("CMYK").save(cmyk)
    gray = tmp_path / "gray.png"
    Image.new("L", (16, 16), 90).save(gray)
    predicted = json.loads(run_zoo("predict", str(tmp_path / "run"), str(cmyk), str(gray), "--json").stdout)
    assert [len(p["output"]) for p in predicted] == [2, 2]


def test_digits_reach_95_percent(run_zoo, tmp_path):
    # 95% is the CPU defaults' figure (the GPU defaults train with batch 512, bf16 and one-cycle)
    proc = run_zoo(
        "train", "cnn", "--dataset", "digits", "--device", "cpu", "--out", str(tmp_path / "digits"), "--json"
    )
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads((tmp_path / "digits" / "metrics.json").read_text())
    assert metrics["accuracy"] >= 0.95, metrics


def test_bad_inputs(run_zoo, mini_cifar, tmp_path):
    assert_clean_error(run_zoo("train", "cnn", "--epochs", "1"), 2, "cifar10 needs --data-dir")
    assert_clean_error(run_zoo("train", "cnn", "--data-dir", str(tmp_path / "none")), 2, "does not exist")
    batch = mini_cifar / "cifar-10-batches-py" / "data_batch_4"
    batch.write_bytes(batch.read_bytes()[:300])
    assert_clean_error(
        run_zoo("train", "cnn", "--data-dir", str(mini_cifar), "--out", str(tmp_path / "r")),
        1,
        "data_batch_4 is corrupt or truncated",
    )
    folder = write_image_folder(tmp_path / "folder", {"cat": (200, 200, 10)}, per_class=3)
    (folder / "dog").mkdir()
    assert_clean_error(
        run_zoo("train", "cnn", "--dataset", "imagefolder", "--data-dir", str(folder)), 2, "has no readable images"
    )
    assert_clean_error(run_zoo("predict", "cnn", str(tmp_path / "x.png")), 2, "no pretrained weights")
