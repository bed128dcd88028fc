"""One object per model kind: everything the rest of the engine asks of a kind, in one place.

A kind says how its network is built, whether its output is squashed into y_range, whether it learns biases,
whether its user and item vectors meet in one space (a dot product) or only inside an MLP, how a new user is
folded in, what its optimiser keeps per table row, and what a prediction is made of. Callers ask the kind
(`kind_named(config.model).bounded`) instead of comparing its name, so adding a kind touches this file.

An imported run is a kind too: vectors trained elsewhere, with or without item biases, that predict nothing;
its "network" is a plain `nn.ModuleDict` of the tables the import provided, under the trained kinds' names
(item_factors, item_bias, user_factors, user_bias), so the run store's safetensors layout holds for every run.

A kind trained for ranking (TrainConfig.objective 'ranking', collab_core.model.ranking) is the same kind with
`ranking=True`: the same network and tables, but its score is a logit over items, not a rating, so it is not
bounded (no sigmoid, no y_range to cover the ratings) and a new user is folded in by its softmax, not by the
rating solvers (collab_core.analysis.foldin_ranking).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from torch import nn

from collab_core.errors import ConfigError
from collab_core.model.networks import EmbeddingDot, EmbeddingDotBias, EmbeddingNN, embedding


@dataclass(frozen=True)
class ModelKind:
    """What a kind of model is, as the engine needs to know it."""

    name: str  # as written in run.json, the CLI and links: 'dot_bias'
    label: str  # as people read it: 'EmbeddingDotBias'
    trainable: bool  # False for imported vectors
    bounded: bool  # predictions pass through sigmoid_range(y_range), which must cover the ratings
    biases: bool  # a user and an item bias beside the factors
    shared_space: bool  # user . item is the score: a user sits on the item map and a prediction splits by factor
    foldin: str  # the solver that folds in a new user: 'dot', 'dot_bias', 'nn' or 'linear_bias'
    mlp: bool = False  # an MLP combines the vectors (its layers count in memory, its hidden units in Diagnostics)
    ranking: bool = False  # trained for ranking: scores are logits of a softmax over items, not ratings
    builder: Callable | None = field(default=None, repr=False, compare=False)  # (config, n_users, n_items) -> net

    @property
    def learns_averages(self) -> bool:
        """Whether it can learn each user's and each item's average rating apart from their taste (biases, or an
        MLP that can add them); a plain dot product must spend factors on them."""
        return self.biases or self.mlp

    @property
    def tables_per_row(self) -> int:
        """Embedding tables that share a user's (or an item's) row: factors, plus the bias when there is one.
        LazyAdamW keeps one float64 of decay bookkeeping per row of each."""
        return 2 if self.biases else 1

    def for_objective(self, objective: str) -> ModelKind:
        """This kind as trained by `objective` ('rating' or 'ranking'; TrainConfig checks which kinds take which).
        A ranking run's scores are logits, so it is unbounded whatever the kind says for ratings."""
        return replace(self, bounded=False, ranking=True) if objective == "ranking" else self

    def build(self, config, n_users: int, n_items: int) -> nn.Module:
        """The fresh network a TrainConfig describes, for n_users x n_items. Its tables get sparse (row)
        gradients when the config trains them with LazyAdamW; that changes nothing in the saved weights."""
        if self.builder is None:
            raise ConfigError(f"a {self.label} run is not trained here, so it has no network to build")
        return self.builder(config, n_users, n_items)

    def activation_width(self, config) -> int:
        """Floats kept per rating of a batch for the backward pass (the memory estimate's activations)."""
        if self.mlp:
            item_width = config.nn_item_factors or config.n_factors
            return config.n_factors + item_width + sum(config.nn_layers) * 3  # linear out, ReLU, dropout mask
        return 2 * config.n_factors + 4  # the two gathered factor rows, their product, biases


# Builders are module functions, not lambdas, so that a kind pickles (Streamlit's cache pickles what holds one)
def _dot(config, n_users: int, n_items: int) -> nn.Module:
    return EmbeddingDot(n_users, n_items, config.n_factors, config.sparse_rows)


def _dot_bias(config, n_users: int, n_items: int) -> nn.Module:
    y_range = config.y_range if config.kind.bounded else None  # a ranking run's score is a logit: no sigmoid
    return EmbeddingDotBias(n_users, n_items, config.n_factors, y_range, config.sparse_rows)


def _mlp(config, n_users: int, n_items: int) -> nn.Module:
    return EmbeddingNN(n_users, n_items, config.n_factors, config.nn_item_factors or config.n_factors,
                       tuple(config.nn_layers), config.nn_dropout, config.y_range, config.sparse_rows)


DOT = ModelKind("dot", "EmbeddingDot (no bias)", trainable=True, bounded=False, biases=False, shared_space=True,
                foldin="dot", builder=_dot)
DOT_BIAS = ModelKind("dot_bias", "EmbeddingDotBias", trainable=True, bounded=True, biases=True, shared_space=True,
                     foldin="dot_bias", builder=_dot_bias)
NN = ModelKind("nn", "EmbeddingNN (MLP)", trainable=True, bounded=True, biases=False, shared_space=False,
               foldin="nn", mlp=True, builder=_mlp)
# Imported vectors: scored by a dot product, with the item bias added when the import had one (no sigmoid)
IMPORTED = ModelKind("imported", "Imported vectors", trainable=False, bounded=False, biases=False,
                     shared_space=True, foldin="dot")
IMPORTED_WITH_BIASES = ModelKind("imported", "Imported vectors", trainable=False, bounded=False, biases=True,
                                 shared_space=True, foldin="linear_bias")

TRAINABLE = (DOT, DOT_BIAS, NN)
MODEL_KINDS = tuple(kind.name for kind in TRAINABLE)  # ('dot', 'dot_bias', 'nn'): what a config may name
RANKABLE = tuple(kind.name for kind in TRAINABLE if kind.shared_space)  # kinds the ranking objective trains
DEFAULT_KIND = DOT_BIAS  # the lesson's model, the most accurate here; the landing page's run is one


def kind_named(name: str) -> ModelKind:
    """The trainable kind called `name`; ConfigError listing the kinds otherwise."""
    for kind in TRAINABLE:
        if kind.name == name:
            return kind
    raise ConfigError(f"model must be one of {', '.join(MODEL_KINDS)}, got {name!r}")


def label_of(name: str | None) -> str:
    """What people read for a kind's name (also 'imported'); an unknown name as it is."""
    return next((kind.label for kind in (*TRAINABLE, IMPORTED) if kind.name == name), name or "")


def imported_tables(n_items: int, dim: int, n_users: int = 0, item_bias: bool = False,
                    user_bias: bool = False) -> nn.ModuleDict:
    """An imported run's tables, frozen, under the trained kinds' names; only those the import provided."""
    tables = {"item_factors": embedding(n_items, dim)}  # (n_items, dim)
    if item_bias:
        tables["item_bias"] = embedding(n_items, 1)  # (n_items, 1)
    if n_users:
        tables["user_factors"] = embedding(n_users, dim)  # (n_users, dim): a user's score is a dot product
        if user_bias:
            tables["user_bias"] = embedding(n_users, 1)  # (n_users, 1)
    return nn.ModuleDict(tables).requires_grad_(False)
