"""The three collaborative-filtering networks, as plain torch modules (training lives in training.py).

All take a batch of user indices and item indices, both (batch,) int64, and return predicted ratings,
(batch,) float32. An `nn.Embedding` lookup is the lesson's "one-hot vector times a matrix, done as an
index": `weight[idx]` equals `one_hot(idx) @ weight` without building the one-hot matrix.

- EmbeddingDot:     user_factors . item_factors                         (no bias, no range)
- EmbeddingDotBias: sigmoid_range(user . item + user_bias + item_bias)  (fastai's model)
- EmbeddingNN:      sigmoid_range(MLP([user_emb, item_emb]))            (widths may differ)
- VectorsOnly:      no network: embeddings trained elsewhere and imported (collab_core.importer); it
                    predicts nothing, but holds its tables under the same names as the three above
"""
from __future__ import annotations

import torch
from torch import nn

from .errors import CollabError

MODEL_KINDS = ("dot", "dot_bias", "nn")


def sigmoid_range(x: torch.Tensor, low: float, high: float) -> torch.Tensor:
    """Squash any real into (low, high). The range is set a little wider than the ratings, since a
    sigmoid only reaches its ends at infinity."""
    return torch.sigmoid(x) * (high - low) + low


def _embedding(n: int, width: int, sparse: bool = False, std: float = 0.01) -> nn.Embedding:
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
        self.user_factors = _embedding(n_users, n_factors, sparse)  # (n_users, n_factors)
        self.item_factors = _embedding(n_items, n_factors, sparse)  # (n_items, n_factors)

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        return (self.user_factors(users) * self.item_factors(items)).sum(dim=1)  # (batch,)


class EmbeddingDotBias(nn.Module):
    """fastai's EmbeddingDotBias: sigmoid_range(u . i + b_u + b_i, *y_range)."""

    def __init__(self, n_users: int, n_items: int, n_factors: int, y_range: tuple[float, float] = (0.0, 5.5),
                 sparse: bool = False):
        super().__init__()
        self.y_range = tuple(float(v) for v in y_range)
        self.user_factors = _embedding(n_users, n_factors, sparse)  # (n_users, n_factors)
        self.item_factors = _embedding(n_items, n_factors, sparse)  # (n_items, n_factors)
        self.user_bias = _embedding(n_users, 1, sparse)  # (n_users, 1)
        self.item_bias = _embedding(n_items, 1, sparse)  # (n_items, 1)

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        dot = (self.user_factors(users) * self.item_factors(items)).sum(dim=1)  # (batch,)
        x = dot + self.user_bias(users).squeeze(1) + self.item_bias(items).squeeze(1)  # (batch,)
        return sigmoid_range(x, *self.y_range)


class EmbeddingNN(nn.Module):
    """fastai's EmbeddingNN: concatenated embeddings -> [Linear, ReLU, Dropout]* -> Linear -> sigmoid_range.

    fastai's version also puts BatchNorm in each block; measured on MovieLens 100K it made validation RMSE
    worse (0.908 vs 0.905) and training slower, so it is left out."""

    def __init__(self, n_users: int, n_items: int, user_width: int, item_width: int,
                 layers: tuple[int, ...] = (100,), dropout: float = 0.1, y_range: tuple[float, float] = (0.0, 5.5),
                 sparse: bool = False):
        super().__init__()
        self.y_range = tuple(float(v) for v in y_range)
        self.user_factors = _embedding(n_users, user_width, sparse)  # (n_users, user_width)
        self.item_factors = _embedding(n_items, item_width, sparse)  # (n_items, item_width)
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


def build_model(kind: str, n_users: int, n_items: int, n_factors: int, y_range: tuple[float, float],
                nn_layers: tuple[int, ...] = (100,), nn_dropout: float = 0.1,
                nn_item_factors: int | None = None, sparse: bool = False) -> nn.Module:
    """The network for `kind` ('dot', 'dot_bias' or 'nn'). For 'nn', users get `n_factors` wide
    embeddings and items `nn_item_factors` (default: the same). `sparse`: tables with row gradients."""
    if kind == "dot":
        return EmbeddingDot(n_users, n_items, n_factors, sparse)
    if kind == "dot_bias":
        return EmbeddingDotBias(n_users, n_items, n_factors, y_range, sparse)
    if kind == "nn":
        return EmbeddingNN(n_users, n_items, n_factors, nn_item_factors or n_factors, tuple(nn_layers),
                           nn_dropout, y_range, sparse)
    raise ValueError(f"unknown model kind {kind!r}; expected one of {', '.join(MODEL_KINDS)}")


def build_model_for(config, n_users: int, n_items: int) -> nn.Module:
    """The network a TrainConfig describes, for n_users x n_items: the one home of this rule, used by
    training (a fresh model) and by the run store (the shapes a saved run must have). Its tables get sparse
    (row) gradients when the config trains them with LazyAdamW; that changes nothing in the saved weights."""
    return build_model(config.model, n_users, n_items, config.n_factors, config.y_range, config.nn_layers,
                       config.nn_dropout, config.nn_item_factors, sparse=config.sparse_rows)


class VectorsOnly(nn.Module):
    """Imported embeddings standing in for a network. Its tables have the trained models' names
    (item_factors, item_bias, user_factors, user_bias), so the accessors below, the run store's safetensors
    layout and its shape checks treat an imported run like a trained one. Tables the import did not provide
    are absent (a run without user vectors has no user_factors). It has no rule to combine them into a
    rating, so calling it raises."""

    def __init__(self, n_items: int, dim: int, n_users: int = 0, item_bias: bool = False, user_bias: bool = False):
        super().__init__()
        self.item_factors = nn.Embedding(n_items, dim)  # (n_items, dim)
        if item_bias:
            self.item_bias = nn.Embedding(n_items, 1)  # (n_items, 1)
        if n_users:
            self.user_factors = nn.Embedding(n_users, dim)  # (n_users, dim): a user's score is a dot product
            if user_bias:
                self.user_bias = nn.Embedding(n_users, 1)  # (n_users, 1)
        self.requires_grad_(False)

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        raise CollabError("an imported run holds vectors only: it has no model to predict ratings with")


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
