"""The ranking lens: how good is the top of each user's list, not how close each predicted rating is.

For a split of a run's ratings, every user with a relevant held-out item gets a top-k list of items, their
own training items excluded (scored -inf: recommending what a user already rated is no recommendation).
Relevant = the user's held-out items (optionally only those rated >= a threshold). Per user, then averaged:

  precision@k  hits / k                     recall@k  hits / n_relevant
  nDCG@k       sum over hits of 1/log2(rank + 1), over the same for min(k, n_relevant) hits at the top
  MAP@k        sum over hits of precision at the hit's rank, / min(k, n_relevant)  (Microsoft Recommenders)
  hit rate     1 when any of the k is relevant      MRR  1/rank of the first relevant in the k, else 0

and over the whole list of recommendations: catalogue coverage (share of items recommended to anyone), the mean
training count (popularity) of recommended items against that of the held-out items, the Gini index of how often
each catalogue item is recommended (0: all equally, 1: one item to everyone), and novelty: the mean over every
recommendation of -log2(share of training users who rated the item) (Zhou et al. 2010, as in Microsoft
Recommenders' `novelty`); items nobody rated in training have no share and are left out of it.

Scoring is a callable, "scores of a chunk of users against every item", so a run and the baselines (most popular,
random) go through the same evaluation. Users are taken in chunks: a chunk's scores are one (chunk, n_items)
matrix, its top k one argpartition. Ties at the k-th place are broken by argpartition, i.e. arbitrarily.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch

from collab_core.analysis.diagnostics import check_trained_on
from collab_core.data.ratings import Ratings, Split
from collab_core.errors import CollabError, DataError
from collab_core.model.trained import TrainedModel

# scores of the users in the chunk (user indices, (n_chunk,)) against every item: (n_chunk, n_items) float
ScoreChunk = Callable[[np.ndarray], np.ndarray]

# Users scored at once: a (chunk, n_items) float32 matrix plus a bool one of the same shape. 1,024 x 59,047 items
# (ML-25M) is 242 MB of scores; measured in docs/performance.md ("Ranking evaluation").
DEFAULT_CHUNK = 1024
_NN_PAIRS = 1 << 20  # (user, item) pairs through an MLP at once


@dataclass(frozen=True, eq=False)
class RankingReport:
    """Top-k metrics of one scorer on one split. Means are over `n_users` users (those with a relevant
    held-out item); `user_ids` and `user_ndcg` give each of them, for a distribution."""

    model: str  # what was scored: the run's kind, 'most popular', 'random'
    k: int
    threshold: float | None  # held-out ratings >= threshold are relevant; None: every held-out item
    split: str  # the split's description
    n_users: int
    n_items: int
    precision: float
    recall: float
    ndcg: float
    map: float
    hit_rate: float
    mrr: float
    coverage: float  # share of the catalogue recommended to at least one user
    mean_popularity: float  # mean training count of the recommended items (each recommendation once)
    heldout_popularity: float  # mean training count of the relevant held-out items
    gini: float  # of the number of times each catalogue item is recommended
    novelty: float  # mean -log2(share of training users who rated the item), over recommendations
    seconds: float  # time of the evaluation
    user_ids: np.ndarray  # (n_users,) raw ids of the evaluated users
    user_ndcg: np.ndarray  # (n_users,) each one's nDCG@k
    user_relevant: np.ndarray  # (n_users,) each one's relevant held-out items
    item_recommended: np.ndarray  # (n_items,) times each item is in a top-k list
    item_heldout: np.ndarray  # (n_items,) times each item is a relevant held-out item
    item_popularity: np.ndarray  # (n_items,) training ratings of each item

    def metrics(self) -> dict:
        """The headline numbers, plain floats."""
        return {name: float(getattr(self, name)) for name in (
            "precision", "recall", "ndcg", "map", "hit_rate", "mrr", "coverage", "mean_popularity",
            "heldout_popularity", "gini", "novelty")}

    def to_json(self, per_user: bool = False) -> dict:
        """Plain numbers and text; with `per_user`, also each user's id and nDCG."""
        values = {"model": self.model, "k": self.k, "threshold": self.threshold, "split": self.split,
                  "n_users": self.n_users, "n_items": self.n_items, **self.metrics(), "seconds": self.seconds}
        if per_user:
            values["per_user"] = {"user": [str(u) for u in self.user_ids],
                                  "ndcg": [float(v) for v in self.user_ndcg]}
        return values


# ---------------------------------------------------------------------- entry points
def evaluate_run(trained: TrainedModel, ratings: Ratings, split: Split, k: int = 10, threshold: float | None = None,
                 chunk_size: int = DEFAULT_CHUNK, max_users: int | None = None) -> RankingReport:
    """Top-k metrics of a run on `split` of `ratings` (the run's own data: same users and items); `max_users`: see
    evaluate_scores."""
    scorer = run_scorer(trained)  # first: a run that cannot score says so before its data is compared
    check_trained_on(trained, ratings)
    return evaluate_scores(scorer, ratings, split, k, threshold, name=trained.model_kind, chunk_size=chunk_size,
                           max_users=max_users)


# users a training's recorded ranking metrics, and the pages' ranking sections, are computed over (all of ML-100K's
# 943; a seeded sample of ML-25M's 162,541, which would take minutes in full: docs/performance.md)
RECORDED_USERS = 5000


def recorded_metrics(trained: TrainedModel, ratings: Ratings, split: Split, k: int = 10) -> dict:
    """The ranking figures a run records when it is trained, for the run history (nDCG@10, recall@10, coverage of
    its top-10 lists, and most popular's nDCG@10 on the same users), over at most RECORDED_USERS users (ML-25M's
    162,541 would take minutes: docs/performance.md, "Ranking evaluation"). Empty for a run that cannot be ranked
    cheaply (an MLP scores every pair) or with fewer items than k."""
    if not trained.kind.shared_space or ratings.n_items <= k:  # an MLP; or so few items that a top k is all
        return {}
    report = evaluate_scores(run_scorer(trained), ratings, split, k, name=trained.model_kind,
                             max_users=RECORDED_USERS)
    popular = evaluate_scores(popularity_scorer(ratings, split), ratings, split, k, name="most popular",
                              max_users=RECORDED_USERS)  # the same users: the seeded sample is the same
    return {f"ndcg{k}": report.ndcg, f"recall{k}": report.recall, f"coverage{k}": report.coverage,
            f"baseline_popular_ndcg{k}": popular.ndcg, "ranking_users": report.n_users}


def evaluate_baselines(ratings: Ratings, split: Split, k: int = 10, threshold: float | None = None, seed: int = 0,
                       chunk_size: int = DEFAULT_CHUNK, max_users: int | None = None) -> dict[str, RankingReport]:
    """The most popular items and random items, on the same split: {'most popular': ..., 'random': ...}."""
    return {"most popular": evaluate_scores(popularity_scorer(ratings, split), ratings, split, k, threshold,
                                            name="most popular", chunk_size=chunk_size, max_users=max_users),
            "random": evaluate_scores(random_scorer(ratings.n_items, seed), ratings, split, k, threshold,
                                      name="random", chunk_size=chunk_size, max_users=max_users)}


def evaluate_scores(score_chunk: ScoreChunk, ratings: Ratings, split: Split, k: int = 10,
                    threshold: float | None = None, name: str = "", chunk_size: int = DEFAULT_CHUNK,
                    max_users: int | None = None) -> RankingReport:
    """Top-k metrics of any scorer (see ScoreChunk) on `split` of `ratings`; with `max_users`, over a seeded sample
    of that many of the users (coverage and the other catalogue figures then describe the sample's lists)."""
    start = time.perf_counter()
    _check_k(k, ratings.n_items, chunk_size)
    train = _user_item_matrix(ratings, split.train)  # (n_users, n_items) the items each user trained on
    relevant = _user_item_matrix(ratings, _relevant_rows(ratings, split.valid, threshold))  # (n_users, n_items)
    n_relevant = np.diff(relevant.indptr)  # (n_users,)
    users = _judged_users(n_relevant, max_users)  # (n_eval,)
    if len(users) == 0:
        raise DataError(f"no user has a relevant held-out rating{_threshold_words(threshold)}: nothing to rank")
    per_user = {m: np.empty(len(users)) for m in ("precision", "recall", "ndcg", "map", "hit", "rr")}
    counts = np.zeros(ratings.n_items, dtype=np.int64)  # (n_items,) times each item is recommended
    for lo in range(0, len(users), chunk_size):
        chunk = users[lo: lo + chunk_size]  # (n_chunk,)
        top, valid = _top_k(score_chunk(chunk), train, chunk, k)  # (n_chunk, k) item indices, real entries
        counts += np.bincount(top[valid], minlength=ratings.n_items)
        hits = _lookup(relevant, chunk, top) & valid  # (n_chunk, k) bool
        for metric, values in _user_metrics(hits, n_relevant[chunk], k).items():
            per_user[metric][lo: lo + len(chunk)] = values
    popularity = np.diff(train.tocsc().indptr)  # (n_items,) training count of each item
    return RankingReport(
        model=name, k=k, threshold=threshold, split=split.description, n_users=len(users), n_items=ratings.n_items,
        **{m: float(per_user[key].mean()) for m, key in (("precision", "precision"), ("recall", "recall"),
                                                          ("ndcg", "ndcg"), ("map", "map"), ("hit_rate", "hit"),
                                                          ("mrr", "rr"))},
        coverage=float((counts > 0).mean()),
        mean_popularity=float((counts * popularity).sum() / max(1, counts.sum())),
        heldout_popularity=float(popularity[relevant.indices].mean()),
        gini=gini(counts), novelty=_novelty(counts, popularity, n_train_users=int((np.diff(train.indptr) > 0).sum())),
        seconds=time.perf_counter() - start, user_ids=ratings.user_ids[users], user_ndcg=per_user["ndcg"],
        user_relevant=n_relevant[users],
        item_recommended=counts, item_heldout=np.bincount(relevant.indices, minlength=ratings.n_items),
        item_popularity=popularity)


def long_tail(report: RankingReport, n_groups: int = 10) -> dict[str, np.ndarray]:
    """How the recommendations spread over the catalogue's long tail, against what users held out: the items in
    `n_groups` groups of equal size from the most to the least rated in training, and each group's share of all
    recommendations and of all relevant held-out items. A model with popularity bias puts most of its
    recommendations in the first group while users' held-out items spread further."""
    order = np.argsort(-report.item_popularity, kind="stable")  # (n_items,) most rated first
    groups = np.array_split(order, n_groups)
    recommended = np.array([report.item_recommended[g].sum() for g in groups], dtype=float)
    heldout = np.array([report.item_heldout[g].sum() for g in groups], dtype=float)
    return {"group": np.arange(1, len(groups) + 1), "items": np.array([len(g) for g in groups]),
            "recommended_share": recommended / max(1.0, recommended.sum()),
            "heldout_share": heldout / max(1.0, heldout.sum())}


def top_items(score_chunk: ScoreChunk, ratings: Ratings, split: Split, users: np.ndarray, k: int = 10
              ) -> tuple[np.ndarray, np.ndarray]:
    """The top-k lists the evaluation judges, for the given user indices: (items (n_users, k) best first,
    valid (n_users, k) bool: False past the end of a user with fewer than k items left after their training ones)."""
    _check_k(k, ratings.n_items, 1)
    users = np.asarray(users, dtype=np.int64)
    return _top_k(score_chunk(users), _user_item_matrix(ratings, split.train), users, k)


def top_k_overlap(scorer_a: ScoreChunk, scorer_b: ScoreChunk, ratings: Ratings, split: Split, k: int = 10,
                  chunk_size: int = DEFAULT_CHUNK, max_users: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """How much two scorers' top-k lists agree, user by user: (raw user ids (n_users,), share of A's list that is
    also in B's (n_users,) from 0 to 1), for every user with a held-out item (the users the metrics judge, the same
    sample of them with `max_users`)."""
    _check_k(k, ratings.n_items, chunk_size)
    train = _user_item_matrix(ratings, split.train)  # (n_users, n_items)
    users = _judged_users(np.diff(_user_item_matrix(ratings, split.valid).indptr), max_users)  # (n_eval,)
    overlap = np.empty(len(users))
    for lo in range(0, len(users), chunk_size):
        chunk = users[lo: lo + chunk_size]  # (n_chunk,)
        top_a, valid_a = _top_k(scorer_a(chunk), train, chunk, k)  # (n_chunk, k)
        top_b, valid_b = _top_k(scorer_b(chunk), train, chunk, k)  # (n_chunk, k)
        top_a, top_b = np.where(valid_a, top_a, -1), np.where(valid_b, top_b, -2)  # padding never matches
        shared = (top_a[:, :, None] == top_b[:, None, :]).any(axis=2).sum(axis=1)  # (n_chunk,)
        overlap[lo: lo + len(chunk)] = shared / np.maximum(1, valid_a.sum(axis=1))
    return ratings.user_ids[users], overlap


# ---------------------------------------------------------------------- scorers
def run_scorer(trained: TrainedModel) -> ScoreChunk:
    """Scores of a run: user . item + biases for the dot kinds (the sigmoid into y_range is monotonic, so it is
    left out: the ranking is the same), the network on every (user, item) pair for an MLP."""
    if not trained.kind.shared_space:
        return _network_scorer(trained)
    users = trained.user_factors()
    if users is None:
        raise CollabError("ranking needs a user vector for each user; this imported run has item vectors only "
                          f"(from {trained.dataset})")
    items_t = np.ascontiguousarray(trained.item_factors().T)  # (width, n_items)
    user_bias, item_bias = trained.user_biases(), trained.item_biases()

    def score(chunk: np.ndarray) -> np.ndarray:
        scores = users[chunk] @ items_t  # (n_chunk, n_items)
        if item_bias is not None:
            scores += item_bias[None, :]
        if user_bias is not None:  # a constant per row changes no ranking, but keeps scores = the model's raw output
            scores += user_bias[chunk, None]
        return scores
    return score


def _network_scorer(trained: TrainedModel) -> ScoreChunk:
    """An MLP's predictions for every (user, item) pair of the chunk, in pieces of about _NN_PAIRS pairs."""
    model, n_items = trained.model.eval(), trained.n_items
    all_items = torch.arange(n_items)

    @torch.no_grad()
    def score(chunk: np.ndarray) -> np.ndarray:
        out = np.empty((len(chunk), n_items), dtype=np.float32)  # (n_chunk, n_items)
        step = max(1, _NN_PAIRS // n_items)
        for lo in range(0, len(chunk), step):
            part = torch.as_tensor(chunk[lo: lo + step])  # (n_part,)
            pair_users = part.repeat_interleave(n_items)  # (n_part * n_items,)
            pair_items = all_items.repeat(len(part))  # (n_part * n_items,)
            out[lo: lo + len(part)] = model(pair_users, pair_items).reshape(len(part), n_items).numpy()
        return out
    return score


def popularity_scorer(ratings: Ratings, split: Split) -> ScoreChunk:
    """Every user gets the items with the most training ratings (their own excluded by the evaluation)."""
    counts = np.bincount(ratings.item_index[split.train], minlength=ratings.n_items).astype(np.float32)  # (n_items,)
    return lambda chunk: np.broadcast_to(counts, (len(chunk), len(counts))).copy()  # (n_chunk, n_items)


def random_scorer(n_items: int, seed: int = 0) -> ScoreChunk:
    """Uniform random scores, seeded: the same chunks give the same lists."""
    rng = np.random.default_rng(seed)
    return lambda chunk: rng.random((len(chunk), n_items), dtype=np.float32)  # (n_chunk, n_items)


# ---------------------------------------------------------------------- the pieces
def _judged_users(n_relevant: np.ndarray, max_users: int | None) -> np.ndarray:
    """The users with something to find ((n_users,) counts -> indices), or a seeded sample of `max_users` of them:
    the same sample for every scorer, so their figures stay comparable."""
    users = np.flatnonzero(n_relevant > 0)  # (n_eval,)
    if max_users is not None and len(users) > max_users:
        users = np.sort(np.random.default_rng(0).choice(users, max_users, replace=False))
    return users



def _user_item_matrix(ratings: Ratings, rows: np.ndarray) -> sp.csr_matrix:
    """(n_users, n_items) bool CSR with a True at each (user, item) of `rows`."""
    rows = np.asarray(rows)
    return sp.csr_matrix((np.ones(len(rows), dtype=bool), (ratings.user_index[rows], ratings.item_index[rows])),
                         shape=(ratings.n_users, ratings.n_items))


def _relevant_rows(ratings: Ratings, valid: np.ndarray, threshold: float | None) -> np.ndarray:
    valid = np.asarray(valid)
    return valid if threshold is None else valid[ratings.rating[valid] >= threshold]


def _top_k(scores: np.ndarray, train: sp.csr_matrix, chunk: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k best items of each row of `scores`, best first, the user's training items excluded.
    Returns (top (n_chunk, k) item indices, valid (n_chunk, k) bool: False where a user had fewer than k
    items left to recommend)."""
    scores = np.asarray(scores, dtype=np.float32)  # (n_chunk, n_items); a copy only when not float32 already
    if not scores.flags.writeable:
        scores = scores.copy()
    seen = train[chunk]  # (n_chunk, n_items) CSR
    scores[np.repeat(np.arange(len(chunk)), np.diff(seen.indptr)), seen.indices] = -np.inf
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]  # (n_chunk, k) unordered
    top_scores = np.take_along_axis(scores, top, axis=1)  # (n_chunk, k)
    order = np.argsort(-top_scores, axis=1, kind="stable")  # (n_chunk, k)
    top = np.take_along_axis(top, order, axis=1)
    return top, np.isfinite(np.take_along_axis(top_scores, order, axis=1))


def _lookup(matrix: sp.csr_matrix, chunk: np.ndarray, top: np.ndarray) -> np.ndarray:
    """(n_chunk, k) bool: whether matrix[user, item] is set for each user of the chunk and each of its items."""
    rows = matrix[chunk]  # (n_chunk, n_items) CSR
    # a pair's key is row * n_items + item; CSR keeps each row's columns sorted, so the keys are sorted
    n_items = matrix.shape[1]
    keys = np.repeat(np.arange(len(chunk), dtype=np.int64), np.diff(rows.indptr)) * n_items + rows.indices
    wanted = np.arange(len(chunk), dtype=np.int64)[:, None] * n_items + top  # (n_chunk, k)
    place = np.minimum(np.searchsorted(keys, wanted), max(0, len(keys) - 1))
    return (keys[place] == wanted) if len(keys) else np.zeros(top.shape, dtype=bool)


def _user_metrics(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> dict[str, np.ndarray]:
    """Per-user metrics from the (n_chunk, k) hit matrix (best first) and each user's number of relevant items."""
    ranks = np.arange(1, k + 1)  # (k,)
    discounts = 1.0 / np.log2(ranks + 1)  # (k,)
    n_hits = hits.sum(axis=1)  # (n_chunk,)
    cap = np.minimum(n_relevant, k)  # (n_chunk,) the most hits a perfect list could have
    ideal = np.cumsum(discounts)[cap - 1]  # (n_chunk,) DCG of a perfect list
    precision_at = np.cumsum(hits, axis=1) / ranks  # (n_chunk, k) precision at each rank
    first = np.where(hits.any(axis=1), hits.argmax(axis=1) + 1, 0)  # (n_chunk,) rank of the first hit, 0: none
    return {"precision": n_hits / k, "recall": n_hits / n_relevant, "ndcg": (hits * discounts).sum(axis=1) / ideal,
            "map": (precision_at * hits).sum(axis=1) / cap, "hit": (n_hits > 0).astype(float),
            "rr": np.where(first > 0, 1.0 / np.maximum(first, 1), 0.0)}


def gini(counts: np.ndarray) -> float:
    """Gini index of non-negative counts: 0 when all are equal, (n-1)/n when one holds everything."""
    values = np.sort(np.asarray(counts, dtype=np.float64))  # (n,) ascending
    n, total = len(values), values.sum()
    if n == 0 or total == 0:
        return 0.0
    return float(((2 * np.arange(1, n + 1) - n - 1) * values).sum() / (n * total))


def _novelty(counts: np.ndarray, popularity: np.ndarray, n_train_users: int) -> float:
    """Mean over recommendations of -log2(share of training users who rated the item); items without training
    ratings have no share and are left out (see the module docstring)."""
    known = (popularity > 0) & (counts > 0)
    if not known.any():
        return float("nan")
    surprise = -np.log2(popularity[known] / n_train_users)  # (n_known,)
    return float((counts[known] * surprise).sum() / counts[known].sum())


def _check_k(k: int, n_items: int, chunk_size: int) -> None:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= n_items:
        raise CollabError(f"k must be a whole number from 1 to the number of items ({n_items:,}), got {k!r}")
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1:
        raise CollabError(f"the chunk size must be a whole number >= 1, got {chunk_size!r}")


def _threshold_words(threshold: float | None) -> str:
    return "" if threshold is None else f" (rated >= {threshold:g})"
