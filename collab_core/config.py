"""TrainConfig: every hyperparameter of a training run, validated with messages that say what to fix,
and the measured default configuration of each model kind."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import numpy as np

from .errors import ConfigError
from .models import MODEL_KINDS

OPTIMIZERS = ("adamw", "lazy_adamw", "adam", "sgd")


@dataclass(frozen=True)
class TrainConfig:
    """Every hyperparameter of a training run. `validate()` explains what is wrong with a bad one."""

    model: str = "dot_bias"  # 'dot' (factors only), 'dot_bias' (fastai EmbeddingDotBias) or 'nn' (EmbeddingNN)
    n_factors: int = 50  # embedding width (the user embedding width for 'nn')
    y_range: tuple[float, float] = (0.0, 5.5)  # sigmoid output range, a little wider than the ratings
    epochs: int = 6  # passes over the training ratings
    lr: float = 8e-3  # peak learning rate (of the one-cycle schedule when one_cycle)
    batch_size: int = 256  # ratings per optimiser step
    weight_decay: float = 0.35  # decoupled weight decay on the embedding factors (fastai's wd)
    bias_weight_decay: float = 0.01  # weight decay on the biases and the MLP layers
    # 'adamw', 'lazy_adamw' (AdamW that updates only the table rows a batch touches, optim.py), 'adam' (L2
    # penalty in the gradient) or 'sgd' (momentum 0.9)
    optimizer: str = "adamw"
    one_cycle: bool = True  # one-cycle schedule: warm up to lr, then anneal (fit_one_cycle); else constant lr
    pct_start: float = 0.25  # fraction of steps spent warming up
    seed: int | None = 42  # seeds init and shuffling; None for a fresh random run
    device: str = "auto"  # 'auto' (CUDA when available), 'cpu', 'cuda' or 'cuda:N'
    nn_layers: tuple[int, ...] = (100,)  # hidden layer widths of EmbeddingNN
    nn_dropout: float = 0.1  # dropout after each hidden layer of EmbeddingNN
    nn_item_factors: int | None = None  # item embedding width of EmbeddingNN (None: n_factors)

    def validate(self) -> "TrainConfig":
        """Return self, or raise ConfigError naming the field, its value and the allowed range."""
        def need(ok: bool, message: str):
            if not ok:
                raise ConfigError(message)

        need(self.model in MODEL_KINDS, f"model must be one of {', '.join(MODEL_KINDS)}, got {self.model!r}")
        need(_is_int(self.n_factors) and 1 <= self.n_factors <= 4096,
             f"n_factors must be a whole number from 1 to 4096, got {self.n_factors!r}")
        need(len(self.y_range) == 2 and all(_is_finite(v) for v in self.y_range),
             f"y_range must be two finite numbers (low, high), got {self.y_range!r}")
        need(self.y_range[0] < self.y_range[1], f"y_range low must be below high, got {tuple(self.y_range)!r}")
        need(_is_int(self.epochs) and 1 <= self.epochs <= 10_000,
             f"epochs must be a whole number from 1 to 10000, got {self.epochs!r}")
        need(_is_finite(self.lr) and 0 < self.lr <= 10, f"lr must be a number in (0, 10], got {self.lr!r}")
        need(_is_int(self.batch_size) and 1 <= self.batch_size <= 1 << 24,
             f"batch_size must be a whole number from 1 to 16777216, got {self.batch_size!r}")
        for name in ("weight_decay", "bias_weight_decay"):
            value = getattr(self, name)
            need(_is_finite(value) and 0 <= value <= 100, f"{name} must be a number in [0, 100], got {value!r}")
        need(self.optimizer in OPTIMIZERS, f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}")
        need(_is_finite(self.pct_start) and 0 < self.pct_start < 1,
             f"pct_start must be between 0 and 1 (exclusive), got {self.pct_start!r}")
        need(self.seed is None or (_is_int(self.seed) and 0 <= self.seed < 2**63),
             f"seed must be a non-negative whole number or None, got {self.seed!r}")
        need(isinstance(self.device, str) and (self.device in ("auto", "cpu", "cuda") or (
            self.device.startswith("cuda:") and self.device[5:].isdigit())),
            f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {self.device!r}")
        need(len(self.nn_layers) >= 1 and all(_is_int(w) and 1 <= w <= 65536 for w in self.nn_layers),
             f"nn_layers must be one or more widths from 1 to 65536, got {self.nn_layers!r}")
        need(_is_finite(self.nn_dropout) and 0 <= self.nn_dropout < 1,
             f"nn_dropout must be in [0, 1), got {self.nn_dropout!r}")
        need(self.nn_item_factors is None or (_is_int(self.nn_item_factors) and 1 <= self.nn_item_factors <= 4096),
             f"nn_item_factors must be a whole number from 1 to 4096 or None, got {self.nn_item_factors!r}")
        return self

    @property
    def sparse_rows(self) -> bool:
        """Whether the embedding tables get sparse (row) gradients: only for LazyAdamW, which uses them."""
        return self.optimizer == "lazy_adamw"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
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
# 100K (see README, "How the defaults were chosen"); `python -m collab_core bench` re-measures them.
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


def default_config(model: str = "dot_bias", **overrides) -> TrainConfig:
    """The measured default configuration for `model` (MovieLens-100K-sized data), with `overrides` on top."""
    if model not in MODEL_DEFAULTS:
        raise ConfigError(f"model must be one of {', '.join(MODEL_KINDS)}, got {model!r}")
    return TrainConfig(model=model, **{**MODEL_DEFAULTS[model], **overrides})


# Above this many ratings, the large-data settings below replace MODEL_DEFAULTS.
LARGE_DATA_RATINGS = 1_000_000
# For large data: LazyAdamW (its step costs the rows a batch touches, not the whole tables), big batches
# with a larger lr, fewer epochs. Measured on the ML-25M-like synthetic set (see docs/scaling.md).
LARGE_DATA_SETTINGS: dict = {"optimizer": "lazy_adamw", "batch_size": 16384, "lr": 0.05, "epochs": 3}


@dataclass(frozen=True)
class SizedDefaults:
    """The defaults chosen for a dataset's size, and one line saying which and why (shown by the CLI and app)."""

    config: TrainConfig
    reason: str


def defaults_for(model: str = "dot_bias", *, n_ratings: int, n_users: int, n_items: int,
                 **overrides) -> SizedDefaults:
    """The default configuration for `model` on data of this size, with `overrides` on top, and why."""
    rows = n_users + n_items
    if n_ratings <= LARGE_DATA_RATINGS:
        config = default_config(model, **overrides)
        reason = (f"{n_ratings:,} ratings (MovieLens-100K-sized, <= {LARGE_DATA_RATINGS:,}): batch "
                  f"{config.batch_size}, {config.optimizer}, lr {config.lr:g}, {config.epochs} epochs: the best "
                  f"RMSE measured on MovieLens 100K; its {rows:,} embedding rows are few, so a dense step is cheap")
    else:
        config = default_config(model, **{**LARGE_DATA_SETTINGS, **overrides})
        reason = (f"{n_ratings:,} ratings (> {LARGE_DATA_RATINGS:,}): batch {config.batch_size}, lr {config.lr:g}, "
                  f"{config.epochs} epochs, {config.optimizer}: a step updates only the rows it touches, not all "
                  f"{rows:,} embedding rows; measured ~2x a dense AdamW's throughput at the same RMSE")
    if overrides:
        reason += f" (given: {', '.join(f'{k}={v}' for k, v in sorted(overrides.items()))})"
    return SizedDefaults(config, reason)


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _is_finite(value) -> bool:
    return isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool) and math.isfinite(value)
