import pytest
import torch
from torch import nn

from zoo.errors import UsageError, ZooError
from zoo.weights import WeightsMismatchError, find_weights, load_into, read_state_dict, save


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
