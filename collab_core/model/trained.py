"""TrainedModel: a trained network together with the vocabulary and item statistics it was trained on.

As in fastai's collab learner, the raw-id vocabulary travels with the model, so `item_bias(["50"])` and
`item_weight(["50"])` take raw ids, and an unknown id gets an error naming it. Item titles, counts and
mean ratings come along too, so a run loaded from disk can be interpreted without its rating data; so do the
rating values the data holds (`recorded_scale`, collab_core.data.rating_values), the stars a new user is offered.

An imported run (embeddings trained elsewhere, collab_core.runs.importer) is a TrainedModel too, with the same
whole-matrix API: its `model` is an `nn.ModuleDict` of the imported tables, `config` is None, and
`source` says which files and columns it came from. What it lacks reads as absent: `item_biases()` and
`user_biases()` are None without a bias column, `user_factors()` is None (and `n_users` 0) without user
vectors, and its counts are zero unless the metadata had a count column (`has_counts`).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from collab_core.data.catalog import ItemCatalog, Vocab
from collab_core.data.nouns import Noun, item_noun
from collab_core.data.rating_values import RatingScale, observed_scale
from collab_core.data.ratings import Ratings
from collab_core.errors import CollabError
from collab_core.model import networks
from collab_core.model.config import TrainConfig
from collab_core.model.kinds import IMPORTED, IMPORTED_WITH_BIASES, ModelKind


@dataclass(frozen=True)
class ImportInfo:
    """Where an imported run's vectors came from: the files by role, and the column that played each role."""

    dim: int  # width of the item vectors (and of the user vectors, which must match)
    files: dict  # role ('vectors', 'metadata', 'user_vectors', 'user_metadata') -> the file's name
    columns: dict  # role ('id', 'title', 'genres', 'year', 'count', 'mean_rating', 'bias', 'user_id', ...) -> column
    noun: Noun | None = None  # what the items are ("foods"), as the person importing them said; None: "items"

    def to_json(self) -> dict:
        values = {"dim": self.dim, "files": dict(self.files), "columns": dict(self.columns)}
        if self.noun is not None:
            values["noun"] = {"one": self.noun.one, "many": self.noun.many}
        return values

    @property
    def has_users(self) -> bool:
        return "user_vectors" in self.files

    @property
    def has_item_bias(self) -> bool:
        return "bias" in self.columns

    @property
    def has_user_bias(self) -> bool:
        return "user_bias" in self.columns


@dataclass(eq=False)
class TrainedModel:
    """A trained network (or imported vectors) plus everything needed to read it by raw id."""

    model: nn.Module  # on the CPU, in eval mode; the imported tables for an imported run
    config: TrainConfig | None  # None for an imported run: it has no training settings
    users: Vocab
    user_counts: np.ndarray  # (n_users,) ratings per user in the training data
    user_means: np.ndarray  # (n_users,) mean rating per user
    catalog: ItemCatalog  # items: vocab, titles/years/genres, counts, means
    metrics: dict  # rmse, mse, baselines, fit_seconds, device, ...
    history: list[dict]  # one record per epoch: train_loss, valid_rmse, valid_mse, elapsed
    dataset: str  # where the ratings came from
    created: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
    name: str = ""  # the person's name for the run ("" when none was given)
    source: ImportInfo | None = None  # for an imported run only: its files and columns
    # the rating values of the training data (rating_values); None when not recorded: imported vectors, or a
    # run saved before runs recorded them (foldin_inputs.rating_scale then assumes whole stars 1 to 5)
    recorded_scale: RatingScale | None = None

    def __post_init__(self):
        if (self.config is None) == (self.source is None):
            raise CollabError("a run has either training settings (trained) or an import source (imported), "
                              "exactly one of them")

    @classmethod
    def from_training(cls, model: nn.Module, ratings: Ratings, config: TrainConfig, metrics: dict,
                      history: list[dict]) -> TrainedModel:
        return cls(model, config, ratings.user_vocab, ratings.user_counts, ratings.user_means, ratings.catalog,
                   metrics, history, ratings.name, recorded_scale=observed_scale(ratings.rating))

    # ------------------------------------------------------------------ what kind of run
    @property
    def imported(self) -> bool:
        """True for embeddings imported from files: no training settings, no validation score, no network."""
        return self.source is not None

    @property
    def kind(self) -> ModelKind:
        """What kind of model it is (collab_core.model.kinds); an imported run's kind says whether it has biases."""
        if self.config is None:
            return IMPORTED_WITH_BIASES if self.has_bias else IMPORTED
        return self.config.kind

    @property
    def model_kind(self) -> str:
        """'dot', 'dot_bias', 'nn' or 'imported'."""
        return self.kind.name

    @property
    def item_noun(self) -> Noun:
        """What its items are called: movies for MovieLens data, an import's own noun, else items (nouns)."""
        if self.source is not None and self.source.noun is not None:
            return self.source.noun
        return item_noun(self.dataset)

    @property
    def has_counts(self) -> bool:
        """Whether the catalog's rating counts are known (an imported run knows them from a count column)."""
        return self.source is None or "count" in self.source.columns

    def settings(self) -> dict:
        """The training settings, or for an imported run what stands in for them (its kind and width)."""
        if self.config is None:
            return {"model": self.kind.name, "dim": self.source.dim}
        return self.config.to_dict()

    def require_network(self, what: str) -> None:
        """CollabError unless the run has a network that predicts ratings (imported runs have vectors only)."""
        if self.imported:
            raise CollabError(f"{what} needs a trained model; this run is imported vectors only "
                              f"(from {self.dataset})")

    # ------------------------------------------------------------------ whole matrices (numpy, CPU)
    @property
    def has_bias(self) -> bool:
        return networks.item_bias(self.model) is not None

    @property
    def n_items(self) -> int:
        return len(self.catalog.vocab)

    @property
    def n_users(self) -> int:
        return len(self.users)

    def item_factors(self) -> np.ndarray:
        """(n_items, width) float32 item embedding matrix."""
        return networks.item_factors(self.model).numpy()

    def user_factors(self) -> np.ndarray | None:
        """(n_users, width) float32 user embedding matrix; None for an imported run without user vectors."""
        factors = networks.user_factors(self.model)
        return None if factors is None else factors.numpy()

    def item_biases(self) -> np.ndarray | None:
        """(n_items,) learned item biases, or None when the model has none."""
        bias = networks.item_bias(self.model)
        return None if bias is None else bias.numpy()

    def user_biases(self) -> np.ndarray | None:
        bias = networks.user_bias(self.model)
        return None if bias is None else bias.numpy()

    # ------------------------------------------------------------------ by raw id
    def item_bias(self, raw_ids) -> np.ndarray:
        """Learned bias of each raw item id, (n,)."""
        biases = self.item_biases()
        if biases is None:
            raise CollabError(self._no_biases())
        return biases[self.catalog.vocab.to_index(list(raw_ids))]

    def item_weight(self, raw_ids) -> np.ndarray:
        """Embedding of each raw item id, (n, width)."""
        return self.item_factors()[self.catalog.vocab.to_index(list(raw_ids))]

    def _no_biases(self) -> str:
        if self.imported:
            return "this imported run has no biases (its metadata had no bias column)"
        return f"a {self.config.model!r} model has no biases"

    @torch.no_grad()
    def predict(self, user_ids, item_ids) -> np.ndarray:
        """Predicted ratings for parallel sequences of raw user and item ids, (n,)."""
        self.require_network("predicting ratings")
        users = torch.from_numpy(self.users.to_index(list(user_ids)))
        items = torch.from_numpy(self.catalog.vocab.to_index(list(item_ids)))
        if len(users) != len(items):
            raise CollabError(f"{len(users)} users but {len(items)} items: give one item per user")
        return self.model.eval()(users, items).numpy()
