"""Debugging a trained model's embeddings: one prediction taken apart, embedding norm against popularity,
and where on the validation set the model is wrong.

- `explain_prediction`: for (raw user id, raw item id), the per-factor products u_k * q_k sorted by size,
  the biases, their sum, the sigmoid into y_range, next to the model's own prediction (they are equal).
- `norms_vs_popularity`: per item, the embedding norm, log10 rating count, bias and PC1 coordinate. Weight
  decay pulls rarely-rated items towards the origin (few ratings push back), which is why the lesson
  interprets only the 1,000 most-rated movies; Google's recommendation-systems course plots exactly this.
- `where_wrong`: the validation error per rating, binned by how many training ratings the item and the user
  had, and the worst predictions.

Every `title` in the tables here is the item's display title (`ItemCatalog.display_titles`: the id is appended
where two items share a title), since these tables are what people read; the raw titles stay in the catalog.
"""
from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.stats
import torch

from collab_core.analysis.interpret import pca
from collab_core.data.nouns import Noun
from collab_core.data.ratings import Ratings, Split, random_split
from collab_core.data.splits import split_from_description
from collab_core.errors import CollabError, DataError
from collab_core.model.trained import TrainedModel

_EVAL_CHUNK = 65_536  # validation rows predicted at once


def check_trained_on(trained: TrainedModel, ratings: Ratings) -> None:
    """DataError unless `ratings` has exactly the users and items (same raw ids, same order) of the run."""
    if (ratings.n_items != trained.n_items or ratings.n_users != trained.n_users
            or not np.array_equal(ratings.item_ids, trained.catalog.vocab.ids)
            or not np.array_equal(ratings.user_ids, trained.users.ids)):
        raise DataError(f"these ratings ({ratings.name}: {ratings.n_users:,} users, {ratings.n_items:,} items) are "
                        f"not the ones the run was trained on ({trained.dataset}: {trained.n_users:,} users, "
                        f"{trained.n_items:,} items)")


# ---------------------------------------------------------------------- one prediction
@dataclass(frozen=True, eq=False)
class PredictionExplanation:
    """One prediction split into its parts. For 'dot_bias':
    prediction = sigmoid_range(sum(factors.product) + user_bias + item_bias, *y_range)."""

    model_kind: str
    user: str  # raw ids
    item: str
    title: str  # the item's display title
    factors: pd.DataFrame | None  # factor, user_value, item_value, product; largest |product| first (None: 'nn')
    dot: float | None  # sum of the products (None: 'nn')
    user_bias: float | None  # None without biases
    item_bias: float | None
    raw_score: float  # what goes into the sigmoid ('nn': the MLP's output); for 'dot', the prediction itself
    y_range: tuple[float, float] | None  # None for 'dot': no sigmoid
    from_parts: float  # the prediction rebuilt from the parts above
    prediction: float  # TrainedModel.predict for the pair
    actual: float | None  # the user's rating of the item, when the caller passed the ratings and it exists
    not_applicable: dict[str, str]  # part -> why it does not apply to this model

    @property
    def error(self) -> float | None:
        return None if self.actual is None else self.prediction - self.actual


def explain_prediction(trained: TrainedModel, user_id, item_id, ratings: Ratings | None = None
                       ) -> PredictionExplanation:
    """Take the prediction for (raw user id, raw item id) apart; `ratings` (optional) supplies the actual
    rating. Unknown ids raise UnknownIdError naming them."""
    trained.require_network("taking a prediction apart")
    user = int(trained.users.to_index(str(user_id)))
    item = int(trained.catalog.vocab.to_index(str(item_id)))
    kind = trained.config.model
    shape = trained.kind
    prediction = float(trained.predict([str(user_id)], [str(item_id)])[0])
    actual = _actual_rating(ratings, str(user_id), str(item_id)) if ratings is not None else None
    common = {"model_kind": kind, "user": str(user_id), "item": str(item_id),
              "title": str(trained.catalog.display_titles[item]), "prediction": prediction, "actual": actual}
    if not shape.shared_space:
        return _explain_nn(trained, user, item, common)
    user_vector = trained.user_factors()[user].astype(np.float64)  # (k,)
    item_vector = trained.item_factors()[item].astype(np.float64)  # (k,)
    products = user_vector * item_vector  # (k,)
    order = np.argsort(-np.abs(products), kind="stable")
    factors = pd.DataFrame({"factor": order, "user_value": user_vector[order], "item_value": item_vector[order],
                            "product": products[order]})
    dot = float(products.sum())
    if not shape.biases:
        return PredictionExplanation(factors=factors, dot=dot, user_bias=None, item_bias=None, raw_score=dot,
                                     y_range=None, from_parts=dot, not_applicable={
                                         "biases": "a 'dot' model has no user or item biases",
                                         "sigmoid": "a 'dot' model's output is the dot product itself, unbounded"},
                                     **common)
    user_bias, item_bias = float(trained.user_biases()[user]), float(trained.item_biases()[item])
    raw = dot + user_bias + item_bias
    if not shape.bounded:  # trained for ranking: the sum is the score, a logit over items
        return PredictionExplanation(factors=factors, dot=dot, user_bias=user_bias, item_bias=item_bias,
                                     raw_score=raw, y_range=None, from_parts=raw, not_applicable={
                                         "sigmoid": "a run trained for ranking scores items by the sum itself "
                                                    "(a logit), not a rating"}, **common)
    y_range = tuple(float(v) for v in trained.config.y_range)
    return PredictionExplanation(factors=factors, dot=dot, user_bias=user_bias, item_bias=item_bias, raw_score=raw,
                                 y_range=y_range, from_parts=_sigmoid_range(raw, y_range), not_applicable={},
                                 **common)


def _sigmoid_range(x: float, y_range: tuple[float, float]) -> float:
    low, high = y_range
    return low + (high - low) / (1 + math.exp(-x))


@torch.no_grad()
def _explain_nn(trained: TrainedModel, user: int, item: int, common: dict) -> PredictionExplanation:
    model = trained.model
    joined = torch.cat([model.user_factors.weight[user], model.item_factors.weight[item]])[None]  # (1, u_w + i_w)
    raw = float(model.mlp(joined)[0, 0])
    y_range = tuple(float(v) for v in trained.config.y_range)
    return PredictionExplanation(factors=None, dot=None, user_bias=None, item_bias=None, raw_score=raw,
                                 y_range=y_range, from_parts=_sigmoid_range(raw, y_range), not_applicable={
                                     "factors": "an 'nn' model feeds the concatenated user and item embeddings "
                                                "through an MLP, so its prediction is not a sum of per-factor "
                                                "products (and the two widths may differ)",
                                     "biases": "an 'nn' model has no user or item biases"}, **common)


def _actual_rating(ratings: Ratings, user_id: str, item_id: str) -> float | None:
    if not (ratings.knows_user(user_id) and ratings.knows_item(item_id)):
        return None
    user, item = ratings.user_to_index(user_id), ratings.item_to_index(item_id)
    rows = np.flatnonzero((ratings.user_index == user) & (ratings.item_index == item))
    return float(ratings.rating[rows[0]]) if len(rows) else None


# ---------------------------------------------------------------------- norms against popularity
@dataclass(frozen=True, eq=False)
class NormReport:
    """Per-item embedding norms next to popularity, with the figures that summarise them."""

    items: pd.DataFrame  # item, title, count, log10_count, norm, bias, pc1, in_pca_fit
    by_count: pd.DataFrame  # bin, low, high, n_items, median_norm, median_bias
    spearman_norm_log_count: float | None  # rank correlation of norm with log count
    spearman_bias_log_count: float | None  # None without biases
    spearman_pc1_log_count: float | None
    pca_min_ratings: int  # PCA was fitted on the items with at least this many ratings
    summary: str  # one or two sentences saying what the figures show


def norms_vs_popularity(trained: TrainedModel, pca_min_ratings: int = 20) -> NormReport:
    """Embedding norm, log10 rating count, bias and PC1 coordinate per item. PC1 comes from a PCA fitted on
    the items with at least `pca_min_ratings` ratings (all items when fewer than 2 qualify) and is applied to
    every item. Counts are those of the dataset the run was trained from."""
    if not trained.has_counts:
        raise CollabError("norm against popularity needs rating counts; this imported run's metadata had no "
                          "count column")
    catalog = trained.catalog
    factors = trained.item_factors().astype(np.float64)  # (n_items, width)
    counts = catalog.counts.astype(np.int64)
    with np.errstate(divide="ignore"):
        log_count = np.where(counts > 0, np.log10(np.maximum(counts, 1)), np.nan)  # (n_items,)
    biases = trained.item_biases()
    fit_on = counts >= pca_min_ratings
    if fit_on.sum() < 2:
        fit_on = np.ones(len(counts), dtype=bool)
    projection = pca(factors[fit_on], 1)
    pc1 = (factors - projection.mean) @ projection.components[0]  # (n_items,)
    norms = np.linalg.norm(factors, axis=1)
    items = pd.DataFrame({"item": catalog.vocab.ids, "title": catalog.display_titles, "count": counts,
                          "log10_count": log_count, "norm": norms,
                          "bias": biases.astype(np.float64) if biases is not None else np.nan,
                          "pc1": pc1, "in_pca_fit": fit_on})
    by_count = _binned(items, "count", {"n_items": ("norm", "size"), "median_norm": ("norm", "median"),
                                        "median_bias": ("bias", "median")})
    rho_norm = _spearman(norms, log_count)
    rho_bias = _spearman(biases, log_count) if biases is not None else None
    return NormReport(items, by_count, rho_norm, rho_bias, _spearman(pc1, log_count), int(pca_min_ratings),
                      _norm_summary(rho_norm, by_count, trained.item_noun))


def _spearman(values, log_count: np.ndarray) -> float | None:
    values = np.asarray(values, dtype=np.float64)
    keep = np.isfinite(values) & np.isfinite(log_count)
    if keep.sum() < 3 or np.ptp(values[keep]) == 0 or np.ptp(log_count[keep]) == 0:
        return None
    return float(scipy.stats.spearmanr(values[keep], log_count[keep]).statistic)


def _norm_summary(rho: float | None, by_count: pd.DataFrame, noun: Noun) -> str:
    """The norms against popularity in one plain sentence (the figures behind it are in the report)."""
    if rho is None:
        return f"Too few {noun.many} with different numbers of ratings to relate their length to popularity."
    low, high = by_count.iloc[0], by_count.iloc[-1]
    strength = "strongly" if abs(rho) >= 0.5 else "moderately" if abs(rho) >= 0.3 else "weakly"
    direction = "longer" if rho > 0 else "shorter"
    return (f"The more often {noun.a} was rated, the {direction} its embedding ({strength}): a median length of "
            f"{low['median_norm']:.3f} for {noun.many} rated {low['bin']} times, {high['median_norm']:.3f} for "
            f"{high['bin']}. Rarely rated {noun.many} sit near the centre, where weight decay leaves them.")


# ---------------------------------------------------------------------- count bins
def count_bins(max_count: int) -> np.ndarray:
    """Bin edges 0, 1, 2, 5, 10, 20, 50, ... (a 1-2-5 log scale) until one exceeds `max_count`; bin i holds
    counts in [edges[i], edges[i + 1])."""
    edges, steps = [0, 1], itertools.cycle((2, 2.5, 2))
    while edges[-1] <= max_count:
        edges.append(round(edges[-1] * next(steps)))
    return np.array(edges, dtype=np.int64)


def _bin_labels(edges: np.ndarray) -> list[str]:
    return [f"{lo}" if hi - lo == 1 else f"{lo}-{hi - 1}" for lo, hi in itertools.pairwise(edges)]


def _binned(frame: pd.DataFrame, count_column: str, aggregations: dict) -> pd.DataFrame:
    """Aggregate `frame` over count bins: columns bin, low, high (exclusive), then `aggregations`; empty bins
    left out."""
    edges = count_bins(int(frame[count_column].max()) if len(frame) else 0)
    which = np.searchsorted(edges, frame[count_column].to_numpy(), side="right") - 1  # (n,) bin of each row
    grouped = frame.assign(_bin=which).groupby("_bin").agg(**aggregations)
    labels = _bin_labels(edges)
    positions = grouped.index.to_numpy()
    return pd.concat([pd.DataFrame({"bin": [labels[i] for i in positions], "low": edges[positions],
                                    "high": edges[positions + 1]}), grouped.reset_index(drop=True)], axis=1)


# ---------------------------------------------------------------------- where the model is wrong
@dataclass(frozen=True, eq=False)
class ErrorReport:
    """Validation errors: every rating, binned by how much the model saw of its item and user, the worst."""

    errors: pd.DataFrame  # user, item, title, rating, prediction, error, abs_error, item_train_count, user_train_count
    by_item_count: pd.DataFrame  # bin, low, high, n_ratings, rmse, mean_error (binned by item_train_count)
    by_user_count: pd.DataFrame  # the same, by user_train_count
    worst: pd.DataFrame  # the largest |error| first: user, item, title, rating, prediction, error
    rmse: float  # over all validation ratings (equals the run's metrics when it was trained on this split)


def where_wrong(trained: TrainedModel, ratings: Ratings, split: Split, n_worst: int = 20) -> ErrorReport:
    """The validation error of each rating (error = prediction - rating), aggregated against the item's and
    the user's number of TRAINING ratings (bins 0, 1, 2-4, 5-9, 10-19, ...), and the worst predictions.
    `ratings` and `split` must be the ones the run was trained with."""
    trained.require_network("scoring the validation ratings")
    check_trained_on(trained, ratings)
    rows = np.asarray(split.valid)
    if len(rows) == 0:
        raise CollabError("the split has no validation ratings: nothing to score")
    users, items = ratings.user_index[rows], ratings.item_index[rows]
    predictions = _predict_indices(trained, users, items)
    truth = ratings.rating[rows].astype(np.float64)
    item_train = np.bincount(ratings.item_index[split.train], minlength=ratings.n_items)
    user_train = np.bincount(ratings.user_index[split.train], minlength=ratings.n_users)
    errors = pd.DataFrame({"user": ratings.user_ids[users], "item": ratings.item_ids[items],
                           "title": trained.catalog.display_titles[items], "rating": truth, "prediction": predictions,
                           "error": predictions - truth, "abs_error": np.abs(predictions - truth),
                           "item_train_count": item_train[items], "user_train_count": user_train[users]})
    aggregations = {"n_ratings": ("error", "size"), "rmse": ("error", lambda e: float(np.sqrt(np.mean(e**2)))),
                    "mean_error": ("error", "mean")}
    worst = errors.iloc[np.argsort(-errors["abs_error"].to_numpy(), kind="stable")[:n_worst]]
    return ErrorReport(errors, _binned(errors, "item_train_count", aggregations),
                       _binned(errors, "user_train_count", aggregations),
                       worst[["user", "item", "title", "rating", "prediction", "error"]].reset_index(drop=True),
                       float(np.sqrt(np.mean((predictions - truth) ** 2))))


@torch.no_grad()
def _predict_indices(trained: TrainedModel, users: np.ndarray, items: np.ndarray) -> np.ndarray:
    """(n,) float64 predictions for index arrays, in chunks."""
    model = trained.model
    out = [model(torch.tensor(users[s: s + _EVAL_CHUNK]), torch.tensor(items[s: s + _EVAL_CHUNK]))
           for s in range(0, len(users), _EVAL_CHUNK)]
    return torch.cat(out).double().numpy()



# ---------------------------------------------------------------------- the run's own split, again
_RANDOM_SPLIT = re.compile(r"^random (\d+(?:\.\d+)?)% \(seed (\d+)\)$")


def reproduce_split(trained: TrainedModel, ratings: Ratings) -> Split:
    """The validation split `trained` was scored on, rebuilt from what the run stores: the split's description
    (e.g. 'random 10% (seed 42)', or a per-user split's: collab_core.data.splits) and its n_valid. A seeded
    random split depends only on the number of ratings, the seed and n_valid, so it comes back exactly (the
    description's rounded percentage alone would not: 12.5% is written '12%'); a per-user split is rebuilt from
    its description alone. DataError when the ratings are not the run's, or the split was an explicit
    validation file, or the run does not say."""
    check_trained_on(trained, ratings)
    description = str(trained.metrics.get("split") or "")
    n_valid, n_train = trained.metrics.get("n_valid"), trained.metrics.get("n_train")
    found = _RANDOM_SPLIT.match(description)
    per_user = None if found else split_from_description(ratings, description)
    if (not found and per_user is None) or not isinstance(n_valid, int) or n_valid < 1:
        raise DataError(f"the run's validation split ({description or 'not recorded'}) cannot be rebuilt here: only "
                        f"seeded random and per-user splits can")
    if n_train is not None and n_train + n_valid != ratings.n_ratings:
        raise DataError(f"the run was trained and scored on {n_train + n_valid:,} ratings, these ratings have "
                        f"{ratings.n_ratings:,}")
    split = per_user or random_split(ratings, n_valid / ratings.n_ratings, int(found.group(2)))
    if len(split.valid) != n_valid:  # cannot happen for n_valid <= n_ratings; a guard against a changed rule
        raise DataError(f"could not rebuild the run's split: {len(split.valid):,} validation ratings, not {n_valid:,}")
    return Split(split.train, split.valid, description)
