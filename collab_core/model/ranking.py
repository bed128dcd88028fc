"""The ranking objective: embeddings learned from which items each user rated, not from the rating values.

For recommending, which items a person chose to rate says more than the stars they gave (implicit feedback):
on MovieLens 100K under a per-user 75/25 split the rating-trained dot_bias ranks held-out items at nDCG@10 0.15,
below recommending the most popular items (0.25). A ranking run trains the same networks (EmbeddingDot,
EmbeddingDotBias without its sigmoid) with another loss: for each user u, a softmax over all items of the score
s(u, i) = u . i (+ b_i + b_u), and the loss is the mean over the user's training items of -log softmax(s(u, .))_i,
the multinomial likelihood of Mult-VAE (Liang et al., 2018) with a dot product as the decoder. Every unrated
item is a negative, with no sampling; the item bias learns popularity, the user bias cancels in the softmax
(it keeps its initial value, about zero, under weight decay). docs/decisions.md, "Why the ranking objective is a
full softmax", has the measurements against BPR and alternating least squares.

A step takes a batch of users, each with all their training items: (users,) indices and a (users, n_items)
0/1 target matrix; the logits are one (users, n_factors) x (n_factors, n_items) product. That costs
users x n_items floats a step, cheap at MovieLens scale (1,682 items) and a limit at 62,000 (ML-25M: a batch of
64 users is 16 MB of logits, fine; the memory estimate counts it).

Also here: nDCG@10 on the validation ratings (`valid_ndcg`; after each epoch on a sample of users, at the end on
all), the score a ranking run reports instead of an RMSE. Its metric, `ndcg_at_k`, is one small function so that
it can later be pointed at a shared ranking-evaluation module.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from collab_core.data.ratings import Ratings

K = 10  # the cut-off of the nDCG a ranking run reports
# users scored after each epoch for valid_ndcg10, a seeded sample (the same every epoch): scoring all of MovieLens
# 100K's 943 takes 20 ms, 40 epochs 0.8 s, as long as the training itself on one thread; 300 take a third of that,
# and their mean is within about +-0.02 of all users'. The run's final nDCG@10 is over every user.
MAX_EVAL_USERS = 300
EVAL_USERS_PER_CHUNK = 256  # users whose scores over all items are held at once while evaluating


@dataclass(frozen=True)
class UserItems:
    """Each user's items among some rows of a Ratings, grouped by user (CSR): user u's items are
    `items[indptr[u]:indptr[u + 1]]`. Kept on the host (numpy): batches are cut here and sent to the device."""

    indptr: np.ndarray  # (n_users + 1,) int64
    items: np.ndarray  # (n_pairs,) int64, grouped by user
    n_items: int

    @classmethod
    def of(cls, ratings: Ratings, rows: np.ndarray) -> UserItems:
        users, items = ratings.user_index[rows], ratings.item_index[rows]  # (n_rows,) each
        order = np.argsort(users, kind="stable")
        counts = np.bincount(users, minlength=ratings.n_users)  # (n_users,)
        indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        return cls(indptr, items[order].astype(np.int64), ratings.n_items)

    def __len__(self) -> int:
        return len(self.items)

    @property
    def counts(self) -> np.ndarray:
        return np.diff(self.indptr)  # (n_users,)

    @property
    def active_users(self) -> np.ndarray:
        """The users with at least one item here, ascending."""
        return np.flatnonzero(self.counts > 0)

    def pairs_of(self, users: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(row of the user in `users`, item) for every item of those users: (n,), (n,)."""
        starts, counts = self.indptr[users], self.counts[users]  # (b,) each
        rows = np.repeat(np.arange(len(users)), counts)  # (n,)
        # position of each pair in `items`: its user's start plus its rank within the user
        offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)  # (n,)
        return rows, self.items[np.repeat(starts, counts) + offsets]

    def mask(self, users: np.ndarray, device: torch.device) -> torch.Tensor:
        """(len(users), n_items) float32 on `device`: 1 where the user has the item."""
        rows, items = self.pairs_of(users)
        target = torch.zeros((len(users), self.n_items), device=device)
        target[torch.from_numpy(rows).to(device), torch.from_numpy(items).to(device)] = 1.0
        return target

    def batches(self, users_per_batch: int, generator: torch.Generator,
                device: torch.device) -> Iterator[tuple[torch.Tensor, torch.Tensor, int]]:
        """One epoch: the active users in a random order (from the seeded generator), `users_per_batch` at a time,
        as (users (b,) int64, targets (b, n_items) float32, the batch's number of items)."""
        active = self.active_users
        order = active[torch.randperm(len(active), generator=generator).numpy()]
        for start in range(0, len(order), users_per_batch):
            users = order[start:start + users_per_batch]
            yield (torch.from_numpy(users).to(device), self.mask(users, device), int(self.counts[users].sum()))

    def n_batches(self, users_per_batch: int) -> int:
        return -(-len(self.active_users) // users_per_batch)


def item_scores(model: nn.Module, users: torch.Tensor) -> torch.Tensor:
    """(b, n_items) scores of every item for each of `users` (b,): the model's forward for every pair, in one
    product. For EmbeddingDotBias without y_range and EmbeddingDot (the kinds a ranking run trains)."""
    scores = model.user_factors(users) @ model.item_factors.weight.T  # (b, n_items)
    if hasattr(model, "item_bias"):
        scores = scores + model.item_bias.weight.T + model.user_bias(users)  # + (1, n_items) + (b, 1)
    return scores


def softmax_loss(model: nn.Module, users: torch.Tensor, _items, targets: torch.Tensor) -> torch.Tensor:
    """Mean over the batch's (user, item) pairs of -log softmax over all items: targets (b, n_items) 0/1.
    Summing per pair (not averaging per user) weighs a user by their number of items, as a per-rating loss does."""
    log_p = torch.log_softmax(item_scores(model, users), dim=1)  # (b, n_items)
    return -(log_p * targets).sum() / targets.sum()


def ndcg_at_k(scores: torch.Tensor, seen: torch.Tensor, relevant: torch.Tensor, k: int = K) -> torch.Tensor:
    """(b,) nDCG@k of each user's ranking. scores, seen, relevant: (b, n_items); `seen` items (the user's
    training items) are never ranked; every `relevant` item counts 1; DCG discounts rank r by 1 / log2(r + 1), the
    ideal DCG puts min(k, n_relevant) relevant items first. Users without relevant items get 0."""
    k = min(k, scores.shape[1])
    ranked = scores.masked_fill(seen > 0, float("-inf")).topk(k, dim=1).indices  # (b, k)
    gains = relevant.gather(1, ranked)  # (b, k)
    discount = 1.0 / torch.log2(torch.arange(2, k + 2, device=scores.device, dtype=scores.dtype))  # (k,)
    ideal_hits = relevant.sum(dim=1).clamp(max=k).long()  # (b,)
    ideal = torch.cat([torch.zeros(1, device=scores.device, dtype=scores.dtype), discount.cumsum(0)])[ideal_hits]
    return torch.where(ideal > 0, (gains * discount).sum(dim=1) / ideal.clamp(min=1e-12), torch.zeros_like(ideal))


@torch.no_grad()
def valid_ndcg(model: nn.Module, train: UserItems, valid: UserItems, device: torch.device, k: int = K,
               max_users: int = MAX_EVAL_USERS, seed: int = 0) -> float | None:
    """Mean nDCG@k over the users with validation items (at most `max_users` of them, a seeded sample), their
    training items excluded from the ranking; None when no user has validation items."""
    users = valid.active_users
    if len(users) == 0:
        return None
    if len(users) > max_users:
        users = np.sort(np.random.default_rng(seed).choice(users, max_users, replace=False))
    model.eval()
    total = 0.0
    for start in range(0, len(users), EVAL_USERS_PER_CHUNK):
        chunk = users[start:start + EVAL_USERS_PER_CHUNK]
        scores = item_scores(model, torch.from_numpy(chunk).to(device))  # (chunk, n_items)
        total += float(ndcg_at_k(scores, train.mask(chunk, device), valid.mask(chunk, device), k).sum())
    return total / len(users)


@torch.no_grad()
def mean_softmax_loss(model: nn.Module, pairs: UserItems, device: torch.device) -> float | None:
    """The objective on `pairs` (e.g. the validation ratings): mean -log softmax of each pair's item; None when
    there are none. The softmax is over all items, the user's training items included, as in training."""
    users = pairs.active_users
    if len(users) == 0:
        return None
    model.eval()
    total = 0.0
    for start in range(0, len(users), EVAL_USERS_PER_CHUNK):
        chunk = users[start:start + EVAL_USERS_PER_CHUNK]
        targets = pairs.mask(chunk, device)  # (chunk, n_items)
        total += float(softmax_loss(model, torch.from_numpy(chunk).to(device), None, targets)) * float(targets.sum())
    return total / len(pairs)


def popularity_ndcg(train: UserItems, valid: UserItems, k: int = K) -> float | None:
    """nDCG@k of recommending the items with the most training ratings: the baseline a ranking run must beat."""
    popularity = torch.from_numpy(np.bincount(train.items, minlength=train.n_items).astype(np.float32))
    users = valid.active_users
    if len(users) == 0:
        return None
    total = 0.0
    for start in range(0, len(users), EVAL_USERS_PER_CHUNK):
        chunk = users[start:start + EVAL_USERS_PER_CHUNK]
        scores = popularity.expand(len(chunk), -1)  # (chunk, n_items)
        cpu = torch.device("cpu")
        total += float(ndcg_at_k(scores, train.mask(chunk, cpu), valid.mask(chunk, cpu), k).sum())
    return total / len(users)
