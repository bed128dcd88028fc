"""Fold-in ("You"): a new user's vector from a handful of ratings, against a run's frozen item factors and
biases, with no retraining; then their fitted ratings, recommendations with "because you rated ...", and
the existing users nearest to them.

How the vector is found
-----------------------
- 'dot' (rating ~ q . w): ridge regression, closed form: w = (Q^T Q + lam I)^-1 Q^T r.
- 'dot_bias' (rating ~ sigmoid_range(q . w + b_u + b_i)): the ratings are mapped through the inverse of the
  sigmoid, t = logit((r - low) / (high - low)) - b_i, and `[Q 1] [w; b_u] = t` is solved as a ridge
  regression weighted by the sigmoid's slope at each target (a good start, in closed form); then a few
  Newton steps minimise the real objective, the squared error through the sigmoid plus the ridge
  penalty, from there (`refine='lbfgs'` does the same with scipy's L-BFGS-B; `refine=None` stops at the
  start). The Newton steps are numpy/scipy, not torch: see `_SigmoidProblem` for the reason.
  `bench --foldin` times both over ML-100K's 919 held-out users: Newton takes about a third of L-BFGS-B's
  steps and half its time, to the same optimum (identical RMSE); torch.optim.LBFGS took more steps and
  longer, and its first use in a process imports torch._dynamo
  (docs/performance.md, "Figures behind choices in the code").
- 'nn' (EmbeddingNN): the user embedding is optimised through the frozen MLP with L-BFGS (scipy's driver,
  torch autograd for the gradient) from the mean user vector. Slower (tens of milliseconds) and approximate:
  the objective is not convex, so this is a local optimum; the penalty's rho uses the MLP's average gradient.

The ridge penalty, from the training weight decay
-------------------------------------------------
The objective here is sum_j (prediction_j - r_j)^2 + lam |w|^2 + lam_b b_u^2. Training minimised the mean
squared error over batches of B ratings with AdamW, whose decoupled decay shrinks each weight by
lr * wd every step. At a stationary point Adam's normalised step balances the decay: E[g] / sqrt(v) =
-wd * w, where v is the running mean of the squared batch gradient g of that user's weights. A user with n
ratings out of N is in a batch with probability ~ n B / N and then gets g = (2 / B) err * d * q (d: the
sigmoid's slope), so sqrt(v) = 2 rho sqrt(n / (N B)) with rho the RMS of err * d * q_k. Rescaling the
batch-mean loss to the per-user sum gives

    lam = wd * rho * sqrt(n * N / B),    lam_b = bias_wd * rho_b * sqrt(n * N / B)  (rho_b: RMS of err * d)

rho is estimated from the run: sqrt(last epoch's train loss) x the count-weighted RMS slope at the items'
mean ratings x the count-weighted RMS item factor (for 'nn', the RMS of d prediction / d user vector).
The penalty grows like sqrt(n), not like n (a mean-loss ridge) nor constant (a sum-loss ridge with wd).
Measured on the default dot_bias trained on MovieLens 100K: the penalty its trained user vectors actually
satisfy (-grad . w / 2|w|^2 over each user's training ratings) fits lam = 0.99 n^0.52, i.e. ~sqrt(n), and
1.3x this formula's value. `python -m collab_core bench --foldin` folds in the 919 users with validation
ratings from their training ratings (seed 42, 10% split); validation RMSE (trained vectors: 0.8865):
    derived penalty 0.8901 | x0.25 0.9184 | x0.5 0.9007 | x2 0.8886 | x4 0.8958
    constant lam = wd: 0.9761 | mean-loss ridge lam = wd * n: 0.8994
so the derived mapping is within 0.002 of the best multiple without being tuned to it ('dot': 0.9265 vs
trained 0.9397, where smaller penalties did slightly better; 'nn': 0.9034 vs 0.9038).
Plain Adam and SGD put wd into the gradient (an L2 penalty on the mean loss): lam = N * wd / 2.

The rating scale
----------------
A run records the rating values its training data holds (`rating_scale`, collab_core.data.rating_values): the
distinct values of a star scale, or the range and a round step of a continuous one. A person is offered
those values, and a rating is accepted when
- the scale is discrete and recorded (`exact`): it is one of its values (4.5 is not a rating of data that
  holds 1, 2, 3, 4, 5);
- and, for 'dot_bias' and 'nn', it lies within the model's `y_range`, the only values its sigmoid can
  produce (a rating at an end is fitted as if just inside it); 'dot', whose output is unbounded, and
  imported runs take any finite number there.
A continuous scale's ends are only the lowest and highest rating seen, and a run without recorded values
(imported, or saved before runs recorded them) is assumed to use whole stars 1 to 5, which it may not: so
for those only the second rule applies.

"Because you rated ..."
-----------------------
The score of a candidate item i is sigmoid_range(z_i . [w; b_u] + b_i) with z_i = [q_i, 1]. The user's
part, z_i . [w; b_u], splits exactly into one term per rated item j, because [w; b_u] is a sum of one
share per rated item:
- ridge ('dot'): [w] = A^-1 Q^T r = sum_j A^-1 q_j r_j (A = Q^T Q + lam I), as implicit's `explain` for ALS;
- through the sigmoid: at the optimum, the vector is exactly the solution of the slope-weighted ridge
  regression that Gauss-Newton would solve there, [w; b_u] = A^-1 Z^T W y, with weights W_j = d_j^2 and
  working targets y_j = z_j . [w; b_u] + (r_j - s_j) / d_j (s_j: the fitted rating, d_j: the slope), so
  share_j = A^-1 z_j W_j y_j (A = Z^T W Z + diag(lam, lam_b)). This holds at the optimum only;
  `UserFoldIn.share_residual` reports how far the shares' sum is from the vector (~1e-9 after Newton).
The user bias is split among the rated items like the factors (the last row of the shares), the item's
own bias b_i is reported on its own, and contributions are in the units of the linear score (before the
sigmoid, which is monotone, so ranking by it ranks by predicted rating). 'nn' has no such decomposition:
its "because" lists the rated items whose item embeddings are most cosine-similar to the recommendation.

Runs trained for ranking
------------------------
A run trained with the ranking objective learned which items people rate, by a softmax over all items, and
its scores are logits, not ratings: none of the above applies. Its fold-in (collab_core.analysis.foldin_ranking)
minimises that softmax loss of the rated items (every rated item counts, whatever its stars) with the penalty
its weight decay implies, by Newton's method; it has no user bias (a softmax over items ignores it), and its
`fitted` values are the scores of the rated items.

Imported runs
-------------
Embeddings imported from elsewhere (collab_core.runs.importer) come without a training rule, scale or weight
decay, so a user is folded in on the vectors alone, by ridge in closed form: rating ~ q . w ('dot') or, when
the metadata gave item biases, rating ~ q . w + b_u + b_i ('linear_bias': the same linear model without a
sigmoid). Any finite rating is accepted. With no weight decay to derive the penalty from, lam is the mean
square of the item factors' entries: with roughly isotropic factors Q^T Q grows by about that much per
rated item, so the penalty weighs like one rated item (it keeps the solve well-posed with fewer ratings than
dimensions and matters little after a handful); lam_b = 1 is the same rule for the bias's column of ones.

Every `title` in the tables here (and in `because`) is the item's display title (`ItemCatalog.display_titles`:
the id is appended where two items share a title); the raw titles stay in the catalog.
"""
from __future__ import annotations

import copy
import functools
import math
import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.optimize
import scipy.special
import torch
from threadpoolctl import ThreadpoolController

from collab_core.analysis.foldin_inputs import rated_arrays
from collab_core.analysis.foldin_ranking import ranking_penalty, solve_ranking
from collab_core.errors import CollabError
from collab_core.model.config import DECOUPLED_DECAY
from collab_core.model.networks import sigmoid_range
from collab_core.model.trained import TrainedModel

REFINE_METHODS = ("newton", "lbfgs", None)
_LOGIT_CLIP = 1e-3  # the logit-space start treats a rating at an end of y_range as this fraction inside it


# ---------------------------------------------------------------------- the ridge penalty
def ridge_penalties(trained: TrainedModel, n_rated: int) -> tuple[float, float]:
    """(lam on the factors, lam_b on the user bias) for a user with `n_rated` ratings; see the module
    docstring for the derivation from the training weight decay (and for imported runs)."""
    if trained.imported:
        return float(np.mean(np.square(trained.item_factors(), dtype=np.float64))), 1.0
    config = trained.config
    n_train = float(trained.metrics.get("n_train") or trained.catalog.counts.sum())
    if config.optimizer not in DECOUPLED_DECAY:  # L2 in the gradient of the batch-mean loss
        return n_train * config.weight_decay / 2, n_train * config.bias_weight_decay / 2
    scale = math.sqrt(max(1, n_rated) * n_train / config.batch_size)
    rho, rho_bias = _gradient_rms(trained)
    return config.weight_decay * rho * scale, config.bias_weight_decay * rho_bias * scale


_GRADIENT_RMS: weakref.WeakKeyDictionary[TrainedModel, tuple[float, float]] = weakref.WeakKeyDictionary()


def _gradient_rms(trained: TrainedModel) -> tuple[float, float]:
    """_estimate_gradient_rms, once per trained model (for 'nn' it runs the MLP over every item)."""
    if trained not in _GRADIENT_RMS:
        with _single_threaded():
            _GRADIENT_RMS[trained] = _estimate_gradient_rms(trained)
    return _GRADIENT_RMS[trained]


def _estimate_gradient_rms(trained: TrainedModel) -> tuple[float, float]:
    """(RMS of err * d prediction / d w_k, RMS of err * d prediction / d b_u) over the training ratings,
    estimated from what a run stores: its last train loss, the item counts, means and factors."""
    history = trained.history or []
    loss = history[-1].get("train_loss") if history else None
    if loss is None or not math.isfinite(loss):
        loss = trained.metrics.get("mse") or 1.0
    rms_error = math.sqrt(loss)
    weights = trained.catalog.counts / max(1, trained.catalog.counts.sum())  # (n_items,)
    factors = trained.item_factors().astype(np.float64)  # (n_items, width)
    if trained.kind.mlp:
        return rms_error * _nn_jacobian_rms(trained, weights), rms_error
    rms_factor = math.sqrt(float((weights * (factors**2).mean(axis=1)).sum()))
    if not trained.kind.bounded:
        return rms_error * rms_factor, rms_error
    low, high = trained.config.y_range
    means = np.clip(np.nan_to_num(trained.catalog.means, nan=(low + high) / 2), low, high)  # (n_items,)
    slopes = (means - low) * (high - means) / (high - low)  # d sigmoid_range / dx at each item's mean rating
    rms_slope = math.sqrt(float((weights * slopes**2).sum()))
    return rms_error * rms_slope * rms_factor, rms_error * rms_slope


def _nn_jacobian_rms(trained: TrainedModel, weights: np.ndarray) -> float:
    """Count-weighted RMS over items of d prediction / d user vector, at the mean user vector."""
    model = trained.model
    users = torch.from_numpy(trained.user_factors()).mean(dim=0)  # (user_width,)
    items = torch.from_numpy(trained.item_factors())  # (n_items, item_width)
    user_rows = users.expand(len(items), -1).clone().requires_grad_(True)  # (n_items, user_width)
    predictions = nn_predict(model, user_rows, items)  # (n_items,)
    (grads,) = torch.autograd.grad(predictions.sum(), user_rows)  # row i: d prediction_i / d user
    per_item = grads.detach().double().pow(2).mean(dim=1).numpy()  # (n_items,)
    return math.sqrt(float((weights * per_item).sum()))


def nn_predict(model, user_rows: torch.Tensor, item_rows: torch.Tensor) -> torch.Tensor:
    """EmbeddingNN's forward pass from embedding rows instead of indices: (n, u_w), (n, i_w) -> (n,)."""
    return sigmoid_range(model.mlp(torch.cat([user_rows, item_rows], dim=1)).squeeze(1), *model.y_range)


# ---------------------------------------------------------------------- the result
@dataclass(frozen=True, eq=False)
class UserFoldIn:
    """A folded-in user: their vector, how it was found, and what each rated item contributed to it."""

    model_kind: str  # the solver: 'dot', 'dot_bias', 'nn', 'linear_bias' (imported with biases) or 'ranking'
    # (a run trained for ranking: the softmax over items; its `fitted` are scores, not ratings, and no bias)
    items: np.ndarray  # (n_rated,) int64 item indices the user rated
    ratings: np.ndarray  # (n_rated,) their ratings
    vector: np.ndarray  # (width,) float64 user factors
    bias: float | None  # user bias ('dot_bias', 'linear_bias'); None otherwise (and for any ranking run)
    ridge: float  # lam on the factors
    ridge_bias: float | None  # lam_b on the user bias ('dot_bias', 'linear_bias')
    method: str  # 'ridge', 'ridge+newton', 'ridge+lbfgs', 'lbfgs (nn)' or 'newton (softmax)'
    iterations: int  # refinement steps taken (0 for ridge alone)
    converged: bool
    seconds: float  # wall time of the solve
    fitted: np.ndarray  # (n_rated,) the model's prediction for each rated item with this vector (ranking: score)
    shares: np.ndarray | None  # (width + has_bias, n_rated): column j = rated item j's part of [vector; bias]
    share_residual: float  # max |sum of shares - [vector; bias]|; 0 for ridge, ~0 at an optimum; nan for nn

    @property
    def n_rated(self) -> int:
        return len(self.items)

    @property
    def augmented(self) -> np.ndarray:
        """[vector; bias] ((width + 1,) with a bias, else (width,))."""
        return self.vector if self.bias is None else np.append(self.vector, self.bias)


# ---------------------------------------------------------------------- solving
def fold_in(trained: TrainedModel, ratings: Mapping[int, float], *, refine: str | None = "newton",
            ridge_scale: float = 1.0, penalties: tuple[float, float] | None = None, max_iter: int = 50) -> UserFoldIn:
    """Fold a new user with `ratings` ({item index: rating}) into `trained` without retraining it.

    `refine` ('newton', 'lbfgs' or None) is how 'dot_bias' goes from the logit-space ridge start to the
    optimum through the sigmoid; 'dot' is ridge only, 'nn' always L-BFGS. `ridge_scale` multiplies the
    penalty of `ridge_penalties` (1 is the derived mapping; the benchmark sweeps it); `penalties` = (lam, lam_b)
    replaces that mapping altogether.
    A run trained for ranking is folded in by the softmax it trained (collab_core.analysis.foldin_ranking): which
    items were rated counts, not their stars; `refine` does not apply, and `penalties` = (lam, ignored).
    Raises RatingError for no ratings or a rating outside the run's scale.
    """
    if refine not in REFINE_METHODS:
        raise CollabError(f"refine must be one of {REFINE_METHODS}, got {refine!r}")
    items, values = rated_arrays(trained, ratings)
    if trained.kind.ranking:
        return _fold_in_ranking(trained, items, values, ridge_scale, penalties, max_iter)
    chosen = ridge_penalties(trained, len(items)) if penalties is None else tuple(penalties)
    lam, lam_bias = (_non_negative(ridge_scale, "ridge_scale") * _non_negative(p, "a ridge penalty") for p in chosen)
    start = time.perf_counter()
    kind = trained.kind
    with _single_threaded():
        solved = _SOLVERS[kind.foldin](trained, items, values, lam, lam_bias, refine, max_iter)
    seconds = time.perf_counter() - start
    return UserFoldIn(kind.foldin, items, values, ridge=lam, ridge_bias=lam_bias if kind.biases else None,
                      seconds=seconds, **solved)


def _fold_in_ranking(trained: TrainedModel, items: np.ndarray, values: np.ndarray, ridge_scale: float,
                     penalties: tuple[float, float] | None, max_iter: int) -> UserFoldIn:
    """fold_in for a ranking run: Newton on the softmax over all items; no user bias (a softmax ignores it)."""
    chosen = ranking_penalty(trained, len(items)) if penalties is None else penalties[0]
    lam = _non_negative(ridge_scale, "ridge_scale") * _non_negative(chosen, "a ridge penalty")
    start = time.perf_counter()
    with _single_threaded():
        solved = solve_ranking(trained, items, lam, max_iter)
    return UserFoldIn("ranking", items, values, ridge=lam, ridge_bias=None, seconds=time.perf_counter() - start,
                      **solved)


@functools.cache
def _threadpool_controller() -> ThreadpoolController:
    return ThreadpoolController()  # inspecting the loaded libraries is the slow part; limiting is then cheap


def _single_threaded():
    """Run BLAS and OpenMP (torch's intra-op pool included) on one thread while solving. These problems are
    tiny (a few thousand x 51 at most), and on a 2-core machine under load, threads only contend: the
    threaded fold-ins took several times longer (docs/performance.md, "Figures behind choices in the code").
    OpenMP's limit is per calling thread (torch.get_num_threads() elsewhere is unchanged); the OpenBLAS limit
    is process-wide while it lasts."""
    return _threadpool_controller().limit(limits=1)


def _non_negative(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not 0 <= value < math.inf:
        raise CollabError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def _solve_dot(trained: TrainedModel, items: np.ndarray, values: np.ndarray, lam: float) -> dict:
    """Closed-form ridge: w = A^-1 Q^T r, shares_j = A^-1 q_j r_j."""
    factors = trained.item_factors()[items].astype(np.float64)  # (n_rated, k)
    penalty = np.full(factors.shape[1], lam)  # (k,)
    shares = _weighted_ridge_shares(factors, np.ones_like(values), values, penalty)  # (k, n_rated)
    vector = shares.sum(axis=1)  # (k,)
    return {"vector": vector, "bias": None, "method": "ridge", "iterations": 0, "converged": True,
            "fitted": factors @ vector, "shares": shares, "share_residual": 0.0}


def _solve_linear_bias(trained: TrainedModel, items: np.ndarray, values: np.ndarray, lam: float,
                       lam_bias: float) -> dict:
    """Closed-form ridge with a user bias and no sigmoid: [Q 1] [w; b_u] = r - b_i (imported vectors with item
    biases); shares_j = A^-1 z_j (r_j - b_i_j), as for 'dot'."""
    factors = trained.item_factors()[items].astype(np.float64)  # (n_rated, k)
    design = np.hstack([factors, np.ones((len(items), 1))])  # (n_rated, k + 1): z_j = [q_j, 1]
    offsets = trained.item_biases()[items].astype(np.float64)  # (n_rated,) b_i
    penalty = np.append(np.full(factors.shape[1], lam), lam_bias)  # (k + 1,)
    shares = _weighted_ridge_shares(design, np.ones_like(values), values - offsets, penalty)  # (k + 1, n_rated)
    solution = shares.sum(axis=1)  # (k + 1,) [w; b_u]
    return {"vector": solution[:-1], "bias": float(solution[-1]), "method": "ridge", "iterations": 0,
            "converged": True, "fitted": design @ solution + offsets, "shares": shares, "share_residual": 0.0}


def _weighted_ridge_shares(design: np.ndarray, weights: np.ndarray, targets: np.ndarray,
                           penalty: np.ndarray) -> np.ndarray:
    """Column j = A^-1 z_j w_j y_j with A = Z^T diag(w) Z + diag(penalty): the weighted ridge solution
    A^-1 Z^T W y split by rated item. design (n, p), weights/targets (n,), penalty (p,) -> (p, n)."""
    gram = design.T @ (design * weights[:, None]) + np.diag(penalty)  # (p, p)
    return _solve_spd(gram, design.T * (weights * targets))


def _solve_spd(matrix: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """matrix^-1 rhs for a symmetric positive (semi)definite matrix (p, p) and rhs (p,) or (p, m); the
    pseudo-inverse when singular (a zero penalty with fewer ratings than factors)."""
    try:
        return scipy.linalg.cho_solve(scipy.linalg.cho_factor(matrix), rhs)
    except np.linalg.LinAlgError:
        return np.linalg.pinv(matrix, hermitian=True) @ rhs


@dataclass
class _SigmoidProblem:
    """sum_j (sigmoid_range(z_j . w + offset_j) - r_j)^2 + sum_k penalty_k w_k^2, in float64 numpy.

    numpy/scipy rather than torch: a Newton step is a dozen small dense operations, where torch's per-call
    overhead dominates, and on a 2-core machine under load torch's threaded LAPACK was far slower than scipy
    for a 51 x 51 Cholesky factor-and-solve (docs/performance.md, "Figures behind choices in the code")."""

    design: np.ndarray  # (n_rated, p): [q_j, 1]
    offset: np.ndarray  # (n_rated,): the item biases b_j
    ratings: np.ndarray  # (n_rated,)
    penalty: np.ndarray  # (p,): lam for the factors, lam_b for the bias
    low: float
    span: float

    def parts(self, w: np.ndarray):
        """(sigmoid (n,), fitted rating (n,), slope d (n,), error (n,), objective)."""
        sig = scipy.special.expit(self.design @ w + self.offset)  # (n,)
        fitted = self.low + self.span * sig
        slope = self.span * sig * (1 - sig)
        error = fitted - self.ratings
        return sig, fitted, slope, error, float(error @ error + self.penalty @ (w * w))

    def objective(self, w: np.ndarray) -> float:
        return self.parts(w)[4]

    def gradient(self, w: np.ndarray) -> np.ndarray:
        _, _, slope, error, _ = self.parts(w)
        return 2 * (self.design.T @ (error * slope)) + 2 * self.penalty * w  # (p,)


def _solve_dot_bias(trained: TrainedModel, items: np.ndarray, values: np.ndarray, lam: float, lam_bias: float,
                    refine: str | None, max_iter: int) -> dict:
    factors = trained.item_factors()[items].astype(np.float64)  # (n_rated, k)
    design = np.hstack([factors, np.ones((len(items), 1))])  # (n_rated, k + 1)
    penalty = np.append(np.full(factors.shape[1], lam), lam_bias)  # (k + 1,)
    low, high = trained.config.y_range
    problem = _SigmoidProblem(design, trained.item_biases()[items].astype(np.float64), values, penalty,
                              float(low), float(high - low))
    start_weights, start_targets = _logit_weights_targets(problem)
    w = _weighted_ridge_shares(design, start_weights, start_targets, penalty).sum(axis=1)  # (k + 1,)
    iterations, converged = 0, True
    if refine == "newton":
        w, iterations, converged = _newton(problem, w, max_iter)
    elif refine == "lbfgs":
        w, iterations, converged = _lbfgs(problem, w, max_iter)
    _, fitted, slope, error, _ = problem.parts(w)
    if refine is None:  # the start is the exact solution of the logit-space weighted ridge
        weights, weighted_targets = start_weights, start_weights * start_targets
    else:  # at the optimum w solves Gauss-Newton's weighted ridge: W = d^2, W y = d^2 (z . w) + d (r - s)
        weights, weighted_targets = slope * slope, slope * slope * (design @ w) - slope * error
    gram = design.T @ (design * weights[:, None]) + np.diag(penalty)  # (p, p)
    shares = _solve_spd(gram, design.T * weighted_targets)  # (p, n_rated)
    return {"vector": w[:-1], "bias": float(w[-1]), "method": "ridge (logit space)" if refine is None else
            f"ridge+{refine}", "iterations": iterations, "converged": converged, "fitted": fitted,
            "shares": shares, "share_residual": float(np.abs(shares.sum(axis=1) - w).max())}


def _logit_weights_targets(problem: _SigmoidProblem) -> tuple[np.ndarray, np.ndarray]:
    """(weights (n,), targets (n,)) of the logit-space start: t_j = logit(scaled r_j) - b_j, weighted by
    the squared slope of the sigmoid there, so an error in logits costs about what it costs in ratings."""
    scaled = np.clip((problem.ratings - problem.low) / problem.span, _LOGIT_CLIP, 1 - _LOGIT_CLIP)  # (n,)
    slope = problem.span * scaled * (1 - scaled)
    return slope * slope, scipy.special.logit(scaled) - problem.offset


def _converged(problem: _SigmoidProblem, w: np.ndarray, tol: float) -> bool:
    return float(np.abs(problem.gradient(w)).max()) <= tol * (1 + problem.objective(w))


def _newton(problem: _SigmoidProblem, w: np.ndarray, max_iter: int, tol: float = 1e-9
            ) -> tuple[np.ndarray, int, bool]:
    """Newton's method with the exact Hessian (Gauss-Newton's where that is not positive definite) and a
    backtracking line search. Returns (w, steps taken, converged)."""
    design, penalty = problem.design, problem.penalty
    for step in range(max_iter):
        sig, _, slope, error, value = problem.parts(w)
        gradient = 2 * (design.T @ (error * slope)) + 2 * penalty * w  # (p,)
        if float(np.abs(gradient).max()) <= tol * (1 + value):
            return w, step, True
        curvature = slope * slope + error * slope * (1 - 2 * sig)  # (n,) d^2 (e^2 / 2) / dx^2
        try:
            factor = scipy.linalg.cho_factor(design.T @ (design * curvature[:, None]) + np.diag(penalty))
        except np.linalg.LinAlgError:  # not convex here: Gauss-Newton's curvature d^2 always is
            factor = scipy.linalg.cho_factor(design.T @ (design * (slope * slope)[:, None]) + np.diag(penalty)
                                             + 1e-12 * np.eye(len(w)))
        direction = -scipy.linalg.cho_solve(factor, gradient / 2)  # (p,): the Hessian is 2 (Z^T C Z + diag)
        w = _backtrack(problem, w, value, gradient, direction)
    return w, max_iter, _converged(problem, w, tol)


def _backtrack(problem: _SigmoidProblem, w, value, gradient, direction) -> np.ndarray:
    """The first of 1, 1/2, 1/4, ... that decreases the objective enough (Armijo)."""
    decrease = float(gradient @ direction)
    size = 1.0
    for _ in range(30):
        candidate = w + size * direction
        if problem.objective(candidate) <= value + 1e-4 * size * decrease:
            return candidate
        size /= 2
    return w


def _lbfgs(problem: _SigmoidProblem, w: np.ndarray, max_iter: int, tol: float = 1e-9
           ) -> tuple[np.ndarray, int, bool]:
    """scipy's L-BFGS-B on the same objective and gradient, from the same start (compared with Newton in bench).
    scipy's, not torch.optim.LBFGS: the first torch optimizer built in a process imports torch._dynamo,
    which takes seconds (training.warm_up)."""
    def objective_and_gradient(x: np.ndarray) -> tuple[float, np.ndarray]:
        _, _, slope, error, value = problem.parts(x)
        return value, 2 * (problem.design.T @ (error * slope)) + 2 * problem.penalty * x

    result = scipy.optimize.minimize(objective_and_gradient, w, jac=True, method="L-BFGS-B",
                                     options={"maxiter": max_iter * 4, "gtol": tol, "ftol": 1e-15})
    return result.x, int(result.nit), _converged(problem, result.x, 1e3 * tol)


_FLOAT64_MLPS: weakref.WeakKeyDictionary[TrainedModel, torch.nn.Module] = weakref.WeakKeyDictionary()


def _float64_mlp(trained: TrainedModel) -> torch.nn.Module:
    if trained not in _FLOAT64_MLPS:
        mlp = copy.deepcopy(trained.model.mlp).double().eval()
        _FLOAT64_MLPS[trained] = mlp.requires_grad_(False)
    return _FLOAT64_MLPS[trained]


def _solve_nn(trained: TrainedModel, items: np.ndarray, values: np.ndarray, lam: float, max_iter: int) -> dict:
    """L-BFGS (scipy's L-BFGS-B, gradients by torch autograd) on the user embedding through the frozen MLP,
    from the mean user vector. The MLP runs as a float64 copy (cached per run), so the model itself is never
    touched and the line search does not stall on float32 rounding."""
    mlp, y_range = _float64_mlp(trained), trained.model.y_range
    item_rows = torch.from_numpy(trained.item_factors()[items]).double()  # (n_rated, item_width)
    ratings = torch.from_numpy(values)  # (n_rated,)

    def predictions(user: torch.Tensor) -> torch.Tensor:
        joined = torch.cat([user.expand(len(items), -1), item_rows], dim=1)  # (n_rated, u_w + i_w)
        return sigmoid_range(mlp(joined).squeeze(1), *y_range)

    def objective_and_gradient(x: np.ndarray) -> tuple[float, np.ndarray]:
        user = torch.from_numpy(x).requires_grad_(True)  # (user_width,)
        loss = ((predictions(user) - ratings) ** 2).sum() + lam * (user * user).sum()
        (gradient,) = torch.autograd.grad(loss, [user])
        return float(loss.detach()), gradient.numpy()

    start = trained.user_factors().mean(axis=0).astype(np.float64)  # (user_width,)
    result = scipy.optimize.minimize(objective_and_gradient, start, jac=True, method="L-BFGS-B",
                                     options={"maxiter": max_iter * 4, "gtol": 1e-6, "ftol": 1e-10})
    with torch.no_grad():
        fitted = predictions(torch.from_numpy(result.x)).numpy()
    return {"vector": result.x, "bias": None, "method": "lbfgs (nn)", "iterations": int(result.nit),
            "converged": bool(result.success), "fitted": fitted, "shares": None, "share_residual": float("nan")}




# The solver for each kind's `foldin`: (trained, items, values, lam, lam_bias, refine, max_iter) -> solved fields
_SOLVERS = {
    "dot": lambda trained, items, values, lam, lam_bias, refine, max_iter: _solve_dot(trained, items, values, lam),
    "linear_bias": lambda trained, items, values, lam, lam_bias, refine, max_iter:
        _solve_linear_bias(trained, items, values, lam, lam_bias),
    "dot_bias": _solve_dot_bias,
    "nn": lambda trained, items, values, lam, lam_bias, refine, max_iter:
        _solve_nn(trained, items, values, lam, max_iter),
}
