"""TrainConfig: every hyperparameter of a training run, validated with messages that say what to fix,
and the measured default configuration of each model kind."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields, replace

import numpy as np

from collab_core.errors import ConfigError
from collab_core.model.kinds import MODEL_KINDS, RANKABLE, TRAINABLE, ModelKind, kind_named

OPTIMIZERS = ("adamw", "lazy_adamw", "adam", "sgd")
DECOUPLED_DECAY = ("adamw", "lazy_adamw")  # optimizers whose weight decay shrinks the weights directly
# 'rating': mean squared error on the rating values (the lesson's). 'ranking': which items a user rated, by a full
# softmax over all items per user (collab_core.model.ranking; docs/decisions.md says why this loss).
OBJECTIVES = ("rating", "ranking")


_MLP_KINDS = tuple(kind.name for kind in TRAINABLE if kind.mlp)  # the settings of the MLP's layers


@dataclass(frozen=True)
class Bounds:
    """What a setting accepts, in one place: validate() checks it and the Train page draws its widget from it.

    kind: 'whole' or 'real' (numbers from low to high; `open_low`/`open_high` exclude an end), 'choice' (one of
    `choices`), 'flag' (True/False), or 'special' (checked by TrainConfig.validate itself)."""

    kind: str
    label: str  # what the Train page calls it
    low: float | None = None
    high: float | None = None
    open_low: bool = False
    open_high: bool = False
    choices: tuple = ()
    optional: bool = False  # None is allowed too
    models: tuple[str, ...] = MODEL_KINDS  # the model kinds it applies to
    help: str = ""

    def check(self, name: str, value) -> None:
        if value is None and self.optional:
            return
        if self.kind == "choice" and value not in self.choices:
            raise ConfigError(f"{name} must be one of {', '.join(map(str, self.choices))}, got {value!r}")
        if self.kind == "flag" and not isinstance(value, bool):
            raise ConfigError(f"{name} must be true or false, got {value!r}")
        if self.kind == "whole" and not (_is_int(value) and self.low <= value <= self.high):
            or_none = " or None" if self.optional else ""
            raise ConfigError(f"{name} must be a whole number from {_number(self.low)} to "
                              f"{_number(self.high)}{or_none}, got {value!r}")
        if self.kind == "real" and not (_is_finite(value) and self._inside(value)):
            interval = (f"{'(' if self.open_low else '['}{_number(self.low)}, {_number(self.high)}"
                        f"{')' if self.open_high else ']'}")
            raise ConfigError(f"{name} must be a number in {interval}, got {value!r}")

    def _inside(self, value) -> bool:
        above = value > self.low if self.open_low else value >= self.low
        below = value < self.high if self.open_high else value <= self.high
        return above and below


def _setting(default, bounds: Bounds):
    return field(default=default, metadata={"bounds": bounds})


@dataclass(frozen=True)
class TrainConfig:
    """Every hyperparameter of a training run. `validate()` explains what is wrong with a bad one; each field's
    Bounds (its metadata) say what it accepts and how the Train page shows it."""

    model: str = _setting("dot_bias", Bounds(
        "choice", "Model", choices=MODEL_KINDS,
        help="'dot' (factors only), 'dot_bias' (fastai's EmbeddingDotBias) or 'nn' (EmbeddingNN)"))
    objective: str = _setting("rating", Bounds(
        "choice", "Objective", choices=OBJECTIVES, models=RANKABLE,
        help="'rating': predict the rating values (mean squared error). 'ranking': learn which items each user "
             "rated, a softmax over all items per user, for recommending; its scores are not ratings, so it has "
             "no validation RMSE (nDCG@10 instead), and its batch size counts users."))
    n_factors: int = _setting(50, Bounds(
        "whole", "Factors (embedding width)", 1, 4096, help="Embedding width; for the MLP, the user embedding's."))
    y_range: tuple[float, float] = _setting((0.0, 5.5), Bounds(
        "special", "y_range", models=tuple(kind.name for kind in TRAINABLE if kind.bounded),
        help="Sigmoid output range, a little wider than the ratings: a sigmoid only reaches its ends at infinity. "
             "Not used by the ranking objective."))
    epochs: int = _setting(6, Bounds("whole", "Epochs", 1, 10_000, help="Passes over the training ratings."))
    lr: float = _setting(8e-3, Bounds(
        "real", "Learning rate (peak)", 0, 10, open_low=True, help="Peak of the one-cycle schedule when it is on."))
    batch_size: int = _setting(256, Bounds(
        "whole", "Batch size", 1, 1 << 24,
        help="Ratings per optimiser step; for the ranking objective, users per step (each with all their items)."))
    weight_decay: float = _setting(0.35, Bounds(
        "real", "Weight decay (factors)", 0, 100,
        help="Decoupled weight decay on the embedding factors (fastai's wd)."))
    bias_weight_decay: float = _setting(0.01, Bounds(
        "real", "Weight decay (biases, layers)", 0, 100, help="Weight decay on the biases and the MLP layers."))
    optimizer: str = _setting("adamw", Bounds(
        "choice", "Optimiser", choices=OPTIMIZERS,
        help="'lazy_adamw' is AdamW updating only the table rows a batch touches (fast on large data); "
             "'adam' puts an L2 penalty in the gradient; 'sgd' has momentum 0.9."))
    one_cycle: bool = _setting(True, Bounds(
        "flag", "One-cycle schedule", help="Warm up to lr, then anneal (fastai's fit_one_cycle); else a constant lr."))
    pct_start: float = _setting(0.25, Bounds(
        "real", "Warm-up fraction", 0, 1, open_low=True, open_high=True, help="Fraction of steps spent warming up."))
    seed: int | None = _setting(42, Bounds(
        "whole", "Seed", 0, 2**63 - 1, optional=True, help="Seeds init and shuffling; None for a fresh random run."))
    device: str = _setting("auto", Bounds(
        "special", "Device", help="'auto' (CUDA when available), 'cpu', 'cuda' or 'cuda:N'."))
    nn_layers: tuple[int, ...] = _setting((100,), Bounds(
        "special", "Hidden layers (comma-separated widths)", 1, 65536, models=_MLP_KINDS,
        help="Hidden layer widths of EmbeddingNN."))
    nn_dropout: float = _setting(0.1, Bounds(
        "real", "Dropout", 0, 1, open_high=True, models=_MLP_KINDS, help="Dropout after each hidden layer."))
    nn_item_factors: int | None = _setting(None, Bounds(
        "whole", "Item embedding width", 1, 4096, optional=True, models=_MLP_KINDS,
        help="Item embedding width of EmbeddingNN (None: the same as the factors)."))

    def validate(self) -> TrainConfig:
        """Return self, or raise ConfigError naming the field, its value and what it accepts."""
        for spec in fields(self):
            bounds: Bounds = spec.metadata["bounds"]
            if bounds.kind != "special":
                bounds.check(spec.name, getattr(self, spec.name))
        y_range = self.y_range
        if not (isinstance(y_range, (tuple, list)) and len(y_range) == 2 and all(_is_finite(v) for v in y_range)):
            raise ConfigError(f"y_range must be two finite numbers (low, high), got {y_range!r}")
        if y_range[0] >= y_range[1]:
            raise ConfigError(f"y_range low must be below high, got {tuple(y_range)!r}")
        if self.objective == "ranking" and self.model not in RANKABLE:
            raise ConfigError(f"the ranking objective trains {' and '.join(RANKABLE)} (a user and an item vector "
                              f"scored by a dot product), not {self.model!r}")
        if not (isinstance(self.device, str) and (self.device in ("auto", "cpu", "cuda") or (
                self.device.startswith("cuda:") and self.device[5:].isdigit()))):
            raise ConfigError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {self.device!r}")
        width = bounds_of("nn_layers")
        if not (isinstance(self.nn_layers, (tuple, list)) and len(self.nn_layers) >= 1
                and all(_is_int(w) and width.low <= w <= width.high for w in self.nn_layers)):
            raise ConfigError(f"nn_layers must be one or more widths from {_number(width.low)} to "
                              f"{_number(width.high)}, got {self.nn_layers!r}")
        return self

    @property
    def kind(self) -> ModelKind:
        """The model kind this config trains (collab_core.model.kinds), as its objective trains it."""
        return kind_named(self.model).for_objective(self.objective)

    @property
    def sparse_rows(self) -> bool:
        """Whether the embedding tables get sparse (row) gradients: only for LazyAdamW, which uses them."""
        return self.optimizer == "lazy_adamw"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        """Inverse of to_dict; unknown keys are refused so a typo never passes silently."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown training setting(s): {', '.join(unknown)}")
        values = dict(values)
        for key in ("y_range", "nn_layers"):
            if key in values and values[key] is not None:
                values[key] = tuple(values[key])
        return cls(**values)


# Defaults per model kind for MovieLens-100K-sized data, chosen by sweeps over three split seeds of MovieLens
# 100K (see docs/performance.md, "How the defaults were chosen"); `python -m collab_core bench` re-measures them.
# Batch 512 (was 256): half the steps, and with weight decay 0.5 (was 0.35) a lower RMSE (0.8850 vs 0.8865
# on split seed 42, mean of three seeds 0.8896 vs 0.8904).
MODEL_DEFAULTS: dict[str, dict] = {
    "dot_bias": {"batch_size": 512, "weight_decay": 0.5},
    # lr 1.5e-2 at batch 512 (was 5e-3 at 256): RMSE 0.9048 vs 0.9397 on seed 42 (means 0.9099 vs 0.9470)
    "dot": {"lr": 1.5e-2, "weight_decay": 0.1, "batch_size": 512},
    # The MLP overfits through its embeddings: strong decay there (2.5: 0.9035 on seed 42, mean 0.9095; 2.0
    # gave 0.9052, mean 0.9104), weak on the layers, no dropout (0.1 measured slightly worse), larger batches
    # to keep 10 epochs fast.
    "nn": {"n_factors": 64, "nn_item_factors": 64, "nn_layers": (128,), "nn_dropout": 0.0, "lr": 1e-2,
           "weight_decay": 2.5, "bias_weight_decay": 0.1, "batch_size": 1024, "epochs": 10},
}


# The ranking objective's defaults, the same for 'dot_bias' and 'dot': measured on MovieLens 100K under the per-user
# 75/25 split (docs/decisions.md, "Why the ranking objective is a full softmax"): nDCG@10 0.487 (init seeds 1 and
# 2: 0.487, 0.492). A step takes 64 users with all their items (128: 0.478); decoupled decay 1.0 on the factors
# (0.5: 0.440, 0.7: 0.469, 1.5: 0.476, 2.0: 0.450, 4.0: 0.369); 40 epochs (60: 0.477); lr 1e-2 (5e-3: 0.455);
# 64 factors (128: 0.460). Not tiered by size: only MovieLens 100K was measured.
RANKING_DEFAULTS: dict = {"objective": "ranking", "n_factors": 64, "lr": 1e-2, "weight_decay": 1.0,
                          "bias_weight_decay": 0.01, "batch_size": 64, "epochs": 40}


def default_config(model: str = "dot_bias", objective: str = "rating", **overrides) -> TrainConfig:
    """The measured default configuration for `model` (MovieLens-100K-sized data) trained by `objective`, with
    `overrides` on top."""
    kind_named(model)  # ConfigError naming the kinds, for an unknown one
    base = RANKING_DEFAULTS if objective == "ranking" else {**MODEL_DEFAULTS[model], "objective": objective}
    return TrainConfig(model=model, **{**base, **overrides})


def bounds_of(name: str) -> Bounds:
    """The Bounds of TrainConfig field `name`."""
    return next(f.metadata["bounds"] for f in fields(TrainConfig) if f.name == name)


def parse_layers(text: str) -> tuple[int, ...]:
    """'128, 64' -> (128, 64): the hidden layer widths of EmbeddingNN as a person types them."""
    try:
        return tuple(int(w) for w in str(text).split(",") if w.strip())
    except ValueError:
        raise ConfigError(f"hidden layers must be comma-separated whole numbers, e.g. 128,64; got {text!r}") from None


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


# Defaults by data size at the large end, measured on the ML-25M-like synthetic set (docs/scaling.md has the runs
# and commands). Up to LARGE_DATA_RATINGS (MovieLens 100K and 1M: 1,000,209 ratings, 9,746 embedding rows) the
# MovieLens-100K defaults hold; above it, bigger batches and a larger lr, 3 epochs. Each tier: (more ratings than,
# settings).
LARGE_DATA_RATINGS = 2_000_000
SIZE_TIERS: tuple[tuple[int, dict], ...] = (
    # 2.5M ratings: RMSE 0.4889 in 3 epochs, against 0.4998 at batch 65,536
    (LARGE_DATA_RATINGS, {"optimizer": "adamw", "batch_size": 16384, "lr": 0.05, "epochs": 3}),
    # 25M ratings: 1.15M ratings/s and RMSE 0.5013, against 0.77M/s and 0.5181 at batch 16,384 (LazyAdamW)
    (10_000_000, {"optimizer": "adamw", "batch_size": 65536, "lr": 0.16, "epochs": 3}),
)


@dataclass(frozen=True)
class SmallDataTier:
    """Defaults for data of up to `up_to` ratings, per model kind (on top of MODEL_DEFAULTS), and the samples of
    MovieLens 100K they were measured on, in words the Train page shows."""

    up_to: int
    measured_on: str
    settings: dict[str, dict]


# Defaults by data size at the small end, measured on samples of MovieLens 100K shaped like small uploads: a
# block of active users and often-rated movies (docs/performance.md, "Small data", has the figures;
# `python -m collab_core bench --small-data` re-measures them). The MovieLens-100K defaults take one batch of
# 512 per epoch on 560 ratings, 6 steps in all, and end far above both baselines (RMSE 1.51 against a bias
# baseline of 0.90); small data needs small batches, and fewer factors or stronger decay. Each tier ends between
# a size where it measured better than the next tier and one where the next measured better (dot_bias: 1,000
# and 2,000 ratings, 10,000 and 20,000, 20,000 and 40,000, where the two were level).
SMALL_DATA_TIERS: tuple[SmallDataTier, ...] = (
    SmallDataTier(1_500, "about 500 ratings (40 users x 30 movies)", {
        "dot_bias": {"n_factors": 4, "weight_decay": 5.0, "batch_size": 16, "epochs": 10, "lr": 0.02},
        # batch 32 measured 0.006 better, but beside a cliff: half its steps (or lr) and RMSE is above 2
        "dot": {"n_factors": 16, "weight_decay": 0.01, "batch_size": 16, "epochs": 10, "lr": 0.01},
        "nn": {"weight_decay": 20.0, "batch_size": 16, "epochs": 10, "lr": 0.02},
    }),
    SmallDataTier(15_000, "about 5,000 ratings (150 users x 100 movies)", {
        "dot_bias": {"n_factors": 16, "weight_decay": 1.5, "batch_size": 128, "epochs": 12, "lr": 0.02},
        "dot": {"n_factors": 16, "weight_decay": 0.01, "batch_size": 128, "epochs": 12, "lr": 0.01},
        "nn": {"weight_decay": 5.0, "batch_size": 64, "epochs": 24, "lr": 0.02},
    }),
    SmallDataTier(30_000, "about 20,000 ratings (450 users x 320 movies)", {
        "dot_bias": {"weight_decay": 1.0, "batch_size": 256, "lr": 0.016},
        "dot": {"batch_size": 256},
        "nn": {"batch_size": 256},
    }),
)


@dataclass(frozen=True)
class SizedDefaults:
    """The defaults chosen for a dataset's size, and one line saying which and why (shown by the CLI and app)."""

    config: TrainConfig
    reason: str


def small_data_tier(n_ratings: int) -> SmallDataTier | None:
    """The small-data tier for this many ratings, or None when there are more than the last one covers."""
    return next((tier for tier in SMALL_DATA_TIERS if n_ratings <= tier.up_to), None)


def size_defaults(model: str, n_ratings: int, objective: str = "rating") -> TrainConfig:
    """The measured default configuration for `model` on data of `n_ratings` ratings (the ranking objective's
    are MovieLens 100K's at every size: nothing else was measured)."""
    if objective == "ranking":
        return default_config(model, objective)
    small = small_data_tier(n_ratings)
    if small is not None:
        return default_config(model, **small.settings.get(model, {}))
    large = [settings for above, settings in SIZE_TIERS if n_ratings > above]
    return default_config(model, **(large[-1] if large else {}))


def defaults_for(model: str = "dot_bias", *, n_ratings: int, n_users: int, n_items: int,
                 **overrides) -> SizedDefaults:
    """The default configuration for `model` on data of this size, with `overrides` on top, and why. The
    reason describes the defaults (what was measured), then names what `overrides` changed. An `objective`
    among the overrides picks that objective's defaults first."""
    base = size_defaults(model, n_ratings, overrides.get("objective", "rating"))
    reason = _defaults_reason(base, n_ratings, n_users + n_items)
    config = replace(base, **overrides)  # what a person gives is taken as given, on the Train page as in the CLI
    if overrides:
        reason += f" (given: {', '.join(f'{k}={v}' for k, v in sorted(overrides.items()))})"
    return SizedDefaults(config, reason)


def _defaults_reason(base: TrainConfig, n_ratings: int, rows: int) -> str:
    """Why `base` are the defaults for data of `n_ratings` ratings and `rows` embedding rows."""
    small = small_data_tier(n_ratings)
    large = [above for above, _ in SIZE_TIERS if n_ratings > above]
    settings = f"{base.optimizer}, batch {base.batch_size}, lr {base.lr:g}, {base.epochs} epochs"
    if base.objective == "ranking":
        return (f"ranking objective: {base.n_factors} factors, {base.batch_size} users per step, weight decay "
                f"{base.weight_decay:g}, lr {base.lr:g}, {base.epochs} epochs, the settings measured best for "
                f"nDCG@10 on MovieLens 100K (not measured at other sizes)")
    if small is not None:
        return (f"{n_ratings:,} ratings (up to {small.up_to:,}): {base.n_factors} factors, weight decay "
                f"{base.weight_decay:g}, batch {base.batch_size}, {base.epochs} epochs, learning rate "
                f"{base.lr:g}, the settings that did best on samples of {small.measured_on} from MovieLens "
                f"100K. On so few ratings, small batches give the model enough steps to learn, and few or "
                f"strongly held-back factors keep it from learning the training ratings by heart")
    if large:
        return (f"{n_ratings:,} ratings (over {large[-1]:,}): {settings}; a big batch spreads the cost of "
                f"updating all {rows:,} embedding rows over many ratings. For a batch of 4,096 or less choose "
                f"lazy_adamw: it updates only the rows a batch touches, 2-5x faster per step (docs/scaling.md)")
    return (f"{n_ratings:,} ratings (over {SMALL_DATA_TIERS[-1].up_to:,}, up to {LARGE_DATA_RATINGS:,}): "
            f"{settings}, the settings measured best on MovieLens 100K; its {rows:,} embedding rows are few "
            f"enough to update all of them every step")


def defaults_for_data(ratings, model: str = "dot_bias", **overrides) -> SizedDefaults:
    """defaults_for() for a dataset (anything with n_ratings, n_users and n_items, e.g. a Ratings)."""
    return defaults_for(model, n_ratings=ratings.n_ratings, n_users=ratings.n_users, n_items=ratings.n_items,
                        **overrides)


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _is_finite(value) -> bool:
    is_number = isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool)
    return is_number and math.isfinite(value)
