"""LazyAdamW: AdamW exactly where every row has a gradient; only touched rows change otherwise, and the
weight decay an untouched row missed is paid in full when it is touched or caught up."""
import pytest
import torch
from torch import nn

from collab_core.model.optim import LazyAdamW

SETTINGS = {"lr": 0.05, "betas": (0.9, 0.99), "weight_decay": 0.3}


def _tables(sparse: bool, n_rows: int = 6, width: int = 3) -> nn.Embedding:
    torch.manual_seed(0)
    return nn.Embedding(n_rows, width, sparse=sparse)


def _train(table: nn.Embedding, optimizer, batches, schedule=None) -> None:
    targets = torch.linspace(-1, 1, table.embedding_dim)
    for step, rows in enumerate(batches):
        if schedule is not None:
            for group in optimizer.param_groups:
                group["lr"] = schedule[step]
        loss = ((table(rows) - targets) ** 2).sum()  # repeats in `rows` sum their gradients
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()


def test_matches_adamw_when_every_row_is_touched_each_step():
    batches = [torch.tensor([0, 1, 2, 3, 4, 5, 2, 2]), torch.tensor([5, 4, 3, 2, 1, 0]), torch.arange(6).flip(0)] * 4
    schedule = [0.05 * (1 + i % 3) for i in range(len(batches))]  # the lr may change every step
    dense, lazy = _tables(sparse=False), _tables(sparse=True)
    _train(dense, torch.optim.AdamW(dense.parameters(), **SETTINGS), batches, schedule)
    _train(lazy, LazyAdamW(lazy.parameters(), **SETTINGS), batches, schedule)
    assert torch.allclose(dense.weight, lazy.weight, atol=1e-6)


def test_dense_gradients_are_adamw_exactly():
    torch.manual_seed(0)
    a, b = nn.Linear(4, 2), nn.Linear(4, 2)
    b.load_state_dict(a.state_dict())
    x = torch.randn(8, 4)
    pairs = ((a, torch.optim.AdamW(a.parameters(), **SETTINGS)), (b, LazyAdamW(b.parameters(), **SETTINGS)))
    for layer, optimizer in pairs:
        for _ in range(5):
            optimizer.zero_grad()
            layer(x).pow(2).sum().backward()
            optimizer.step()
    assert torch.allclose(a.weight, b.weight, atol=1e-6) and torch.allclose(a.bias, b.bias, atol=1e-6)


def test_an_untouched_row_keeps_its_value_and_moments_until_touched():
    table = _tables(sparse=True)
    before = table.weight.detach().clone()
    optimizer = LazyAdamW(table.parameters(), **SETTINGS)
    _train(table, optimizer, [torch.tensor([0, 1])] * 3)
    assert torch.equal(table.weight[2:], before[2:])  # not even decayed yet: the decay is owed
    assert not torch.equal(table.weight[:2], before[:2])
    assert torch.count_nonzero(optimizer.state[table.weight]["exp_avg"][2:]) == 0


@pytest.mark.parametrize("decay_untouched", [True, False])
def test_catch_up_applies_exactly_the_decay_a_row_missed(decay_untouched):
    lrs = [0.05, 0.1, 0.02, 0.07]
    table = _tables(sparse=True)
    before = table.weight.detach().clone()
    optimizer = LazyAdamW(table.parameters(), **{**SETTINGS, "decay_untouched": decay_untouched})
    _train(table, optimizer, [torch.tensor([0])] * len(lrs), schedule=lrs)
    optimizer.catch_up()
    expected = before[1:] * torch.prod(1 - torch.tensor(lrs) * SETTINGS["weight_decay"]) if decay_untouched \
        else before[1:]
    assert torch.allclose(table.weight[1:], expected, atol=1e-7)
    optimizer.catch_up()  # twice is once: nothing more is owed
    assert torch.allclose(table.weight[1:], expected, atol=1e-7)


def test_a_row_touched_after_a_gap_pays_the_missed_decay_first():
    """Row 1 is untouched for two steps, then touched: its weight equals a dense AdamW's decay of those steps
    followed by a first Adam step (its moments start at zero, as a dense AdamW's would for a row whose gradient
    had always been zero, apart from the bias correction, which counts the optimizer's steps)."""
    table = _tables(sparse=True)
    before = table.weight.detach().clone()
    optimizer = LazyAdamW(table.parameters(), **SETTINGS)
    _train(table, optimizer, [torch.tensor([0]), torch.tensor([0]), torch.tensor([1])])
    decayed = before[1] * (1 - SETTINGS["lr"] * SETTINGS["weight_decay"]) ** 3
    grad = 2 * (before[1] - torch.linspace(-1, 1, 3))  # at the row's value before the step
    beta1, beta2 = SETTINGS["betas"]
    m_hat = (1 - beta1) * grad / (1 - beta1**3)
    v_hat = (1 - beta2) * grad**2 / (1 - beta2**3)
    expected = decayed - SETTINGS["lr"] * m_hat / (v_hat.sqrt() + 1e-8)
    assert torch.allclose(table.weight[1], expected, atol=1e-6)


def test_a_decay_that_wipes_the_weights_out_does_not_raise():
    """lr x wd >= 1 (an lr finder sweeping to lr 1 at wd 2.5): AdamW's factor (1 - lr*wd) is <= 0; LazyAdamW
    keeps the log of its decay, which must not be a math domain error. The weights are wiped, not NaN."""
    table = _tables(sparse=True)
    optimizer = LazyAdamW(table.parameters(), lr=0.5, weight_decay=2.5)
    for _ in range(3):
        optimizer.zero_grad()
        table(torch.tensor([0, 1])).sum().backward()
        optimizer.step()
    optimizer.catch_up()
    assert torch.isfinite(table.weight).all()
