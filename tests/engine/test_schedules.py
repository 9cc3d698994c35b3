"""Every scheduler steps through any number of optimizer steps >= 1 (tiny datasets, many ranks, one epoch)."""

import pytest
import torch

from zoo.engine.settings import build_config
from zoo.plugin.recipe import Recipe


def lrs(scheduler: str, steps_per_epoch: int, epochs: int = 1, **sets) -> list[float]:
    config = build_config({"epochs": epochs, "scheduler": scheduler, "optimizer": "sgd"}, {}, sets)
    recipe = Recipe(config, model_spec=None, dataset_spec=None, data_dir=None)
    model = torch.nn.Linear(2, 1)
    optimizer, scheduler_ = recipe.configure_optimizers(model, steps_per_epoch)
    seen = []
    for _ in range(epochs * steps_per_epoch):
        seen.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler_.step()
    return seen


@pytest.mark.parametrize("scheduler", ["onecycle", "cosine", "tri-stage"])
@pytest.mark.parametrize("steps", [1, 2, 3, 4, 5, 8, 20, 40])
@pytest.mark.parametrize("warmup", ["0", "0.25", "1", "3"])
def test_any_step_count_works(scheduler, steps, warmup):
    seen = lrs(scheduler, steps, epochs=1, warmup_epochs=warmup)
    assert len(seen) == steps and all(0 <= lr <= 1e-3 * 1.0001 for lr in seen)


def test_onecycle_still_warms_up_and_anneals_when_there_are_enough_steps():
    seen = lrs("onecycle", 100)
    peak = seen.index(max(seen))
    assert 20 <= peak <= 30 and seen[0] < seen[peak] / 10 and seen[-1] < seen[0]


def test_onecycle_of_four_steps_the_case_that_divided_by_zero():
    seen = lrs("onecycle", 4)  # pct_start 0.25 x 4 steps = 1 warm-up step: OneCycleLR divided by zero
    assert seen[0] == max(seen) and seen[-1] < seen[0]
