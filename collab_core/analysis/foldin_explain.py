"""What a folded-in user's vector says: their predicted ratings and each one's parts, recommendations with
"because you rated ...", the existing users nearest to them, and their place on the item map."""
from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from collab_core.analysis.foldin import UserFoldIn, nn_predict
from collab_core.analysis.interpret import NeighbourIndex, candidate_items, pca
from collab_core.errors import CollabError
from collab_core.model.networks import sigmoid_range
from collab_core.model.trained import TrainedModel


# ---------------------------------------------------------------------- scoring and explaining
@torch.no_grad()
def linear_scores(trained: TrainedModel, fold: UserFoldIn, items: np.ndarray) -> np.ndarray:
    """(n,) the score before the sigmoid, z_i . [w; b_u] + b_i ('dot': the prediction itself; a ranking run:
    q_i . w + b_i, its score, with no user bias). Not for 'nn'."""
    if not trained.kind.shared_space:
        raise CollabError("an 'nn' model has no linear score: its prediction goes through an MLP")
    items = np.asarray(items, dtype=np.int64)
    scores = trained.item_factors()[items].astype(np.float64) @ fold.vector  # (n,)
    if trained.kind.biases:  # a ranking run keeps its item biases but folds in no user bias
        scores = scores + trained.item_biases()[items]
    if fold.bias is not None:
        scores = scores + fold.bias
    return scores


@torch.no_grad()
def predict(trained: TrainedModel, fold: UserFoldIn, items: np.ndarray) -> np.ndarray:
    """(n,) predicted ratings of the folded-in user for the given item indices."""
    items = np.asarray(items, dtype=np.int64)
    if not trained.kind.shared_space:
        user = torch.from_numpy(fold.vector).float().expand(len(items), -1)
        return nn_predict(trained.model, user, torch.from_numpy(trained.item_factors()[items])).double().numpy()
    scores = linear_scores(trained, fold, items)
    if not trained.kind.bounded:  # no sigmoid: the linear score is the prediction
        return scores
    return sigmoid_range(torch.from_numpy(scores), *trained.config.y_range).numpy()


def contributions(trained: TrainedModel, fold: UserFoldIn, items: np.ndarray) -> np.ndarray:
    """(n, n_rated): entry [i, j] is what rated item j adds to item i's linear score. Each row sums to the
    linear score minus the item's own bias (up to `fold.share_residual`). Not for 'nn'."""
    if fold.shares is None:
        raise CollabError("an 'nn' model's score does not split into parts per rated item")
    items = np.asarray(items, dtype=np.int64)
    rows = trained.item_factors()[items].astype(np.float64)  # (n, k)
    if fold.bias is not None:
        rows = np.hstack([rows, np.ones((len(items), 1))])  # (n, k + 1): z_i = [q_i, 1]
    return rows @ fold.shares  # (n, n_rated)


def fitted_table(trained: TrainedModel, fold: UserFoldIn) -> pd.DataFrame:
    """One row per rated item: item_index, item (raw id), title, rating, prediction, error (prediction - rating)."""
    catalog = trained.catalog
    return pd.DataFrame({"item_index": fold.items, "item": catalog.vocab.ids[fold.items],
                         "title": catalog.display_titles[fold.items], "rating": fold.ratings, "prediction": fold.fitted,
                         "error": fold.fitted - fold.ratings})


def ranked_table(trained: TrainedModel, fold: UserFoldIn) -> pd.DataFrame:
    """For a ranking run, what `fitted_table` is for a rating run: one row per rated item with item_index, item,
    title, rating, score (the model's score with this vector) and rank (1 = the best-scored of all items, rated
    ones included: the softmax the vector was fitted to spans them all), best rank first."""
    scores = linear_scores(trained, fold, np.arange(trained.n_items))  # (n_items,)
    ordered = np.sort(scores)  # (n_items,) ascending: items scored above a rated one = n_items - its right edge
    ranks = 1 + len(scores) - np.searchsorted(ordered, scores[fold.items], side="right")  # (n_rated,)
    catalog = trained.catalog
    table = pd.DataFrame({"item_index": fold.items, "item": catalog.vocab.ids[fold.items],
                          "title": catalog.display_titles[fold.items], "rating": fold.ratings,
                          "score": scores[fold.items], "rank": ranks})
    return table.sort_values("rank", kind="stable").reset_index(drop=True)


def explain_item(trained: TrainedModel, fold: UserFoldIn, item_index: int) -> pd.DataFrame:
    """Why the user's score for one item is what it is: one row per rated item (item, title, rating,
    contribution), largest |contribution| first, then a row 'item bias' when the model has biases.
    The contributions plus the item bias sum to the linear score (see the module docstring)."""
    parts = contributions(trained, fold, np.array([item_index]))[0]  # (n_rated,)
    catalog = trained.catalog
    table = pd.DataFrame({"item": catalog.vocab.ids[fold.items], "title": catalog.display_titles[fold.items],
                          "rating": fold.ratings, "contribution": parts})
    table = table.iloc[np.argsort(-np.abs(parts), kind="stable")].reset_index(drop=True)
    if trained.kind.biases:
        table.loc[len(table)] = [catalog.vocab.ids[item_index], "item bias", np.nan,
                                 float(trained.item_biases()[item_index])]
    return table


def recommend(trained: TrainedModel, fold: UserFoldIn, n: int = 10, min_ratings: int | None = None,
              n_because: int = 3) -> pd.DataFrame:
    """The n best-scored items the user has not rated, among those with at least `min_ratings` ratings
    (default: the 1,000 most-rated items, as `interpret.candidate_items`).

    Columns: rank, item_index, item, title, score (predicted rating; a ranking run's score), linear_score (before
    the sigmoid; NaN for 'nn'), item_bias (NaN without biases), count, because (list of {item, title, rating,
    contribution}: the rated items that add most to this score, largest first; for 'nn', the most similar rated
    items with contribution None).
    """
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise CollabError(f"the number of recommendations must be a whole number >= 1, got {n!r}")
    pool = candidate_items(trained, 1000, min_ratings)
    pool = pool[~np.isin(pool, fold.items)]
    if len(pool) == 0:
        raise CollabError(f"no unrated items with at least {min_ratings or 0} ratings to recommend; "
                          f"lower the minimum number of ratings")
    scores = predict(trained, fold, pool)  # (n_pool,)
    order = np.argsort(-scores, kind="stable")[:n]
    chosen = pool[order]
    catalog = trained.catalog
    biases = trained.item_biases()
    return pd.DataFrame({
        "rank": np.arange(1, len(chosen) + 1),
        "item_index": chosen,
        "item": catalog.vocab.ids[chosen],
        "title": catalog.display_titles[chosen],
        "score": scores[order],
        "linear_score": linear_scores(trained, fold, chosen) if trained.kind.shared_space else np.nan,
        "item_bias": biases[chosen] if biases is not None else np.nan,
        "count": catalog.counts[chosen],
        "because": _because(trained, fold, chosen, n_because),
    })


def _because(trained: TrainedModel, fold: UserFoldIn, chosen: np.ndarray, n_because: int) -> list[list[dict]]:
    catalog = trained.catalog
    if fold.shares is not None:
        weights = contributions(trained, fold, chosen)  # (n_chosen, n_rated)
        order = np.argsort(-weights, axis=1, kind="stable")[:, :n_because]
    else:  # nn: no decomposition; the rated items nearest by cosine of the item embeddings
        factors = trained.item_factors().astype(np.float64)
        unit = factors / np.maximum(np.linalg.norm(factors, axis=1, keepdims=True), 1e-12)  # (n_items, width)
        weights = unit[chosen] @ unit[fold.items].T  # (n_chosen, n_rated) cosine similarities
        order = np.argsort(-weights, axis=1, kind="stable")[:, :n_because]
    return [[{"item": str(catalog.vocab.ids[fold.items[j]]), "title": str(catalog.display_titles[fold.items[j]]),
              "rating": float(fold.ratings[j]),
              "contribution": float(weights[row, j]) if fold.shares is not None else None}
             for j in order[row]] for row in range(len(chosen))]


_USER_INDEX: weakref.WeakKeyDictionary[TrainedModel, NeighbourIndex] = weakref.WeakKeyDictionary()


def nearest_users(trained: TrainedModel, fold: UserFoldIn, k: int = 10) -> pd.DataFrame:
    """The k existing users whose factor vectors are closest in cosine to the folded-in one (biases left out).
    Columns: rank, user (raw id), similarity (cosine), count, mean_rating."""
    if trained.user_factors() is None:
        raise CollabError("this imported run has no user vectors, so there are no users to compare with; "
                          "import it again with user vectors")
    if trained not in _USER_INDEX:  # built once per run: over ML-25M's users it takes seconds (docs/performance.md)
        _USER_INDEX[trained] = NeighbourIndex(trained.user_factors(), "cosine")
    found, distances = _USER_INDEX[trained].query_vector(fold.vector, k)
    return pd.DataFrame({"rank": np.arange(1, len(found) + 1), "user": trained.users.ids[found],
                         "similarity": 1 - distances, "count": trained.user_counts[found],
                         "mean_rating": trained.user_means[found]})



@dataclass(frozen=True)
class UserOnMap:
    """A folded-in user on the item map (the PCA of the items' factors)."""

    x: float  # the user vector's coordinate along the map's first axis (PC1)
    y: float  # ... and along its second
    share: float  # |projection|^2 / |vector|^2: how much of the user's vector the map shows (0 to 1)
    explained: np.ndarray  # (2,) explained variance ratio of the map's axes (of the items' factors)


def user_on_map(trained: TrainedModel, fold: UserFoldIn, fitted_on: np.ndarray) -> UserOnMap:
    """Where a folded-in user sits on the item map that `interpret.pca_map(item_factors, fitted_on)` draws.

    A user vector is a direction, not a place: the score is user . item (+ biases). An item on the map sits
    at (q - m) V^T (m: the mean item, V: the two components), so the part of the score the map shows is
    (u V^T) . map position: the user is drawn at u V^T, and items farther from the centre towards that point
    score higher (the item mean m only adds the same u . m to every item). Not for 'nn' models, whose user and
    item embeddings only meet inside an MLP, so they share no space."""
    if not trained.kind.shared_space:
        raise CollabError("an 'nn' model's user and item embeddings share no space (they are concatenated into "
                          "an MLP), so a user has no place on the item map")
    factors = trained.item_factors()
    projection = pca(factors[fitted_on] if len(fitted_on) >= 2 else factors, 2)
    point = projection.components @ fold.vector  # (n_components,)
    norm2 = float(fold.vector @ fold.vector)
    point = np.pad(point, (0, 2 - len(point)))
    return UserOnMap(float(point[0]), float(point[1]), float(point @ point / norm2) if norm2 > 0 else 0.0,
                     np.pad(projection.explained_variance_ratio, (0, 2 - len(projection.explained_variance_ratio))))
