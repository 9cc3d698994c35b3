import random

import numpy as np
import pytest
import torch

from zoo.core.errors import UsageError, ZooError
from zoo.engine.checkpoint import REQUIRED, load_checkpoint, rng_state, save_checkpoint, set_rng_state


def draw():
    return random.random(), float(np.random.rand()), torch.rand(3).tolist()


def test_rng_states_round_trip_through_a_weights_only_checkpoint(tmp_path):
    random.seed(1)
    np.random.seed(2)
    torch.manual_seed(3)
    draw()
    save_checkpoint(tmp_path / "last.pt", {**dict.fromkeys(REQUIRED, 0), "rng": rng_state(), "step": 7})
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


@pytest.mark.parametrize("content", [[1, 2, 3], {"model": {}}, {"weights": torch.zeros(2)}])
def test_a_torch_file_that_is_not_a_zoo_checkpoint_is_refused(tmp_path, content):
    torch.save(content, tmp_path / "last.pt")
    with pytest.raises(UsageError, match=r"last.pt: it is not a zoo checkpoint \(it lacks "):
        load_checkpoint(tmp_path / "last.pt")


def test_checkpoints_keep_normal_permissions(tmp_path):
    import os
    import stat

    old = os.umask(0o022)
    try:
        save_checkpoint(tmp_path / "last.pt", dict.fromkeys(REQUIRED, 0))
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "last.pt").stat().st_mode) == 0o644
