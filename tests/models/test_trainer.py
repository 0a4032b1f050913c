"""The shared trainer: epochs, time budget, early stopping with best-weight restore, clipping, seeds."""

from __future__ import annotations

import pytest
import torch

from synthkit.errors import ConfigError
from synthkit.models.trainer import Trainer, resolve_device


def _regression(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(256, 3, generator=g)
    y = x @ torch.tensor([1.0, -2.0, 0.5]) + 0.01 * torch.randn(256, generator=g)
    return x, y


def _fit(trainer: Trainer, lr: float = 0.05, validate: bool = False, after_epoch=None):
    x, y = _regression()
    torch.manual_seed(0)
    net = torch.nn.Linear(3, 1)
    opt = torch.optim.SGD(net.parameters(), lr=lr)

    def step(idx):
        loss = ((net(x[idx]).squeeze(1) - y[idx]) ** 2).mean()
        trainer.optimize(opt, loss)
        return {"loss": loss.item()}

    val = (lambda: float(((net(x[:64]).squeeze(1) - y[:64]) ** 2).mean().detach())) if validate else None
    history = trainer.run(len(x), step, validate=val, modules=[net], after_epoch=after_epoch)
    return net, history


def test_loss_goes_down_and_history_is_recorded():
    _, history = _fit(Trainer(epochs=30, batch_size=32, seed=0))
    assert len(history.epochs) == 30 and history.stop_reason == "epochs"
    assert history.epochs[-1]["loss"] < 0.05 * history.epochs[0]["loss"]
    assert history.steps == 30 * 8 and history.rows_seen == 30 * 256 and history.rows_per_second > 0


def test_same_seed_same_weights():
    a, _ = _fit(Trainer(epochs=3, batch_size=50, seed=4))
    b, _ = _fit(Trainer(epochs=3, batch_size=50, seed=4))
    c, _ = _fit(Trainer(epochs=3, batch_size=50, seed=5))
    assert torch.equal(a.weight, b.weight)
    assert not torch.equal(a.weight, c.weight)  # the batch order follows the seed


def test_time_budget_stops_training():
    trainer = Trainer(epochs=None, max_minutes=0.002, batch_size=8)
    _, history = _fit(trainer)
    assert history.stop_reason == "time" and 0.1 < history.seconds < 5


def test_an_epoch_callback_can_move_the_time_budget():
    """The budget is read at every step: a caller that learns after epoch 3 that it needs the
    remaining time for something else stops training at the next step."""
    trainer = Trainer(epochs=1000, max_minutes=60, batch_size=8)
    seen: list[int] = []

    def after_epoch(epoch: int) -> None:
        seen.append(epoch)
        if epoch == 3:
            trainer.max_minutes = 1e-9

    _, history = _fit(trainer, after_epoch=after_epoch)
    assert seen == [1, 2, 3, 4] and history.stop_reason == "time"
    assert history.steps == 3 * 32 + 1  # one step of epoch 4, then the moved budget is spent


def test_early_stopping_restores_best_weights():
    # a learning rate that diverges: validation loss rises after the first epochs
    trainer = Trainer(epochs=50, batch_size=256, patience=2, seed=0)
    net, history = _fit(trainer, lr=1.05, validate=True)
    assert history.stop_reason == "early_stopping" and len(history.epochs) < 50
    best = min(e["val_loss"] for e in history.epochs)
    x, y = _regression()
    restored = float(((net(x[:64]).squeeze(1) - y[:64]) ** 2).mean())
    assert restored == pytest.approx(best, rel=1e-5)


def test_overfitting_guard_stops_without_restoring():
    """Validation loss 10 % above its best stops training at that epoch; the weights are the last ones."""
    trainer = Trainer(epochs=50, batch_size=256, overfit_tolerance=0.1, seed=0)
    net, history = _fit(trainer, lr=1.05, validate=True)
    losses = [e["val_loss"] for e in history.epochs]
    assert history.stop_reason == "overfitting" and len(losses) < 50
    assert losses[-1] > 1.1 * min(losses) and all(v <= 1.1 * min(losses) for v in losses[:-1])
    x, y = _regression()
    assert float(((net(x[:64]).squeeze(1) - y[:64]) ** 2).mean()) == pytest.approx(losses[-1], rel=1e-5)


def test_gradient_clipping_bounds_the_update():
    x, y = _regression()
    net = torch.nn.Linear(3, 1)
    before = net.weight.detach().clone()
    opt = torch.optim.SGD(net.parameters(), lr=1.0)
    trainer = Trainer(epochs=1, grad_clip=0.01)
    trainer.optimize(opt, ((net(x).squeeze(1) - 1000 * y) ** 2).mean())
    step = torch.cat([(net.weight - before).flatten()])
    assert step.norm() <= 0.0101


def test_batches_cover_rows_and_small_tables_get_one_batch():
    g = torch.Generator().manual_seed(0)
    batches = Trainer(batch_size=4).batches(10, g)
    assert [len(b) for b in batches] == [4, 4]
    assert len(set(torch.cat(batches).tolist())) == 8
    assert [len(b) for b in Trainer(batch_size=500).batches(7, g)] == [7]


@pytest.mark.parametrize("kwargs, match", [
    ({"epochs": 0}, "epochs"), ({"epochs": None}, "epochs or max_minutes"), ({"batch_size": 0}, "batch_size"),
    ({"max_minutes": -1}, "max_minutes"), ({"patience": 0}, "patience"), ({"grad_clip": 0}, "grad_clip"),
    ({"overfit_tolerance": 0}, "overfit_tolerance"),
    ({"device": "quantum"}, "device"),
])
def test_bad_settings_are_clear_errors(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        Trainer(**kwargs)


def test_device_auto_is_cpu_here():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
