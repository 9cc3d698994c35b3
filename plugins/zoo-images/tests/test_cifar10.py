import pickle

import pytest
import torch
from zoo_fixtures import write_cifar10
from zoo_images.cifar10 import load
from zoo_images.samples import python2_pickle

from zoo.core.errors import UsageError, ZooError


def test_reads_the_real_python_layout(tmp_path):
    write_cifar10(tmp_path, per_batch=10)
    data = load(tmp_path)  # the folder above cifar-10-batches-py, as torchvision's root
    x, y = data.train.tensors
    assert x.shape == (50, 3, 32, 32) and x.dtype == torch.uint8 and y.tolist()[:10] == list(range(10))
    assert data.val.tensors[0].shape == (10, 3, 32, 32)
    assert data.info["labels"][:3] == ["airplane", "automobile", "bird"]
    assert data.info["preprocessing"]["size"] == 32 and data.info["fingerprint"].startswith("sha256:")
    assert load(tmp_path / "cifar-10-batches-py").info["fingerprint"] == data.info["fingerprint"]
    assert load(tmp_path, size=64).train.tensors[0].shape == (50, 3, 64, 64)


def test_missing_dir_file_and_truncated_batch(tmp_path):
    with pytest.raises(UsageError, match="cifar10 needs --data-dir"):
        load(None)
    with pytest.raises(UsageError, match="is not a folder"):
        load(tmp_path / "nowhere")
    root = write_cifar10(tmp_path)
    (root / "data_batch_3").unlink()
    with pytest.raises(UsageError, match=r"CIFAR-10 file missing: .*data_batch_3"):
        load(tmp_path)
    write_cifar10(tmp_path / "again")
    batch = tmp_path / "again" / "cifar-10-batches-py" / "data_batch_2"
    batch.write_bytes(batch.read_bytes()[:500])
    with pytest.raises(ZooError, match=r"data_batch_2 is corrupt or truncated"):
        load(tmp_path / "again")


def test_a_batch_that_runs_code_is_refused(tmp_path):
    root = write_cifar10(tmp_path)

    class Exploit:
        def __reduce__(self):
            return (print, ("pwned",))

    (root / "test_batch").write_bytes(pickle.dumps({b"data": Exploit()}, protocol=2))
    with pytest.raises(ZooError, match=r"test_batch is corrupt or truncated .*refusing (__builtin__|builtins).print"):
        load(tmp_path)


def test_download_offline_is_a_clear_error(tmp_path):
    with pytest.raises(ZooError, match="cannot download CIFAR-10"):
        load(tmp_path, download=True)


def test_pixels_and_labels_match_torchvisions_reader(tmp_path, monkeypatch):
    """torchvision's CIFAR10 reads the same files: every pixel of every channel, in order, and every label."""
    import numpy as np
    import torchvision

    rng = np.random.default_rng(7)
    root = tmp_path / "cifar-10-batches-py"
    root.mkdir()
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        # Random values per pixel and channel: a CHW/HWC or RGB/BGR slip changes almost every value.
        data = rng.integers(0, 256, (6, 3072), dtype=np.uint8)
        batch = {b"data": data, b"labels": rng.integers(0, 10, 6).tolist(), b"batch_label": name.encode()}
        (root / name).write_bytes(python2_pickle(batch))
    names = [b"airplane", b"automobile", b"bird", b"cat", b"deer", b"dog", b"frog", b"horse", b"ship", b"truck"]
    (root / "batches.meta").write_bytes(python2_pickle({b"label_names": names}))

    # torchvision checks the md5 sums of the real files, which these are not; its reading is untouched.
    monkeypatch.setattr(torchvision.datasets.cifar, "check_integrity", lambda *_args, **_kwargs: True)

    data = load(tmp_path)
    for split, tensors in ((True, data.train.tensors), (False, data.val.tensors)):
        reference = torchvision.datasets.CIFAR10(str(tmp_path), train=split, download=False)
        x, y = tensors
        assert torch.equal(x.permute(0, 2, 3, 1), torch.from_numpy(reference.data))  # torchvision keeps HWC
        assert y.tolist() == list(reference.targets)
        image, label = reference[3]
        assert torch.equal(x[3].permute(1, 2, 0), torch.from_numpy(np.asarray(image))) and label == y[3]
    assert data.info["labels"] == torchvision.datasets.CIFAR10(str(tmp_path), train=True).classes


def test_label_names_that_are_not_text_are_a_clear_error(tmp_path):
    root = write_cifar10(tmp_path, per_batch=2)
    (root / "batches.meta").write_bytes(python2_pickle({b"label_names": [b"\x80bad"] * 10}))
    with pytest.raises(ZooError, match=r"batches.meta is corrupt: its label names are not text"):
        load(tmp_path)
