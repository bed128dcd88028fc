"""Baselines scored on the same split as a model, so its RMSE means something.

- global mean: predict the training mean for everything;
- user + item bias: rating ~ mean + b_user + b_item, fitted by alternating regularised least squares
  (the closed form per user/item, as in Surprise's BaselineOnly), no factors at all.
A model that does not beat the bias baseline has learned nothing from its factors.
"""
from __future__ import annotations

import math

import numpy as np

from collab_core.data.ratings import Ratings, Split


def global_mean_rmse(ratings: Ratings, split: Split) -> float | None:
    if len(split.valid) == 0:
        return None
    mean = ratings.rating[split.train].mean()
    return float(math.sqrt(((ratings.rating[split.valid] - mean) ** 2).mean()))


def fit_biases(ratings: Ratings, rows: np.ndarray, reg_user: float = 15.0, reg_item: float = 10.0,
               n_iter: int = 10) -> tuple[float, np.ndarray, np.ndarray]:
    """(mean, user_bias (n_users,), item_bias (n_items,)) fitted on the given rows."""
    users, items = ratings.user_index[rows], ratings.item_index[rows]
    values = ratings.rating[rows].astype(np.float64)
    mean = values.mean()
    user_bias = np.zeros(ratings.n_users)
    item_bias = np.zeros(ratings.n_items)
    user_n = np.bincount(users, minlength=ratings.n_users)
    item_n = np.bincount(items, minlength=ratings.n_items)
    for _ in range(n_iter):
        item_bias = np.bincount(items, values - mean - user_bias[users], ratings.n_items) / (reg_item + item_n)
        user_bias = np.bincount(users, values - mean - item_bias[items], ratings.n_users) / (reg_user + user_n)
    return mean, user_bias, item_bias


def bias_baseline_rmse(ratings: Ratings, split: Split) -> float | None:
    if len(split.valid) == 0:
        return None
    mean, user_bias, item_bias = fit_biases(ratings, split.train)
    rows = split.valid
    low, high = ratings.rating_range
    predictions = np.clip(mean + user_bias[ratings.user_index[rows]] + item_bias[ratings.item_index[rows]], low, high)
    return float(math.sqrt(((ratings.rating[rows] - predictions) ** 2).mean()))
