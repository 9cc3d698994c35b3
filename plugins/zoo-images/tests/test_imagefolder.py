import json
import os
import shutil
import signal

import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader
from zoo_fixtures import (
    assert_clean_error,
    edit_in_place,
    history,
    same_weights,
    start_and_wait_for,
    stored_pngs,
    write_image_folder,
)
from zoo_images import imagefolder
from zoo_images.common import load_image
from zoo_images.files import use_cache
from zoo_images.imagefolder import load

from zoo.core.errors import UsageError, ZooError, ZooWarning

COLOURS = {"red": (220, 30, 30), "green": (30, 200, 40), "blue": (20, 40, 210)}


def every_image(dataset):
    return torch.stack([dataset[i][0] for i in range(len(dataset))]), torch.stack(
        [dataset[i][1] for i in range(len(dataset))]
    )


def test_split_by_ratio(tmp_path):
    write_image_folder(tmp_path, COLOURS, per_class=10)
    data = load(tmp_path, size=16, val_split=0.2)
    assert data.info["labels"] == ["blue", "green", "red"]
    assert len(data.train) == 24 and len(data.val) == 6
    image, label = data.train[0]
    assert image.shape == (3, 16, 16) and image.dtype == torch.uint8 and label.dtype == torch.long
    assert load(tmp_path, size=16, val_split=0.0).val is None


@pytest.mark.parametrize("cache", ["none", "memory"])
def test_images_are_decoded_per_sample_as_predict_decodes_them(tmp_path, cache):
    write_image_folder(tmp_path, COLOURS, per_class=4)
    data = load(tmp_path, size=16, val_split=0.25, cache=cache)
    assert data.info["cache"] == cache
    for dataset in (data.train, data.val):
        for i in range(len(dataset)):
            image, label = dataset[i]
            path = dataset.path(i)
            assert torch.equal(image, load_image(path, 16))  # the pixels `zoo predict` gives the same file
            assert data.info["labels"][int(label)] == path.split("/")[-2]


def test_cached_and_streamed_pixels_are_identical_and_the_cache_is_filled_by_the_workers(tmp_path):
    write_image_folder(tmp_path, COLOURS, per_class=8)
    streamed, cached = (load(tmp_path, size=16, cache=c) for c in ("none", "memory"))
    assert streamed.info["fingerprint"] == cached.info["fingerprint"]
    assert streamed.info["preprocessing"] == cached.info["preprocessing"]
    loader = DataLoader(cached.train, batch_size=4, num_workers=2, multiprocessing_context="fork")
    from_workers = torch.cat([images for images, _ in loader])
    assert bool(cached.train._filled.all())  # the workers' decodes landed in the main process's shared tensor
    assert torch.equal(from_workers, every_image(streamed.train)[0])
    for i in range(len(cached.train)):  # from now on the images come from memory, not the files
        (tmp_path / cached.train.path(i)).unlink()
    assert torch.equal(every_image(cached.train)[0], from_workers)


def test_auto_caches_what_fits_a_quarter_of_memory():
    assert use_cache("auto", 50_000, 32) and use_cache("memory", 10, 8) and not use_cache("none", 1, 8)
    assert not use_cache("auto", 10**9, 224)  # ImageNet-sized at 224 px: 150 TB decoded
    with pytest.raises(UsageError, match="cache must be one of auto, memory, none, got 'disk'"):
        use_cache("disk", 1, 8)


def test_the_cache_must_fit_the_shared_memory_folder(monkeypatch):
    from zoo_images import files

    monkeypatch.setattr(files, "shared_memory_free", lambda: 64 * 2**20)  # Docker's default /dev/shm
    assert use_cache("auto", 1000, 32) and not use_cache("auto", 10_000, 64)  # 3 MB fits; 123 MB does not
    message = r"cache=memory needs 0.11 GiB of shared memory and /dev/shm has 0.06 GiB free: enlarge it \(docker"
    with pytest.raises(UsageError, match=message):
        use_cache("memory", 10_000, 64)


def test_train_and_val_folders_and_any_image_mode(tmp_path):
    write_image_folder(tmp_path / "train", COLOURS, per_class=4, mode="L")
    write_image_folder(tmp_path / "val", COLOURS, per_class=2, mode="CMYK")  # saved as RGB-compatible PNG
    for i, mode in enumerate(("P", "RGBA")):
        Image.new(mode, (20, 20)).save(tmp_path / "train" / "red" / f"mode{i}.png")
    data = load(tmp_path, size=8)
    assert (len(data.train), len(data.val)) == (14, 6)
    assert all(data.train[i][0].shape == (3, 8, 8) for i in range(14))


def write_bad_files(folder):
    (folder / "red" / "notes.txt").write_text("not an image")
    (folder / "green" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    good = (folder / "blue" / "0.png").read_bytes()
    (folder / "blue" / "cut.png").write_bytes(good[: len(good) // 2])


def test_bad_files_are_skipped_with_a_count(tmp_path):
    write_image_folder(tmp_path, COLOURS, per_class=5)
    write_bad_files(tmp_path)
    data = load(tmp_path, size=8)
    assert len(data.train) + len(data.val) == 15
    warnings = " | ".join(data.info["warnings"])
    assert "skipped 2 image(s)" in warnings and "broken.png" in warnings and "cut.png" in warnings
    assert "ignored 1 non-image file(s)" in warnings


def test_a_bad_file_found_while_streaming_is_replaced_by_the_next_image(tmp_path, monkeypatch):
    write_image_folder(tmp_path, COLOURS, per_class=5)
    write_bad_files(tmp_path)
    monkeypatch.setattr(imagefolder, "PROBE", 1)  # a large folder: only a sample is decoded before training
    data = load(tmp_path, size=8, val_split=0.0, cache="none")
    paths = [data.train.path(i) for i in range(len(data.train))]
    broken = [p.endswith(("broken.png", "cut.png")) for p in paths]
    n = len(paths)
    assert n == 15 + sum(broken) and sum(broken) >= 1  # the probe of one image left a bad one to find later
    bad = broken.index(True)
    with pytest.warns(ZooWarning, match=r"cannot read the image .*(broken|cut)\.png.*the next image stands in"):
        image, label = data.train[bad]
    following = next(i % n for i in range(bad + 1, bad + n) if not broken[i % n])
    assert torch.equal(image, data.train[following][0]) and label == data.train[following][1]


def test_empty_class_and_empty_root(tmp_path):
    write_image_folder(tmp_path, COLOURS, per_class=3)
    (tmp_path / "purple").mkdir()
    with pytest.raises(UsageError, match=r"the class folder .*purple has no readable images"):
        load(tmp_path)
    (tmp_path / "purple" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    with pytest.raises(UsageError, match=r"the class folder .*purple has no readable images"):
        load(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UsageError, match="no class folders"):
        load(empty)


def test_a_folder_of_only_broken_images(tmp_path, monkeypatch):
    for name in COLOURS:
        (tmp_path / name).mkdir()
        for i in range(3):
            (tmp_path / name / f"{i}.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    monkeypatch.setattr(imagefolder, "PROBE", 2)
    with pytest.raises(ZooError, match="none of the 2 images sampled"):
        load(tmp_path)






def test_the_fingerprint_follows_the_bytes_only(tmp_path):
    data = stored_pngs(tmp_path / "a" / "flowers", COLOURS)
    first = load(data, size=8).info["fingerprint"]
    copy = shutil.copytree(data, tmp_path / "b" / "other-name")  # another root, other inodes and mtimes
    os.utime(data / "red" / "1.png", ns=(1, 1))  # touched
    assert load(copy, size=8).info["fingerprint"] == load(data, size=8).info["fingerprint"] == first
    edit_in_place(data / "red" / "0.png")
    assert load(data, size=8).info["fingerprint"] != first
    assert load(copy, size=8).info["fingerprint"] == first


# On the CPU: a GPU's kernels need not give a killed and a straight run the same bits.
TRAIN = [
    "train", "cnn", "--dataset", "imagefolder", "--epochs", "3", "--batch-size", "8", "--checkpoint-every", "1",
    "--set", "scheduler=none", "--set", "num_workers=2", "--set", "cache=none", "--quiet", "--device", "cpu",
]  # fmt: skip


def test_a_streamed_run_killed_mid_epoch_resumes_bitwise_and_matches_a_cached_run(run_zoo, zoo_env, tmp_path):
    data = write_image_folder(tmp_path / "images", COLOURS, per_class=40)
    args = [*TRAIN, "--data-dir", str(data)]
    straight = run_zoo(*args, "--out", str(tmp_path / "straight"))
    assert straight.returncode == 0, straight.stderr
    config = json.loads((tmp_path / "straight" / "config.json").read_text())
    assert config["cache"] == "none"
    killed = tmp_path / "killed"
    proc = start_and_wait_for(args, killed, [], zoo_env, r"checkpoint saved at epoch 2, batch [1-9]")
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    resumed = run_zoo(*args, "--set", "cache=memory", "--out", str(killed), "--resume")  # the cache may change
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed from" in (killed / "train.log").read_text()
    assert same_weights(tmp_path / "straight", killed) and history(tmp_path / "straight") == history(killed)
    cached = run_zoo(*args, "--set", "cache=memory", "--out", str(tmp_path / "cached"))
    assert cached.returncode == 0, cached.stderr
    assert same_weights(tmp_path / "straight", tmp_path / "cached")


def test_a_bad_cache_mode_is_a_usage_error(run_zoo, tmp_path):
    data = write_image_folder(tmp_path / "images", COLOURS, per_class=2)
    proc = run_zoo("train", "cnn", "--dataset", "imagefolder", "--data-dir", str(data), "--set", "cache=disk")
    assert_clean_error(proc, 2, "cache")


def test_resume_refuses_an_image_edited_in_place_at_the_same_size(run_zoo, tmp_path):
    data = stored_pngs(tmp_path / "images", COLOURS)
    args = ["train", "cnn", "--dataset", "imagefolder", "--data-dir", str(data), "--epochs", "1", "--device", "cpu"]
    out = tmp_path / "run"
    assert run_zoo(*args, "--quiet", "--out", str(out)).returncode == 0
    edit_in_place(data / "blue" / "2.png")
    proc = run_zoo(*args, "--quiet", "--out", str(out), "--resume")
    assert_clean_error(proc, 2, f"--resume: the data differs from what {out} was trained on")
