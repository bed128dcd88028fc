"""Synthetic ratings with planted structure, for the throughput benchmarks.

`ml25m_like` builds a set shaped like MovieLens 25M (users, items, ratings per user and per item, half
stars) at any scale: r = round_half(clip(3.5 + b_u + b_i + p_u . q_i + noise)) from known factors, returned
with them as a PlantedTruth. At 25M ratings the arrays are built directly, without the pandas path of
Ratings.from_frame, so generating them takes seconds, not minutes. `long_tailed_counts` draws its per-user
and per-item counts (collab_core.bench.scale_run uses it too). Tests use `ml25m_like` at a few hundred
thousand ratings; their small planted tables come from tests/planted.py.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from collab_core.data.ratings import Ratings

# MovieLens 25M: 25,000,095 ratings by 162,541 users of 59,047 movies; every user rated at least 20,
# the most active 32,202 (median 71); the most rated movie has 81,491 ratings, 192x the mean of 423.
ML25M_RATINGS, ML25M_USERS, ML25M_ITEMS = 25_000_095, 162_541, 59_047
ML25M_MIN_PER_USER, ML25M_MAX_ITEM_OVER_MEAN = 20, 81_491 / (25_000_095 / 59_047)


@dataclass(frozen=True)
class PlantedTruth:
    """The factors, biases and noise a synthetic set was generated from."""

    user_factors: np.ndarray  # (n_users, n_factors)
    item_factors: np.ndarray  # (n_items, n_factors)
    user_bias: np.ndarray  # (n_users,)
    item_bias: np.ndarray  # (n_items,)
    noise: float  # std of the Gaussian noise added to each rating


def ml25m_like(n_ratings: int = ML25M_RATINGS, seed: int = 0, n_factors: int = 8,
               noise: float = 0.45) -> tuple[Ratings, PlantedTruth]:
    """Ratings shaped like MovieLens 25M, scaled to `n_ratings` (users and items scale with it).

    - users: at least 20 ratings each (fewer only at tiny scales), lognormal beyond that (sigma 1.4): median
      about 70, the most active about 32K at full size, as in ML-25M;
    - items: every item rated at least once, lognormal popularity (sigma 2.2) capped as in ML-25M at 192x
      the mean count: at full size a quarter of the items have 10 ratings or fewer (median 40), the most
      rated has about 81K, the top 1% hold about 40% of the ratings;
    - values: half stars from 0.5 to 5, r = round_half(clip(3.5 + b_u + b_i + p_u . q_i + noise)).
    Pairs are drawn independently, so a (user, item) pair can repeat (11% of the rows at full size, where
    heavy users meet popular items); each repeat has its own noise. `bench --synthetic` logs the time and
    memory full size takes (docs/performance.md, "Figures behind choices in the code")."""
    rng = np.random.default_rng(seed)
    scale = n_ratings / ML25M_RATINGS
    n_users, n_items = max(2, round(ML25M_USERS * scale)), max(2, round(ML25M_ITEMS * scale))
    users = np.repeat(np.arange(n_users), long_tailed_counts(rng, n_users, n_ratings, ML25M_MIN_PER_USER, 1.4))
    item_counts = long_tailed_counts(rng, n_items, n_ratings, 1, 2.2, max_share=ML25M_MAX_ITEM_OVER_MEAN / n_items)
    items = np.repeat(np.arange(n_items), item_counts)
    rng.shuffle(items)  # pair each user's ratings with random items
    truth = PlantedTruth(user_factors=rng.normal(0, 0.35, (n_users, n_factors)).astype(np.float32),
                         item_factors=rng.normal(0, 0.35, (n_items, n_factors)).astype(np.float32),
                         user_bias=rng.normal(0, 0.45, n_users).astype(np.float32),
                         item_bias=rng.normal(0, 0.5, n_items).astype(np.float32), noise=noise)
    values = _half_star_ratings(rng, truth, users, items)
    ids = np.arange(max(n_users, n_items)).astype(str).astype(object)
    items_meta = pd.DataFrame({"title": [f"Item {i}" for i in range(n_items)],
                               "year": pd.array([None] * n_items, dtype="Int64"),
                               "genres": [[] for _ in range(n_items)]})
    ratings = Ratings(users, items, values, ids[:n_users].copy(), ids[:n_items].copy(), items_meta, None,
                      name=f"ML-25M-like synthetic, {n_ratings:,} ratings")
    return ratings, truth


def long_tailed_counts(rng: np.random.Generator, n: int, total: int, minimum: int, sigma: float,
                       max_share: float = 1.0) -> np.ndarray:
    """(n,) int64 counts summing to `total`: each at least `minimum` (less if the total cannot afford it),
    the rest spread by lognormal(0, sigma) weights, no count above `max_share` of the total. sigma 2.2 for
    items gives ML-25M's tail (a quarter of the movies with 10 ratings or fewer); 1.4 with a minimum of 20
    its users. collab_core.bench.scale_run uses it too."""
    minimum = min(minimum, total // n)
    weights = rng.lognormal(0.0, sigma, n)
    weights /= weights.sum()
    for _ in range(10):  # cap the largest shares and hand the excess to the rest, proportionally
        weights = np.minimum(weights, max_share)
        weights /= weights.sum()
    return minimum + rng.multinomial(total - minimum * n, weights).astype(np.int64)


def _half_star_ratings(rng: np.random.Generator, truth: PlantedTruth, users: np.ndarray, items: np.ndarray,
                       chunk: int = 1 << 21) -> np.ndarray:
    """(n,) float32 half-star ratings from the planted truth, computed in chunks to bound memory."""
    values = np.empty(len(users), np.float32)
    for start in range(0, len(users), chunk):
        u, i = users[start: start + chunk], items[start: start + chunk]
        signal = (3.5 + truth.user_bias[u] + truth.item_bias[i]
                  + np.einsum("rf,rf->r", truth.user_factors[u], truth.item_factors[i]))  # (chunk,)
        noisy = signal + rng.normal(0, truth.noise, len(u)).astype(np.float32)
        values[start: start + chunk] = np.clip(np.round(noisy * 2) / 2, 0.5, 5.0)
    return values
