"""The loop state: what a checkpoint saves of it comes back equal through torch.save/load(weights_only=True)."""

import io

import torch

from zoo.engine.state import Best, LoopState


def test_round_trip_through_a_weights_only_checkpoint():
    state = LoopState(epoch=2, batch=3, global_step=17, epoch_first_step=14, loss_sum=2.5, loss_count=5)
    state.end_epoch({"accuracy": 0.5}, 0.5, 1.23456, 2.0)
    assert state.history[-1]["train_loss"] == 0.5 and (state.loss_sum, state.loss_count, state.seconds) == (0, 0, 2.0)
    assert state.improved("accuracy", {"accuracy": 0.5})
    state.best_weights = {"w": torch.ones(2)}
    buffer = io.BytesIO()
    torch.save(state.to_checkpoint(), buffer)
    buffer.seek(0)
    back = LoopState.from_checkpoint(torch.load(buffer, weights_only=True))
    assert back.best == Best(score=0.5, epoch=1, metrics={"accuracy": 0.5})
    assert (back.epoch, back.batch, back.global_step, back.history) == (3, 0, 17, state.history)
    assert torch.equal(back.best_weights["w"], torch.ones(2))


def test_best_patience_and_final_metrics():
    state = LoopState()
    for loss in (0.9, 0.5, 0.6, 0.7):
        state.end_epoch({"loss": loss}, 1.0, 0.1, 0.2)
        state.improved("-loss", {"loss": loss})  # lower is better
    assert state.best.epoch == 2 and state.patience_spent(2) and not state.patience_spent(3)
    assert state.final_metrics() == {"loss": 0.5, "epoch": 2}
    assert state.seconds == 0.8
    row = {"epoch": 1, "acc": 1.0, "train_loss": 0.3, "train_seconds": 2, "steps": 3}
    assert LoopState(history=[row]).final_metrics() == {
        "epoch": 1,
        "acc": 1.0,
    }
    assert state.where() == "after epoch 4" and LoopState(epoch=1, batch=5).where() == "at epoch 2, batch 5"
