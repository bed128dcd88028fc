"""The three collaborative-filtering networks, as plain torch modules (training lives in training.py).

All take a batch of user indices and item indices, both (batch,) int64, and return predicted ratings,
(batch,) float32. An `nn.Embedding` lookup is the lesson's "one-hot vector times a matrix, done as an
index": `weight[idx]` equals `one_hot(idx) @ weight` without building the one-hot matrix.

- EmbeddingDot:     user_factors . item_factors                         (no bias, no range)
- EmbeddingDotBias: sigmoid_range(user . item + user_bias + item_bias)  (fastai's model; without y_range, as
                    trained for ranking, the sum itself: a logit of a softmax over items)
- EmbeddingNN:      sigmoid_range(MLP([user_emb, item_emb]))            (widths may differ)

Which kind builds which network, and what each kind implies elsewhere, is in collab_core.model.kinds.
"""
from __future__ import annotations

import torch
from torch import nn


def sigmoid_range(x: torch.Tensor, low: float, high: float) -> torch.Tensor:
    """Squash any real into (low, high). The range is set a little wider than the ratings, since a
    sigmoid only reaches its ends at infinity."""
    return torch.sigmoid(x) * (high - low) + low


def embedding(n: int, width: int, sparse: bool = False, std: float = 0.01) -> nn.Embedding:
    """Small normal init (fastai's trunc_normal std 0.01): the dot products start near zero.

    `sparse`: the table's gradient lists only the rows a batch looked up (for LazyAdamW, see optim.py);
    it changes nothing else, and nothing in the saved weights."""
    emb = nn.Embedding(n, width, sparse=sparse)
    nn.init.trunc_normal_(emb.weight, std=std, a=-2 * std, b=2 * std)
    return emb


class EmbeddingDot(nn.Module):
    """Plain matrix factorisation: rating ~ user_factors . item_factors. No bias, no output range."""

    def __init__(self, n_users: int, n_items: int, n_factors: int, sparse: bool = False):
        super().__init__()
        self.user_factors = embedding(n_users, n_factors, sparse)  # (n_users, n_factors)
        self.item_factors = embedding(n_items, n_factors, sparse)  # (n_items, n_factors)

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        return (self.user_factors(users) * self.item_factors(items)).sum(dim=1)  # (batch,)


class EmbeddingDotBias(nn.Module):
    """fastai's EmbeddingDotBias: sigmoid_range(u . i + b_u + b_i, *y_range).

    `y_range=None` (a ranking run, collab_core.model.ranking): no sigmoid, the score u . i + b_u + b_i is an
    unbounded logit; squashing it into a rating range would only flatten the softmax it is trained under."""

    def __init__(self, n_users: int, n_items: int, n_factors: int,
                 y_range: tuple[float, float] | None = (0.0, 5.5), sparse: bool = False):
        super().__init__()
        self.y_range = None if y_range is None else tuple(float(v) for v in y_range)
        self.user_factors = embedding(n_users, n_factors, sparse)  # (n_users, n_factors)
        self.item_factors = embedding(n_items, n_factors, sparse)  # (n_items, n_factors)
        self.user_bias = embedding(n_users, 1, sparse)  # (n_users, 1)
        self.item_bias = embedding(n_items, 1, sparse)  # (n_items, 1)

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        dot = (self.user_factors(users) * self.item_factors(items)).sum(dim=1)  # (batch,)
        x = dot + self.user_bias(users).squeeze(1) + self.item_bias(items).squeeze(1)  # (batch,)
        return x if self.y_range is None else sigmoid_range(x, *self.y_range)


class EmbeddingNN(nn.Module):
    """fastai's EmbeddingNN: concatenated embeddings -> [Linear, ReLU, Dropout]* -> Linear -> sigmoid_range.

    fastai's version also puts BatchNorm in each block; measured on MovieLens 100K it made validation RMSE
    worse (0.908 vs 0.905) and training slower, so it is left out."""

    def __init__(self, n_users: int, n_items: int, user_width: int, item_width: int,
                 layers: tuple[int, ...] = (100,), dropout: float = 0.1, y_range: tuple[float, float] = (0.0, 5.5),
                 sparse: bool = False):
        super().__init__()
        self.y_range = tuple(float(v) for v in y_range)
        self.user_factors = embedding(n_users, user_width, sparse)  # (n_users, user_width)
        self.item_factors = embedding(n_items, item_width, sparse)  # (n_items, item_width)
        blocks: list[nn.Module] = []
        width = user_width + item_width
        for hidden in layers:
            blocks += [nn.Linear(width, hidden), nn.ReLU(), nn.Dropout(dropout)]
            width = hidden
        blocks.append(nn.Linear(width, 1))
        self.mlp = nn.Sequential(*blocks)

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        x = torch.cat([self.user_factors(users), self.item_factors(items)], dim=1)  # (batch, u_w + i_w)
        return sigmoid_range(self.mlp(x).squeeze(1), *self.y_range)  # (batch,)


def item_factors(model: nn.Module) -> torch.Tensor:
    """(n_items, width) item embedding matrix, detached, on the CPU."""
    return model.item_factors.weight.detach().cpu()


def user_factors(model: nn.Module) -> torch.Tensor | None:
    """(n_users, width) user embedding matrix, detached, on the CPU; None for imported vectors without users."""
    table = getattr(model, "user_factors", None)
    return None if table is None else table.weight.detach().cpu()


def item_bias(model: nn.Module) -> torch.Tensor | None:
    """(n_items,) learned item bias, or None for a model without one."""
    bias = getattr(model, "item_bias", None)
    return None if bias is None else bias.weight.detach().cpu().squeeze(1)


def user_bias(model: nn.Module) -> torch.Tensor | None:
    """(n_users,) learned user bias, or None for a model without one."""
    bias = getattr(model, "user_bias", None)
    return None if bias is None else bias.weight.detach().cpu().squeeze(1)
