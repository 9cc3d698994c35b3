"""decode=device: the workers read bytes, the recipe decodes whole batches on the training device (the CPU here;
bench/gpu_check.sh runs the same path with nvJPEG on a CUDA GPU)."""

import json

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader
from zoo_fixtures import assert_clean_error, write_image_folder
from zoo_images.common import load_image
from zoo_images.decode import EncodedBatch, decode_batch, read_bytes
from zoo_images.imagefolder import load
from zoo_images.samples import grey_jpeg, png_claiming

from zoo.core.errors import ZooError, ZooWarning

COLOURS = {"red": (220, 30, 30), "green": (30, 200, 40), "blue": (20, 40, 210)}


def photos(folder, n=3):
    """Noisy 300 x 400 photos saved as JPEG, BMP and PNG: every decoder path."""
    rng = np.random.default_rng(1)
    paths = []
    for i in range(n):
        pixels = Image.fromarray(np.clip(rng.normal(120, 60, (300, 400, 3)), 0, 255).astype(np.uint8))
        for suffix in ("jpg", "bmp", "png"):
            pixels.save(folder / f"{i}.{suffix}")
            paths.append(str(folder / f"{i}.{suffix}"))
    return paths


@pytest.mark.parametrize("size", [16, 64])
def test_batch_decoding_gives_the_pixels_of_the_cpu_path(tmp_path, size):
    paths = photos(tmp_path)
    got = decode_batch([read_bytes(p) for p in paths], size, "cpu")
    want = torch.stack([load_image(p, size) for p in paths])
    assert got.shape == want.shape and got.dtype == torch.uint8
    assert (got.int() - want.int()).abs().max() <= 1  # libjpeg both sides; antialiased bilinear both sides


def test_a_file_that_decodes_nowhere_is_replaced_by_a_neighbour(tmp_path):
    paths = photos(tmp_path, n=1)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(read_bytes(paths[0]).numpy().tobytes()[:200])  # a JPEG cut short: decode_jpeg refuses it
    batch = [read_bytes(p) for p in (paths[0], str(broken), paths[1])]
    with pytest.warns(ZooWarning, match=r"1 image\(s\) of a batch won't decode"):
        out = decode_batch(batch, 16, "cpu")
    assert torch.equal(out[1], out[0])
    with pytest.raises(ZooError, match="none of the 1 images of a batch decode"):
        decode_batch([read_bytes(str(broken))], 16, "cpu")


def test_the_folder_hands_bytes_to_the_loader(tmp_path):
    write_image_folder(tmp_path, COLOURS, per_class=4)
    data = load(tmp_path, size=16, val_split=0.25, decode="device")
    assert data.info["decode"] == "device" and data.info["cache"] == "none"
    images, labels = next(iter(DataLoader(data.train, batch_size=4, collate_fn=data.collate, num_workers=2)))
    assert isinstance(images, EncodedBatch) and all(b.dtype == torch.uint8 and b.dim() == 1 for b in images)
    assert labels.shape == (4,)
    decoded = decode_batch(images, 16, "cpu")
    assert torch.equal(decoded, torch.stack([load(tmp_path, size=16, val_split=0.25).train[i][0] for i in range(4)]))


def test_training_with_device_decoding_through_the_cli(run_zoo, tmp_path):
    data = write_image_folder(tmp_path / "images", COLOURS, per_class=12)
    out = tmp_path / "run"
    args = ["train", "cnn", "--dataset", "imagefolder", "--data-dir", str(data), "--epochs", "2", "--out", str(out)]
    proc = run_zoo(*args, "--set", "decode=device", "--set", "num_workers=2", "--json")
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads(proc.stdout)["metrics"]
    assert 0 <= metrics["accuracy"] <= 1 and np.isfinite(metrics["loss"])
    assert json.loads((out / "config.json").read_text())["decode"] == "device"
    predicted = json.loads(run_zoo("predict", str(out), str(data / "red" / "0.png"), "--json").stdout)
    assert predicted[0]["output"][0]["label"] in COLOURS
    assert_clean_error(run_zoo(*args, "--set", "decode=gpu"), 2, "decode")


@pytest.mark.parametrize(("name", "size"), [("big.jpg", "12000 x 12000"), ("huge.png", "60000 x 60000")])
def test_an_image_too_large_by_its_header_is_refused_by_device_decoding(run_zoo, tmp_path, name, size):
    """In val/ an image is not decoded before training starts: the device path meets it in its workers, which read
    bytes (it trained on the JPEG before, and crashed in libpng on the PNG). The PIL path: tests/test_header.py."""
    data = tmp_path / "images"
    write_image_folder(data / "train", COLOURS, per_class=3)
    write_image_folder(data / "val", COLOURS, per_class=1)
    hostile = data / "val" / "red" / name
    hostile.write_bytes(grey_jpeg(12000, 12000) if name.endswith(".jpg") else png_claiming(60000, 60000))
    out = tmp_path / "run"
    args = ["--data-dir", str(data), "--epochs", "1", "--device", "cpu", "--set", "decode=device", "--quiet"]
    proc = run_zoo("train", "cnn", "--dataset", "imagefolder", *args, "--out", str(out))
    message = assert_clean_error(proc, 2, f"the image {hostile} is {size} (", "more than the 89,478,485")
    assert message.count("\n") == 1
    assert not (out / "model.safetensors").exists() and not (out / "config.json").exists()  # the log alone stays
