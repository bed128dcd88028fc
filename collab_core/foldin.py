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
  start). The Newton steps are numpy/scipy, not torch: see `_SigmoidProblem` for the measured reason.
  `bench --foldin` times both over ML-100K's 919 held-out users (median per user, on 2 loaded cores):
  Newton 5.4 steps, ~1.1-1.5 ms; L-BFGS-B 17.6 steps, ~2.8 ms; the same optimum (identical RMSE).
  torch.optim.LBFGS, tried first, took ~21 steps and ~12 ms, plus 6-10 s for its first use in a process.
- 'nn' (EmbeddingNN): the user embedding is optimised through the frozen MLP with L-BFGS (scipy's driver,
  torch autograd for the gradient) from the mean user vector. Slower and approximate: ~10 ms for a user
  with 3 ratings, a median ~80-100 ms for ML-100K's held-out users (~100 ratings, ~37 steps), and the
  objective is not convex, so this is a local optimum; the penalty's rho uses the MLP's average gradient.

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
A run records the rating values its training data holds (`rating_scale`, collab_core.rating_values): the
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

Imported runs
-------------
Embeddings imported from elsewhere (collab_core.importer) come without a training rule, scale or weight
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
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.linalg
import scipy.optimize
import scipy.special
import torch
from threadpoolctl import ThreadpoolController

from .diagnostics import check_trained_on
from .errors import AmbiguousTitleError, CollabError, DataError, UnknownIdError
from .interpret import NeighbourIndex, candidate_items, pca
from .models import sigmoid_range
from .rating_values import NOTE_IMPORTED, NOTE_UNRECORDED, RatingScale, assumed_scale
from .trained import TrainedModel

REFINE_METHODS = ("newton", "lbfgs", None)
_LOGIT_CLIP = 1e-3  # the logit-space start treats a rating at an end of y_range as this fraction inside it

# Optimisers whose weight decay shrinks the weights directly (AdamW's decoupled decay), not through the gradient
DECOUPLED_DECAY = ("adamw", "lazy_adamw")


class RatingError(CollabError):
    """A typed rating is malformed, outside the run's scale, repeats an item, or there are none."""


# ---------------------------------------------------------------------- reading the user's ratings
def rating_bounds(trained: TrainedModel) -> tuple[float, float] | None:
    """(low, high) ratings accepted for this run: the model's y_range; None ('dot', imported: any finite rating)."""
    if foldin_kind(trained) in ("dot", "linear_bias"):
        return None
    low, high = trained.config.y_range
    return float(low), float(high)


def check_rating(trained: TrainedModel, rating, what: str = "rating") -> float:
    """`rating` as a float, or RatingError saying what the run accepts (see the module docstring)."""
    try:
        value = float(rating)
    except (TypeError, ValueError):
        raise RatingError(f"{what}: {rating!r} is not a number") from None
    if not math.isfinite(value):
        raise RatingError(f"{what}: {rating!r} is not a finite number")
    scale = rating_scale(trained)
    if scale.exact and not scale.holds(np.array([value]))[0]:
        raise RatingError(f"{what}: {value:g} is not on this run's scale; its data holds the ratings "
                          f"{scale.describe()}")
    bounds = rating_bounds(trained)
    if bounds is not None and not bounds[0] <= value <= bounds[1]:
        raise RatingError(f"{what}: {value:g} is outside this run's scale {bounds[0]:g} to {bounds[1]:g} "
                          f"(the model's y_range)")
    return value


def _accepted(trained: TrainedModel, values: np.ndarray) -> np.ndarray:
    """(n,) bool: which of `values` (n,) float64 check_rating accepts, at once."""
    bounds = rating_bounds(trained) or (-math.inf, math.inf)
    ok = np.isfinite(values) & (values >= bounds[0]) & (values <= bounds[1])
    scale = rating_scale(trained)
    return ok & scale.holds(values) if scale.exact else ok


def parse_rating(trained: TrainedModel, text: str) -> tuple[int, float]:
    """'Star Wars (1977)=5' or '50=4.5' -> (item index, rating). The item goes through `catalog.find_item`
    (raw id, exact title, or an unambiguous part of one); the rating must be one the run accepts."""
    item_text, sep, rating_text = str(text).rpartition("=")
    if not sep or not item_text.strip() or not rating_text.strip():
        raise RatingError(f"{text!r}: expected TITLE=RATING or ID=RATING, e.g. 'Star Wars (1977)=5'")
    try:
        index = trained.catalog.find_item(item_text.strip())
    except AmbiguousTitleError as exc:
        raise AmbiguousTitleError(f"{text!r}: {exc}", exc.candidates) from None
    except UnknownIdError as exc:
        raise UnknownIdError(f"{text!r}: {exc}") from None
    return index, check_rating(trained, rating_text.strip(), f"{text!r}")


def parse_ratings(trained: TrainedModel, texts: Iterable[str]) -> dict[int, float]:
    """Several 'item=rating' texts -> {item index: rating}. The same item twice is refused."""
    ratings: dict[int, float] = {}
    sources: dict[int, str] = {}
    for text in texts:
        index, value = parse_rating(trained, text)
        if index in ratings:
            raise RatingError(f"{trained.catalog.label(index)} is rated twice ({sources[index]!r} and {text!r}); "
                              f"give each item once")
        ratings[index], sources[index] = value, text
    return ratings


def _rated_arrays(trained: TrainedModel, ratings: Mapping[int, float]) -> tuple[np.ndarray, np.ndarray]:
    """(item indices (n_rated,) int64, ratings (n_rated,) float64), checked."""
    if len(ratings) < 1:
        raise RatingError("no ratings given: rate at least one item")
    items = np.fromiter((int(i) for i in ratings), dtype=np.int64, count=len(ratings))
    bad = items[(items < 0) | (items >= trained.n_items)]
    if len(bad):
        raise RatingError(f"item index {int(bad[0])} is out of range (0..{trained.n_items - 1})")
    raw = list(ratings.values())
    try:
        values = np.array(raw, dtype=np.float64)  # (n_rated,)
        ok = _accepted(trained, values)
    except (TypeError, ValueError):  # something that is not a number: the loop below names it
        values, ok = None, np.zeros(len(raw), dtype=bool)
    for j in np.flatnonzero(~ok):  # the scalar check says what is wrong with which item
        check_rating(trained, raw[j], f"rating of {trained.catalog.label(int(items[j]))}")
    return items, values


# ---------------------------------------------------------------------- the ridge penalty
def foldin_kind(trained: TrainedModel) -> str:
    """How a user is folded in: the trained model's kind, or for an imported run 'dot' (vectors alone) or
    'linear_bias' (vectors and item biases, no sigmoid)."""
    if trained.imported:
        return "linear_bias" if trained.has_bias else "dot"
    return trained.config.model


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
    if trained.config.model == "nn":
        return rms_error * _nn_jacobian_rms(trained, weights), rms_error
    rms_factor = math.sqrt(float((weights * (factors**2).mean(axis=1)).sum()))
    if trained.config.model == "dot":
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
    predictions = _nn_predict(model, user_rows, items)  # (n_items,)
    (grads,) = torch.autograd.grad(predictions.sum(), user_rows)  # row i: d prediction_i / d user
    per_item = grads.detach().double().pow(2).mean(dim=1).numpy()  # (n_items,)
    return math.sqrt(float((weights * per_item).sum()))


def _nn_predict(model, user_rows: torch.Tensor, item_rows: torch.Tensor) -> torch.Tensor:
    """EmbeddingNN's forward pass from embedding rows instead of indices: (n, u_w), (n, i_w) -> (n,)."""
    return sigmoid_range(model.mlp(torch.cat([user_rows, item_rows], dim=1)).squeeze(1), *model.y_range)


# ---------------------------------------------------------------------- the result
@dataclass(frozen=True, eq=False)
class UserFoldIn:
    """A folded-in user: their vector, how it was found, and what each rated item contributed to it."""

    model_kind: str  # foldin_kind: 'dot', 'dot_bias', 'nn', or for imported vectors 'dot' / 'linear_bias'
    items: np.ndarray  # (n_rated,) int64 item indices the user rated
    ratings: np.ndarray  # (n_rated,) their ratings
    vector: np.ndarray  # (width,) float64 user factors
    bias: float | None  # user bias ('dot_bias', 'linear_bias'); None otherwise
    ridge: float  # lam on the factors
    ridge_bias: float | None  # lam_b on the user bias ('dot_bias', 'linear_bias')
    method: str  # 'ridge', 'ridge+newton', 'ridge+lbfgs' or 'lbfgs (nn)'
    iterations: int  # refinement steps taken (0 for ridge alone)
    converged: bool
    seconds: float  # wall time of the solve
    fitted: np.ndarray  # (n_rated,) the model's prediction for each rated item with this vector
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
    Raises RatingError for no ratings or a rating outside the run's scale.
    """
    if refine not in REFINE_METHODS:
        raise CollabError(f"refine must be one of {REFINE_METHODS}, got {refine!r}")
    items, values = _rated_arrays(trained, ratings)
    chosen = ridge_penalties(trained, len(items)) if penalties is None else tuple(penalties)
    lam, lam_bias = (_non_negative(ridge_scale, "ridge_scale") * _non_negative(p, "a ridge penalty") for p in chosen)
    start = time.perf_counter()
    kind = foldin_kind(trained)
    with _single_threaded():
        if kind == "dot":
            solved = _solve_dot(trained, items, values, lam)
        elif kind == "linear_bias":
            solved = _solve_linear_bias(trained, items, values, lam, lam_bias)
        elif kind == "dot_bias":
            solved = _solve_dot_bias(trained, items, values, lam, lam_bias, refine, max_iter)
        else:
            solved = _solve_nn(trained, items, values, lam, max_iter)
    seconds = time.perf_counter() - start
    has_bias = kind in ("dot_bias", "linear_bias")
    return UserFoldIn(kind, items, values, ridge=lam, ridge_bias=lam_bias if has_bias else None, seconds=seconds,
                      **solved)


@functools.cache
def _threadpool_controller() -> ThreadpoolController:
    return ThreadpoolController()  # inspects the loaded libraries once (~ms); limiting is then ~20 us


def _single_threaded():
    """Run BLAS and OpenMP (torch's intra-op pool included) on one thread while solving. These problems are
    tiny (a few thousand x 51 at most), and on this 2-core machine under load, threads only contended:
    200 'dot' fold-ins took 2.9 s threaded against 0.34 s on one thread, and an 'nn' fold-in ~1 s against
    ~30 ms. OpenMP's limit is per calling thread (torch.get_num_threads() elsewhere is unchanged); the
    OpenBLAS limit is process-wide while it lasts."""
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
    overhead dominates, and on this 2-core machine under load torch's 2-thread LAPACK took 3-6 ms per 51 x 51
    Cholesky factor-and-solve against ~0.1 ms in scipy."""

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
    which took 6-10 s here."""
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


# ---------------------------------------------------------------------- scoring and explaining
@torch.no_grad()
def linear_scores(trained: TrainedModel, fold: UserFoldIn, items: np.ndarray) -> np.ndarray:
    """(n,) the score before the sigmoid, z_i . [w; b_u] + b_i ('dot': the prediction itself). Not for 'nn'."""
    if fold.model_kind == "nn":
        raise CollabError("an 'nn' model has no linear score: its prediction goes through an MLP")
    items = np.asarray(items, dtype=np.int64)
    scores = trained.item_factors()[items].astype(np.float64) @ fold.vector  # (n,)
    if fold.bias is not None:
        scores = scores + fold.bias + trained.item_biases()[items]
    return scores


@torch.no_grad()
def predict(trained: TrainedModel, fold: UserFoldIn, items: np.ndarray) -> np.ndarray:
    """(n,) predicted ratings of the folded-in user for the given item indices."""
    items = np.asarray(items, dtype=np.int64)
    if fold.model_kind == "nn":
        user = torch.from_numpy(fold.vector).float().expand(len(items), -1)
        return _nn_predict(trained.model, user, torch.from_numpy(trained.item_factors()[items])).double().numpy()
    scores = linear_scores(trained, fold, items)
    if fold.model_kind in ("dot", "linear_bias"):  # no sigmoid: the linear score is the prediction
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


def explain_item(trained: TrainedModel, fold: UserFoldIn, item_index: int) -> pd.DataFrame:
    """Why the user's score for one item is what it is: one row per rated item (item, title, rating,
    contribution), largest |contribution| first, then a row 'item bias' when the model has biases.
    The contributions plus the item bias sum to the linear score (see the module docstring)."""
    parts = contributions(trained, fold, np.array([item_index]))[0]  # (n_rated,)
    catalog = trained.catalog
    table = pd.DataFrame({"item": catalog.vocab.ids[fold.items], "title": catalog.display_titles[fold.items],
                          "rating": fold.ratings, "contribution": parts})
    table = table.iloc[np.argsort(-np.abs(parts), kind="stable")].reset_index(drop=True)
    if fold.bias is not None:
        table.loc[len(table)] = [catalog.vocab.ids[item_index], "item bias", np.nan,
                                 float(trained.item_biases()[item_index])]
    return table


def recommend(trained: TrainedModel, fold: UserFoldIn, n: int = 10, min_ratings: int | None = None,
              n_because: int = 3) -> pd.DataFrame:
    """The n best-scored items the user has not rated, among those with at least `min_ratings` ratings
    (default: the 1,000 most-rated items, as `interpret.candidate_items`).

    Columns: rank, item_index, item, title, score (predicted rating), linear_score (before the sigmoid; NaN for
    'nn'), item_bias (NaN without biases), count, because (list of {item, title, rating, contribution}: the
    rated items that add most to this score, largest first; for 'nn', the most similar rated items with
    contribution None).
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
        "linear_score": linear_scores(trained, fold, chosen) if fold.model_kind != "nn" else np.nan,
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
    if trained not in _USER_INDEX:  # built once per run: a KD-tree over 162K users took ~7 s here
        _USER_INDEX[trained] = NeighbourIndex(trained.user_factors(), "cosine")
    found, distances = _USER_INDEX[trained].query_vector(fold.vector, k)
    return pd.DataFrame({"rank": np.arange(1, len(found) + 1), "user": trained.users.ids[found],
                         "similarity": 1 - distances, "count": trained.user_counts[found],
                         "mean_rating": trained.user_means[found]})


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



# ---------------------------------------------------------------------- for the "You" page (and any front end)
def rating_scale(trained: TrainedModel) -> RatingScale:
    """The ratings a person can give in this run: the values its training data holds, recorded with the run
    (collab_core.rating_values); whole stars 1 to 5, flagged `assumed` with a note saying why, for a run
    that has none recorded (imported vectors, or a run saved before runs recorded them)."""
    if trained.recorded_scale is not None:
        return trained.recorded_scale
    return assumed_scale(NOTE_IMPORTED if trained.imported else NOTE_UNRECORDED)


def demo_ratings(trained: TrainedModel, n: int = 5, pool: int = 40,
                 fitted_on: np.ndarray | None = None) -> dict[int, float]:
    """{item index: rating} of a made-up person for a demo: `n` movies from the `pool` most rated, those
    at one end of the item map's first axis rated at the top of the scale and those at the other end one step
    above its bottom, so the folded-in user has a clear taste to show. The map is the PCA of the items
    `fitted_on` (default: the pool), as `user_on_map` draws it. Deterministic."""
    pool_items = trained.catalog.top_items(max(pool, n))
    scale = rating_scale(trained)
    if len(pool_items) < 2:
        return {int(i): scale.values()[-1] for i in pool_items}
    factors = trained.item_factors().astype(np.float64)
    fit_rows = pool_items if fitted_on is None or len(fitted_on) < 2 else np.asarray(fitted_on)
    projection = pca(factors[fit_rows], 1)
    pc1 = (factors[pool_items] - projection.mean) @ projection.components[0]  # (pool,)
    order = pool_items[np.argsort(-pc1, kind="stable")]
    loved = order[: (n + 1) // 2]
    disliked = order[::-1][: n - len(loved)]
    top, bottom = scale.values()[-1], scale.values()[min(1, len(scale.values()) - 1)]
    return {**{int(i): top for i in loved}, **{int(i): bottom for i in disliked}}


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
    if fold.model_kind == "nn":
        raise CollabError("an 'nn' model's user and item embeddings share no space (they are concatenated into "
                          "an MLP), so a user has no place on the item map")
    factors = trained.item_factors()
    projection = pca(factors[fitted_on] if len(fitted_on) >= 2 else factors, 2)
    point = projection.components @ fold.vector  # (n_components,)
    norm2 = float(fold.vector @ fold.vector)
    point = np.pad(point, (0, 2 - len(point)))
    return UserOnMap(float(point[0]), float(point[1]), float(point @ point / norm2) if norm2 > 0 else 0.0,
                     np.pad(projection.explained_variance_ratio, (0, 2 - len(projection.explained_variance_ratio))))
