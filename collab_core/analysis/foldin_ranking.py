"""Fold-in for a run trained for ranking (TrainConfig.objective 'ranking'): a new user's vector from the items they
rated, against the run's frozen item factors and item biases, by the loss that run trained.

The objective, mapped from training
-----------------------------------
collab_core.model.ranking.softmax_loss trains, for each user u in a batch, the log-likelihood of the items u rated
under a softmax over ALL items of s(u, i) = q_i . w_u + b_i (+ b_u). Every rated item counts once, whatever its
stars: no threshold, no weights (ranking.UserItems takes every training pair). With the items frozen, the part of
the loss that depends on one user is their per-user sum (the batch mean only rescales it):

    L(w) = -sum_{j rated} log softmax(Q w + b)_j = n logsumexp(Q w + b) - sum_j (q_j . w + b_j)

and the fold-in minimises L(w) + lam / 2 |w|^2 in float64: convex (a log-sum-exp of linear functions plus a
strictly convex penalty), so Newton's method from w = 0 with a backtracking line search reaches the one optimum;
gradient n Q^T p - sum_j q_j + lam w, Hessian n Q^T (diag(p) - p p^T) Q + lam I (p: the softmax over all items).

No user bias: b_u adds the same number to every item's score, so a softmax over items ignores it (training
leaves it near its initial zero). The fold-in reports it as None and ranks by q_i . w + b_i, the model's score.

The penalty, from the training weight decay
--------------------------------------------
AdamW (the ranking default, batches of B users, U users: a user's rows get a gradient once per U / B steps)
shrinks every weight by lr * wd each step while Adam's normalised step moves it by about G / rms(G) x sqrt(B / U)
per step on average (v averages the squared gradient over the zero steps in between). Balancing the two per
coordinate gives G_k + wd sqrt(U / B) rms_k(G) w_k = 0, an L2 penalty lam = wd sqrt(U / B) rms(G). The gradient
of L is a sum of n terms q_j - E_p[q], so rms(G) ~ sqrt(n) x the count-weighted RMS item factor entry, and

    lam = wd * rms_q * sqrt(n * U / B)

the same form as the rating fold-in's (collab_core.analysis.foldin: steps per epoch x n, square-rooted). With
a deterministic gradient Adam's step is a sign and AdamW keeps each |w_k| <= sqrt(B / U) / wd (an l-inf box,
Xie & Li 2024): on the default ML-100K ranking run the trained vectors' largest coordinates sit at 0.26 against
a bound of 0.26. A box-constrained fold-in (scipy L-BFGS-B with bounds) was tried: nDCG@10 of the held-out items
0.453, against 0.468 for this L2 penalty and 0.471 for the trained vectors (a third of the users, stratified 75/25
split, seed 42); the penalty the trained vectors satisfy (-G . w / |w|^2) fits 1.0 n^0.62, 1.0-1.6x this rule for
n = 5 to 300 (docs/decisions.md, "Fold-in for a ranking run", has the figures and the time).
Plain Adam and SGD put wd into the gradient of the batch-mean loss: lam = wd * N (N training pairs).

"Because you rated ..."
-----------------------
At the optimum lam w = sum_j (q_j - Q^T p): the vector is exactly a sum of one share per rated item,
share_j = (q_j - Q^T p) / lam (each rated item pulls the vector towards itself, away from the item the model
expects), so a score splits into one part per rated item plus the item's bias, as for the rating runs.
`share_residual` is |gradient| / lam, ~0 after Newton.
"""
from __future__ import annotations

import math

import numpy as np
import scipy.linalg
import scipy.special

from collab_core.errors import CollabError
from collab_core.model.config import DECOUPLED_DECAY
from collab_core.model.trained import TrainedModel

TOLERANCE = 1e-10  # Newton stops when max |gradient| <= TOLERANCE * (1 + objective)


def ranking_penalty(trained: TrainedModel, n_rated: int) -> float:
    """lam on the user factors for a user with `n_rated` items (the module docstring has the derivation)."""
    config = trained.config
    if config.weight_decay <= 0:  # nothing in training bounded the vectors: the imported runs' rule (foldin.py)
        return float(np.mean(np.square(trained.item_factors(), dtype=np.float64)))
    if config.optimizer not in DECOUPLED_DECAY:  # L2 in the gradient of the batch-mean loss
        n_train = float(trained.metrics.get("n_train") or trained.catalog.counts.sum())
        return n_train * config.weight_decay
    steps_per_epoch = math.ceil(trained.n_users / config.batch_size)
    weights = trained.catalog.counts / max(1, trained.catalog.counts.sum())  # (n_items,)
    factors = trained.item_factors().astype(np.float64)  # (n_items, k)
    rms_factor = math.sqrt(float((weights * (factors**2).mean(axis=1)).sum()))
    return config.weight_decay * rms_factor * math.sqrt(max(1, n_rated) * steps_per_epoch)


class SoftmaxProblem:
    """L(w) + lam / 2 |w|^2 for one user, in float64 numpy (numpy rather than torch for the reason
    foldin._SigmoidProblem gives: a Newton step is a few small dense operations)."""

    def __init__(self, factors: np.ndarray, offsets: np.ndarray, items: np.ndarray, lam: float):
        self.factors = factors  # (n_items, k) Q
        self.offsets = offsets  # (n_items,) b (zeros without item biases)
        self.items = items  # (n_rated,) distinct item indices
        self.lam = lam
        self.pulled = factors[items].sum(axis=0)  # (k,) sum_j q_j
        self.rated_offsets = float(offsets[items].sum())

    def parts(self, w: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """(objective, gradient (k,), softmax p (n_items,)) at w (k,)."""
        scores = self.factors @ w + self.offsets  # (n_items,)
        log_total = float(scipy.special.logsumexp(scores))
        p = np.exp(scores - log_total)  # (n_items,)
        n = len(self.items)
        value = n * log_total - (self.pulled @ w + self.rated_offsets) + self.lam / 2 * float(w @ w)
        return value, n * (self.factors.T @ p) - self.pulled + self.lam * w, p

    def hessian(self, p: np.ndarray) -> np.ndarray:
        """(k, k): n Q^T (diag(p) - p p^T) Q + lam I."""
        mean = self.factors.T @ p  # (k,) E_p[q]
        spread = self.factors.T @ (self.factors * p[:, None]) - np.outer(mean, mean)  # (k, k) covariance under p
        return len(self.items) * spread + self.lam * np.eye(len(mean))


def penalty_rule(trained: TrainedModel) -> str:
    """Where `ranking_penalty` came from, in words for a caption."""
    if trained.config.weight_decay <= 0:
        return ("the mean squared item factor (this run trained without weight decay, which leaves nothing else to "
                "bound a vector fitted to a softmax)")
    return "derived from the training's weight decay"


def solve_ranking(trained: TrainedModel, items: np.ndarray, lam: float, max_iter: int) -> dict:
    """Newton from w = 0 on SoftmaxProblem; the solved fields of a UserFoldIn (no bias, shares per rated item)."""
    if lam <= 0:
        raise CollabError(f"a ranking fold-in needs a penalty > 0, got {lam:g}: nothing else bounds the vector (the "
                          f"softmax likelihood of the chosen items grows without limit)")
    factors = trained.item_factors().astype(np.float64)  # (n_items, k)
    biases = trained.item_biases()
    offsets = np.zeros(len(factors)) if biases is None else biases.astype(np.float64)  # (n_items,)
    problem = SoftmaxProblem(factors, offsets, items, lam)
    w, iterations, converged = _newton(problem, np.zeros(factors.shape[1]), max_iter)
    _, gradient, p = problem.parts(w)
    shares = (factors[items] - factors.T @ p).T / lam  # (k, n_rated): column j = (q_j - E_p[q]) / lam
    return {"vector": w, "bias": None, "method": "newton (softmax)", "iterations": iterations,
            "converged": converged, "fitted": factors[items] @ w + offsets[items], "shares": shares,
            "share_residual": float(np.abs(gradient).max()) / lam}


def _newton(problem: SoftmaxProblem, w: np.ndarray, max_iter: int) -> tuple[np.ndarray, int, bool]:
    """Newton's method with the exact Hessian (positive definite: lam > 0) and Armijo backtracking.
    Returns (w, steps taken, converged)."""
    taken = 0
    while taken < max_iter:
        value, gradient, p = problem.parts(w)
        if float(np.abs(gradient).max()) <= TOLERANCE * (1 + abs(value)):
            return w, taken, True
        direction = -scipy.linalg.cho_solve(scipy.linalg.cho_factor(problem.hessian(p)), gradient)  # (k,)
        decrease, size = float(gradient @ direction), 1.0
        for _ in range(30):
            candidate = w + size * direction
            if problem.parts(candidate)[0] <= value + 1e-4 * size * decrease:
                break
            size /= 2
        else:  # no decrease left at float64's precision: the optimum as closely as it can be found
            break
        w, taken = candidate, taken + 1
    value, gradient, _ = problem.parts(w)
    return w, taken, float(np.abs(gradient).max()) <= 1e3 * TOLERANCE * (1 + abs(value))
