import random

import numpy as np
import pytest
import torch

from zoo.engine.checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state
from zoo.errors import ZooError


def draw():
    return random.random(), float(np.random.rand()), torch.rand(3).tolist()


def test_rng_states_round_trip_through_a_weights_only_checkpoint(tmp_path):
    random.seed(1)
    np.random.seed(2)
    torch.manual_seed(3)
    draw()
    save_checkpoint(tmp_path / "last.pt", {"rng": rng_state(), "step": 7})
    expected = draw()
    draw()
    state = load_checkpoint(tmp_path / "last.pt")  # weights_only=True inside
    set_rng_state(state["rng"])
    assert draw() == expected and state["step"] == 7
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]  # no temporary file left


def test_corrupt_checkpoint_is_a_clear_error(tmp_path):
    (tmp_path / "last.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ZooError, match=r"cannot resume from .*last.pt"):
        load_checkpoint(tmp_path / "last.pt")
