"""Per-user splits for ranking evaluation: every user keeps part of their ratings for training and the rest is
held out, so each user has something to be recommended and something to be judged on.

- `stratified_split`: each user's ratings shuffled with the seed, the first round(ratio * n) kept for training
  (Microsoft Recommenders' `python_stratified_split(ratio=0.75, seed=42)` protocol; the same shares, not the
  same rows: that one shuffles with pandas).
- `time_split`: each user's earliest round(ratio * n) ratings train, the latest are held out (needs timestamps).

A user with a single rating keeps it in training (nothing would be left to learn them from). `split_from_description`
rebuilds either split from the description a run stores, so a run can be evaluated on its own held-out ratings.
`random_split` (over all rows, for the RMSE) stays in collab_core.data.ratings.
"""
from __future__ import annotations

import re

import numpy as np

from collab_core.data.ratings import Ratings, Split
from collab_core.errors import DataError

_STRATIFIED = re.compile(r"^per-user (\d+(?:\.\d+)?)/(\d+(?:\.\d+)?) \(seed (\d+)\)$")
_LATEST = re.compile(r"^per-user latest (\d+(?:\.\d+)?)%$")


def stratified_split(ratings: Ratings, ratio: float = 0.75, seed: int = 42) -> Split:
    """Per user: the ratings in a seeded random order, the first round(ratio * n) for training, the rest held out.
    Description e.g. 'per-user 75/25 (seed 42)'."""
    _check_ratio(ratio)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**63:
        raise DataError(f"the split seed must be a whole number from 0 to 2**63-1, got {seed!r}")
    keys = np.random.default_rng(seed).random(ratings.n_ratings)  # (n_ratings,) a random place within the user
    order = np.lexsort((keys, ratings.user_index))  # (n_ratings,) rows grouped by user, shuffled inside
    split = _first_part_trains(ratings, order, ratio)
    return Split(split.train, split.valid, f"per-user {_percent(ratio)}/{_percent(1 - ratio)} (seed {seed})")


def time_split(ratings: Ratings, ratio: float = 0.75) -> Split:
    """Per user: the earliest round(ratio * n) ratings for training, the latest held out. Ratings at the same
    second keep the data's row order. Description e.g. 'per-user latest 25%'. DataError without timestamps."""
    _check_ratio(ratio)
    if ratings.timestamp is None:
        raise DataError(f"{ratings.name} has no rating times, so it cannot be split by time; use the stratified or "
                        f"random split (the built-in MovieLens 100K has times)")
    order = np.lexsort((ratings.timestamp, ratings.user_index))  # (n_ratings,) by user, then oldest first
    split = _first_part_trains(ratings, order, ratio)
    return Split(split.train, split.valid, f"per-user latest {_percent(1 - ratio)}%")


def split_from_description(ratings: Ratings, description: str) -> Split | None:
    """The per-user split a description names ('per-user 75/25 (seed 42)', 'per-user latest 25%'), rebuilt on
    `ratings`; None when the description is not one of these."""
    found = _STRATIFIED.match(description)
    if found:
        return stratified_split(ratings, float(found.group(1)) / 100, int(found.group(3)))
    found = _LATEST.match(description)
    if found:
        return time_split(ratings, 1 - float(found.group(1)) / 100)
    return None


def _first_part_trains(ratings: Ratings, order: np.ndarray, ratio: float) -> Split:
    """Given rows grouped by user (`order`), the first round(ratio * n_u) of each user's rows train."""
    counts = ratings.user_counts  # (n_users,)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])  # (n_users,) where each user's rows begin in `order`
    position = np.arange(ratings.n_ratings) - np.repeat(starts, counts)  # (n_ratings,) place within the user
    # np.rint rounds half to even, as Python's round() in the reference protocol; at least one rating trains
    n_train = np.maximum(np.rint(ratio * counts), 1).astype(np.int64)  # (n_users,)
    trains = position < np.repeat(n_train, counts)  # (n_ratings,) in `order`
    return Split(np.sort(order[trains]), np.sort(order[~trains]), "")


def _check_ratio(ratio: float) -> None:
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float, np.floating)) or not 0.0 < ratio < 1.0:
        raise DataError(f"the training ratio must be between 0 and 1 (exclusive), e.g. 0.75; got {ratio!r}")


def _percent(share: float) -> str:
    """0.75 -> '75', 0.125 -> '12.5' (at most 4 significant digits, so 1 - 0.8 reads '20')."""
    return f"{100 * share:.4g}"
