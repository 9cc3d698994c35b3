import hashlib
import json

import pytest
import torch
from torch import nn

from zoo.core.errors import UsageError, ZooError
from zoo.store.weights import (
    WeightsMismatchError,
    find_weights,
    load_files,
    load_into,
    read_state_dict,
    save,
    weight_files,
)


def test_save_is_atomic_and_round_trips(tmp_path):
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    path = save(model, tmp_path / "model.safetensors")
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"]
    fresh = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    load_into(fresh, read_state_dict(path), "the test model")
    assert torch.equal(fresh[0].weight, model[0].weight)


def test_missing_num_batches_tracked_is_fine():
    model = nn.BatchNorm1d(4)
    state = {k: v for k, v in model.state_dict().items() if k != "num_batches_tracked"}
    load_into(nn.BatchNorm1d(4), state, "bn")


def test_mismatches_name_the_first_keys():
    state = nn.Linear(3, 5).state_dict() | {"extra.weight": torch.zeros(1)}
    with pytest.raises(WeightsMismatchError, match=r"shape mismatch weight \(weights \[5, 3\], model \[4, 3\]\)"):
        load_into(nn.Linear(3, 4), state, "a linear layer")
    with pytest.raises(WeightsMismatchError, match=r"missing keys 0.weight, 0.bias; unexpected keys weight, bias"):
        load_into(nn.Sequential(nn.Linear(3, 4)), nn.Linear(3, 4).state_dict(), "a sequential")


def test_pickles_are_refused_unless_allowed(tmp_path):
    torch.save(nn.Linear(2, 2).state_dict(), tmp_path / "pytorch_model.bin")
    with pytest.raises(UsageError, match="--allow-pickle"):
        find_weights(tmp_path)
    path = find_weights(tmp_path, allow_pickle=True)
    with pytest.raises(UsageError, match="refusing to unpickle"):
        read_state_dict(path)
    assert set(read_state_dict(path, allow_pickle=True)) == {"weight", "bias"}


def test_corrupt_safetensors(tmp_path):
    (tmp_path / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(ZooError, match="is not a valid safetensors file"):
        read_state_dict(find_weights(tmp_path))


# Linux's peak resident set (VmHWM) is reset by writing 5 to clear_refs, so it measures the loading alone. Then the
# sha256 of every tensor the model holds, to compare exactly with what was saved.
PEAK = """
import hashlib, json, re, sys, torch, torchvision
from pathlib import Path
from zoo.store.weights import load_files, weight_files
def status(field):
    return int(re.search(field + r":\\s+(\\d+) kB", Path("/proc/self/status").read_text())[1]) * 1024
torch.manual_seed(0)
model = torchvision.models.resnet101()
for p in model.parameters():
    p.data.zero_()
Path("/proc/self/clear_refs").write_text("5")
before = status("VmRSS")
load_files(model, weight_files(Path(sys.argv[1])), "resnet101")
grown = status("VmHWM") - before
digests = {k: hashlib.sha256(v.contiguous().numpy().tobytes()).hexdigest() for k, v in model.state_dict().items()}
print(json.dumps({"grown": grown, "tensors": digests}))
"""


def tensor_digests(state: dict) -> dict[str, str]:
    return {k: hashlib.sha256(v.contiguous().numpy().tobytes()).hexdigest() for k, v in state.items()}


def test_shards_load_strictly_with_one_shard_in_memory(tmp_path):
    """huggingface_hub's own sharding (as transformers publishes large models) against one whole file."""
    import subprocess
    import sys

    import torchvision
    from huggingface_hub import save_torch_state_dict

    torch.manual_seed(1)
    state = torchvision.models.resnet101().state_dict()
    for name, tensor in state.items():  # buffers unlike a new model's, so that they must arrive too
        if "running" in name:
            tensor.uniform_(0.5, 1.5)
        elif name.endswith("num_batches_tracked"):
            tensor.fill_(7)
    size = sum(t.numel() * t.element_size() for t in state.values())
    sharded, whole = tmp_path / "sharded", tmp_path / "whole"
    sharded.mkdir()
    whole.mkdir()
    save_torch_state_dict(state, sharded, max_shard_size="20MB")
    save_torch_state_dict(state, whole, max_shard_size="10GB")
    assert len(list(sharded.glob("*.safetensors"))) > 5 and (sharded / "model.safetensors.index.json").is_file()

    def peak(folder):
        out = subprocess.run([sys.executable, "-c", PEAK, str(folder)], capture_output=True, text=True, check=True)
        report = json.loads(out.stdout)
        return report["grown"], report["tensors"]

    (sharded_peak, sharded_tensors), (whole_peak, whole_tensors) = peak(sharded), peak(whole)
    print(f"peak RSS growth loading a {size / 1e6:.0f} MB checkpoint: one file {whole_peak / 1e6:.1f} MB, "
          f"20 MB shards {sharded_peak / 1e6:.1f} MB")  # fmt: skip
    assert sharded_tensors == whole_tensors == tensor_digests(state)  # every tensor arrived, bit for bit
    assert whole_peak > 0.8 * size  # the measurement sees a whole checkpoint in memory ...
    assert sharded_peak < 3 * 20e6  # ... and about one 20 MB shard when it is sharded


def test_shards_that_miss_or_repeat_tensors_are_refused(tmp_path):
    from huggingface_hub import save_torch_state_dict

    state = nn.Sequential(nn.Linear(64, 64), nn.Linear(64, 64)).state_dict()
    save_torch_state_dict(state, tmp_path, max_shard_size="20KB")
    index = json.loads((tmp_path / "model.safetensors.index.json").read_text())
    assert len(set(index["weight_map"].values())) == 2
    load_files(nn.Sequential(nn.Linear(64, 64), nn.Linear(64, 64)), weight_files(tmp_path), "two layers")
    with pytest.raises(WeightsMismatchError, match=r"missing keys 2\.weight"):
        load_files(nn.Sequential(*(nn.Linear(64, 64) for _ in range(3))), weight_files(tmp_path), "three layers")
    first = sorted(set(index["weight_map"].values()))[0]
    (tmp_path / first).unlink()
    with pytest.raises(ZooError, match=f"names shards the repository lacks: {first}"):
        weight_files(tmp_path)
