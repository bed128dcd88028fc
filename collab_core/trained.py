"""TrainedModel: a trained network together with the vocabulary and item statistics it was trained on.

As in fastai's collab learner, the raw-id vocabulary travels with the model, so `item_bias(["50"])` and
`item_weight(["50"])` take raw ids, and an unknown id gets an error naming it. Item titles, counts and
mean ratings come along too, so a run loaded from disk can be interpreted without its rating data.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from . import models
from .catalog import ItemCatalog, Vocab
from .config import TrainConfig
from .errors import CollabError
from .ratings import Ratings


@dataclass(eq=False)
class TrainedModel:
    """A trained network plus everything needed to read it by raw id."""

    model: nn.Module  # on the CPU, in eval mode
    config: TrainConfig
    users: Vocab
    user_counts: np.ndarray  # (n_users,) ratings per user in the training data
    user_means: np.ndarray  # (n_users,) mean rating per user
    catalog: ItemCatalog  # items: vocab, titles/years/genres, counts, means
    metrics: dict  # rmse, mse, baselines, fit_seconds, device, ...
    history: list[dict]  # one record per epoch: train_loss, valid_rmse, valid_mse, elapsed
    dataset: str  # where the ratings came from
    created: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
    name: str = ""  # the person's name for the run ("" when none was given)

    @classmethod
    def from_training(cls, model: nn.Module, ratings: Ratings, config: TrainConfig, metrics: dict,
                      history: list[dict]) -> TrainedModel:
        return cls(model, config, ratings.user_vocab, ratings.user_counts, ratings.user_means, ratings.catalog,
                   metrics, history, ratings.name)

    # ------------------------------------------------------------------ whole matrices (numpy, CPU)
    @property
    def has_bias(self) -> bool:
        return models.item_bias(self.model) is not None

    @property
    def n_items(self) -> int:
        return len(self.catalog.vocab)

    @property
    def n_users(self) -> int:
        return len(self.users)

    def item_factors(self) -> np.ndarray:
        """(n_items, width) float32 item embedding matrix."""
        return models.item_factors(self.model).numpy()

    def user_factors(self) -> np.ndarray:
        """(n_users, width) float32 user embedding matrix."""
        return models.user_factors(self.model).numpy()

    def item_biases(self) -> np.ndarray | None:
        """(n_items,) learned item biases, or None when the model has none."""
        bias = models.item_bias(self.model)
        return None if bias is None else bias.numpy()

    def user_biases(self) -> np.ndarray | None:
        bias = models.user_bias(self.model)
        return None if bias is None else bias.numpy()

    # ------------------------------------------------------------------ by raw id
    def item_bias(self, raw_ids) -> np.ndarray:
        """Learned bias of each raw item id, (n,)."""
        biases = self.item_biases()
        if biases is None:
            raise CollabError(f"a {self.config.model!r} model has no biases")
        return biases[self.catalog.vocab.to_index(list(raw_ids))]

    def item_weight(self, raw_ids) -> np.ndarray:
        """Embedding of each raw item id, (n, width)."""
        return self.item_factors()[self.catalog.vocab.to_index(list(raw_ids))]

    def user_bias(self, raw_ids) -> np.ndarray:
        biases = self.user_biases()
        if biases is None:
            raise CollabError(f"a {self.config.model!r} model has no biases")
        return biases[self.users.to_index(list(raw_ids))]

    def user_weight(self, raw_ids) -> np.ndarray:
        return self.user_factors()[self.users.to_index(list(raw_ids))]

    @torch.no_grad()
    def predict(self, user_ids, item_ids) -> np.ndarray:
        """Predicted ratings for parallel sequences of raw user and item ids, (n,)."""
        users = torch.from_numpy(self.users.to_index(list(user_ids)))
        items = torch.from_numpy(self.catalog.vocab.to_index(list(item_ids)))
        if len(users) != len(items):
            raise CollabError(f"{len(users)} users but {len(items)} items: give one item per user")
        return self.model.eval()(users, items).numpy()
