import pytest
from PIL import Image
from zoo_fixtures import write_image_folder
from zoo_images.imagefolder import load

from zoo.errors import UsageError

COLOURS = {"red": (220, 30, 30), "green": (30, 200, 40), "blue": (20, 40, 210)}


def test_split_by_ratio(tmp_path):
    write_image_folder(tmp_path, COLOURS, per_class=10)
    data = load(tmp_path, size=16, val_split=0.2)
    assert data.info["labels"] == ["blue", "green", "red"]
    assert len(data.train) == 24 and len(data.val) == 6
    assert data.train.tensors[0].shape[1:] == (3, 16, 16)
    assert load(tmp_path, size=16, val_split=0.0).val is None


def test_train_and_val_folders_and_any_image_mode(tmp_path):
    write_image_folder(tmp_path / "train", COLOURS, per_class=4, mode="L")
    write_image_folder(tmp_path / "val", COLOURS, per_class=2, mode="CMYK")  # saved as RGB-compatible PNG
    for i, mode in enumerate(("P", "RGBA")):
        Image.new(mode, (20, 20)).save(tmp_path / "train" / "red" / f"mode{i}.png")
    data = load(tmp_path, size=8)
    assert (len(data.train), len(data.val)) == (14, 6)
    assert data.train.tensors[0].shape[1] == 3


def test_bad_files_are_skipped_with_a_count(tmp_path):
    write_image_folder(tmp_path, COLOURS, per_class=5)
    (tmp_path / "red" / "notes.txt").write_text("not an image")
    (tmp_path / "green" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    good = (tmp_path / "blue" / "0.png").read_bytes()
    (tmp_path / "blue" / "cut.png").write_bytes(good[: len(good) // 2])
    data = load(tmp_path, size=8)
    assert len(data.train) + len(data.val) == 15
    warnings = " | ".join(data.info["warnings"])
    assert "skipped 2 image(s)" in warnings and "broken.png" in warnings and "cut.png" in warnings
    assert "ignored 1 non-image file(s)" in warnings


def test_empty_class_and_empty_root(tmp_path):
    write_image_folder(tmp_path, COLOURS, per_class=3)
    (tmp_path / "purple").mkdir()
    with pytest.raises(UsageError, match=r"the class folder .*purple has no readable images"):
        load(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UsageError, match="no class folders"):
        load(empty)
