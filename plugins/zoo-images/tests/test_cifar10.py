import pickle

import pytest
import torch
from zoo_fixtures import write_cifar10
from zoo_images.cifar10 import load

from zoo.errors import UsageError, ZooError


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
