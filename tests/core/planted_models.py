"""TrainedModels whose weights are a known planted truth (no training), for the fold-in, comparison and
diagnostics tests."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from collab_core.model.config import TrainConfig
from collab_core.model.trained import TrainedModel
from tests.planted import planted_ratings


def planted_model(kind: str = "dot_bias", n_users: int = 60, n_items: int = 80, n_factors: int = 4,
                  n_ratings: int = 2400, seed: int = 0, ratings=None, truth=None,
                  item_factors: np.ndarray | None = None) -> TrainedModel:
    """A model of `kind` whose user/item factors and biases are planted_ratings' truth (or `item_factors`)."""
    if ratings is None:
        ratings, truth = planted_ratings(n_users, n_items, n_ratings, n_factors=n_factors, seed=seed)
    factors_i = truth.item_factors if item_factors is None else item_factors
    width = factors_i.shape[1]
    with torch.random.fork_rng():  # the MLP's initial weights from `seed`, not from whatever ran before
        torch.manual_seed(seed)
        config = TrainConfig(model=kind, n_factors=width, nn_layers=(16,), nn_dropout=0.0)
        model = config.kind.build(config, ratings.n_users, ratings.n_items)
    with torch.no_grad():
        model.item_factors.weight.copy_(torch.as_tensor(factors_i, dtype=torch.float32))
        model.user_factors.weight.copy_(torch.as_tensor(truth.user_factors[:, :width], dtype=torch.float32))
        if config.kind.biases:
            model.item_bias.weight.copy_(torch.as_tensor(truth.item_bias[:, None], dtype=torch.float32))
            model.user_bias.weight.copy_(torch.as_tensor(truth.user_bias[:, None], dtype=torch.float32))
    metrics = {"rmse": 0.5, "mse": 0.25, "n_train": ratings.n_ratings}
    history = [{"epoch": 1, "train_loss": 0.3, "valid_rmse": 0.5, "valid_mse": 0.25, "elapsed": 0.1}]
    return TrainedModel.from_training(model.eval(), ratings, config, metrics, history)


def with_factors(trained: TrainedModel, item_factors: np.ndarray, user_factors: np.ndarray) -> TrainedModel:
    """A copy of a 'dot'/'dot_bias' TrainedModel with other factor matrices (biases kept)."""
    config = replace(trained.config, n_factors=item_factors.shape[1])
    model = config.kind.build(config, trained.n_users, trained.n_items)
    state = {k: v.clone() for k, v in trained.model.state_dict().items()}
    state["item_factors.weight"] = torch.as_tensor(item_factors, dtype=torch.float32)
    state["user_factors.weight"] = torch.as_tensor(user_factors, dtype=torch.float32)
    model.load_state_dict(state)
    return TrainedModel(model.eval(), config, trained.users, trained.user_counts, trained.user_means,
                        trained.catalog, dict(trained.metrics), list(trained.history), trained.dataset,
                        recorded_scale=trained.recorded_scale)


def random_rotation(width: int, seed: int = 0) -> np.ndarray:
    """(width, width) random orthogonal matrix."""
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(width, width)))
    return q * np.sign(np.diag(r))
