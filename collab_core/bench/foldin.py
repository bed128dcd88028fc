"""The fold-in's quality: held-out users folded in from their training ratings and scored on their validation
ratings, against their trained vectors (`python -m collab_core bench --foldin`)."""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from collab_core.analysis.diagnostics import check_trained_on
from collab_core.analysis.foldin import fold_in
from collab_core.analysis.foldin_explain import predict
from collab_core.errors import DataError
from collab_core.model.trained import TrainedModel


# ---------------------------------------------------------------------- quality check
@dataclass(frozen=True)
class FoldInQuality:
    """Held-out users folded in from their training ratings, scored on their validation ratings."""

    n_users: int  # users with both training and validation ratings
    n_valid: int  # their validation ratings
    rmse_foldin: float  # folded-in vectors
    rmse_trained: float  # the trained vectors, on the same ratings
    median_ms: float  # per fold-in
    mean_iterations: float
    ridge_scale: float
    refine: str | None
    per_user: pd.DataFrame  # user, n_train, n_valid, rmse_foldin, rmse_trained


def foldin_quality(trained: TrainedModel, ratings, split, *, ridge_scale: float = 1.0,
                   refine: str | None = "newton", penalty_rule: Callable[[int], tuple[float, float]] | None = None,
                   max_users: int | None = None, seed: int = 0) -> FoldInQuality:
    """Fold in each user with validation ratings from their training ratings only, and compare the RMSE on
    their validation ratings with that of their trained vectors.

    The item factors were trained with these users' training ratings, so this measures the fold-in solver
    against SGD on the same information, not a cold start on items that never saw the user.
    `ratings`/`split` must be the ones the run was trained on (same users and items). `penalty_rule(n_rated)`
    -> (lam, lam_b) replaces `ridge_penalties` (the benchmark compares other mappings with it);
    `max_users` folds in a seeded random sample of the users instead of all.
    """
    trained.require_network("the fold-in quality check")
    check_trained_on(trained, ratings)
    train_users = ratings.user_index[split.train]
    valid_users = ratings.user_index[split.valid]
    users = np.intersect1d(np.unique(valid_users), np.unique(train_users))
    if max_users is not None and len(users) > max_users:
        users = np.sort(np.random.default_rng(seed).choice(users, max_users, replace=False))
    if len(users) == 0:
        raise DataError("no user has both training and validation ratings: nothing to fold in")
    train_rows = _rows_by_user(train_users, split.train)
    valid_rows = _rows_by_user(valid_users, split.valid)
    trained_predictions = trained.predict(ratings.user_ids[ratings.user_index[split.valid]],
                                          ratings.item_ids[ratings.item_index[split.valid]])
    trained_by_row = dict(zip(split.valid.tolist(), trained_predictions.tolist()))
    records, times, iterations = [], [], []
    for user in users:
        rows = train_rows[user]
        fold = fold_in(trained, dict(zip(ratings.item_index[rows].tolist(), ratings.rating[rows].tolist())),
                       refine=refine, ridge_scale=ridge_scale,
                       penalties=None if penalty_rule is None else penalty_rule(len(rows)))
        held = valid_rows[user]
        truth = ratings.rating[held].astype(np.float64)
        mine = predict(trained, fold, ratings.item_index[held])
        theirs = np.array([trained_by_row[r] for r in held.tolist()])
        records.append((ratings.user_ids[user], len(rows), len(held), ((mine - truth) ** 2).sum(),
                        ((theirs - truth) ** 2).sum()))
        times.append(fold.seconds * 1000)
        iterations.append(fold.iterations)
    per_user = pd.DataFrame(records, columns=["user", "n_train", "n_valid", "sse_foldin", "sse_trained"])
    n_valid = int(per_user["n_valid"].sum())
    result = per_user.assign(rmse_foldin=np.sqrt(per_user["sse_foldin"] / per_user["n_valid"]),
                             rmse_trained=np.sqrt(per_user["sse_trained"] / per_user["n_valid"]))
    return FoldInQuality(len(users), n_valid, math.sqrt(per_user["sse_foldin"].sum() / n_valid),
                         math.sqrt(per_user["sse_trained"].sum() / n_valid), float(np.median(times)),
                         float(np.mean(iterations)), ridge_scale, refine,
                         result.drop(columns=["sse_foldin", "sse_trained"]))


def _rows_by_user(users: np.ndarray, rows: np.ndarray) -> dict[int, np.ndarray]:
    """{user index: the rows (from `rows`) that belong to them}."""
    order = np.argsort(users, kind="stable")
    keys, starts = np.unique(users[order], return_index=True)
    return {int(k): rows[order[s:e]] for k, s, e in zip(keys, starts, list(starts[1:]) + [len(order)])}



