"""Small rating tables generated from planted factors, for the tests.

Ratings come from known factors: r = clip(mean + b_u + b_i + p_u . q_i + noise, low, high). A model that
recovers the structure reaches a validation RMSE near the noise level, which makes a sharp test of the whole
training path. The truth is collab_core.bench.synthetic's PlantedTruth, the same record the benchmarks'
MovieLens-25M-shaped sets return. Planted *models* (weights set to the truth, no training) are in
tests/core/planted_models.py.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from collab_core.bench.synthetic import PlantedTruth
from collab_core.data.ratings import Ratings


def planted_ratings(n_users: int = 300, n_items: int = 200, n_ratings: int = 20_000, n_factors: int = 4,
                    noise: float = 0.3, seed: int = 0, scale: tuple[float, float] = (1.0, 5.0),
                    unique_pairs: bool = True) -> tuple[Ratings, PlantedTruth]:
    """Ratings from planted factors. With `unique_pairs`, each (user, item) pair appears at most once."""
    rng = np.random.default_rng(seed)
    truth = PlantedTruth(
        user_factors=rng.normal(0, 0.6, (n_users, n_factors)),
        item_factors=rng.normal(0, 0.6, (n_items, n_factors)),
        user_bias=rng.normal(0, 0.3, n_users),
        item_bias=rng.normal(0, 0.4, n_items),
        noise=noise,
    )
    if unique_pairs:
        if n_ratings > n_users * n_items:
            raise ValueError(f"{n_ratings} ratings do not fit in {n_users} x {n_items} unique pairs")
        cells = rng.choice(n_users * n_items, size=n_ratings, replace=False)
        users, items = cells // n_items, cells % n_items
    else:
        users = rng.integers(0, n_users, n_ratings)
        items = rng.integers(0, n_items, n_ratings)
    mean = (scale[0] + scale[1]) / 2
    signal = (mean + truth.user_bias[users] + truth.item_bias[items]
              + (truth.user_factors[users] * truth.item_factors[items]).sum(axis=1))  # (n_ratings,)
    values = np.clip(signal + rng.normal(0, noise, n_ratings), *scale).astype(np.float32)
    items_meta = pd.DataFrame({"title": [f"Item {i}" for i in range(n_items)],
                               "year": pd.array([None] * n_items, dtype="Int64"),
                               "genres": [[] for _ in range(n_items)]})
    ratings = Ratings(users.astype(np.int64), items.astype(np.int64), values,
                      np.array([str(u) for u in range(n_users)], dtype=object),
                      np.array([str(i) for i in range(n_items)], dtype=object),
                      items_meta, None, name=f"planted {n_users}x{n_items}, {n_ratings:,} ratings")
    return ratings, truth
