"""Whether a run beat the baselines scored on its own validation ratings, in plain words, and what to try when it
did not. `baseline_verdict(metrics, config)` is the one rule; the CLI (`train`, `runs`), the Train page's run
history and the training-finished notice all show what it returns.

The two baselines (collab_core.model.baselines) need no training: the global mean (the training ratings' average,
predicted for everything) and user + item biases (each user's and each item's offset from it, no factors). A run
worse than the bias baseline has learned nothing from its factors that holds on ratings it has not seen.

What to try comes from measurement (docs/performance.md, "Small data"): on small uploads the usual cause is
settings made for bigger data (too few optimiser steps; too many factors held back too little), so the advice
names the settings measured for data of the run's size and how the run's own differ from them.

A run trained for ranking (TrainConfig.objective 'ranking') has no RMSE; its baseline is recommending the most
popular items, scored by the same nDCG@10, and the advice names the ranking objective's measured settings: the
rating objective's (a batch of 512, 6 epochs), kept when only the objective is switched, rank worse than popularity
(nDCG@10 0.176 against 0.256 on MovieLens 100K).
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

# Below this many optimiser steps in a whole training, the model has barely moved from where it started (the
# default settings on 560 ratings took 6 steps and ended far above both baselines; docs/performance.md).
FEW_STEPS = 100
# The settings the advice compares, in the order it names them, with the words it uses for them.
COMPARED = (("n_factors", "factors"), ("weight_decay", "weight decay"), ("batch_size", "batch"),
            ("epochs", "epochs"), ("lr", "learning rate"))
# What a table column of verdicts means, for its header's tooltip.
VERDICT_HELP = ("Whether the run predicts its validation ratings worse than a baseline scored on the same ratings: "
                "user and item biases alone (no factors), or the training ratings' average for everything. Blank "
                "when it beats both.")


@dataclass(frozen=True)
class Verdict:
    """A run's standing against its baselines, when it is worse than one of them."""

    short: str  # a few words for a table cell, e.g. 'worse than bias baseline'
    message: str  # plain sentences: by how much, what it means, what to try (plain text: escape it for its sink)
    worse_than_bias: bool
    worse_than_mean: bool


def baseline_verdict(metrics: Mapping | None, config=None) -> Verdict | None:
    """What to say about a run whose validation RMSE is worse than its bias baseline or its global-mean baseline;
    None when it beats both, or when there is nothing to compare (no RMSE, no baselines: an imported run).

    `metrics`: a run's metrics (rmse, baseline_bias_rmse, baseline_global_mean_rmse, and n_train / n_valid for the
    data's size). `config`: its TrainConfig or that as a dict, optional; with it the advice names the settings
    measured for data of this size where the run's differ."""
    metrics = metrics or {}
    # a ranking run is judged by its lists; a rating run records nDCG@10 too (for the history) but by RMSE
    if metrics.get("objective") == "ranking" or (_as_dict(config) or {}).get("objective") == "ranking":
        return _ranking_verdict(metrics, _as_dict(config))
    rmse, bias, mean = (_number(metrics.get(key)) for key in (
        "rmse", "baseline_bias_rmse", "baseline_global_mean_rmse"))
    if rmse is None:
        return None
    worse_bias = bias is not None and rmse > bias
    worse_mean = mean is not None and rmse > mean
    if not (worse_bias or worse_mean):
        return None
    short = ("worse than both baselines" if worse_bias and worse_mean
             else "worse than bias baseline" if worse_bias else "worse than mean baseline")
    lost_to = [f"user and item biases alone ({bias:.4f})"] if worse_bias else []
    lost_to += [f"the training ratings' average for everything ({mean:.4f})"] if worse_mean else []
    what = ("nothing it learned holds on ratings it has not seen" if worse_mean
            else "its factors add nothing that holds on ratings it has not seen")
    message = (f"Validation RMSE {rmse:.4f} is worse than predicting with {' or with '.join(lost_to)}, scored on "
               f"the same validation ratings: {what}. {_advice(metrics, _as_dict(config))}")
    return Verdict(short, message, worse_bias, worse_mean)


def _ranking_verdict(metrics: Mapping, config: dict | None) -> Verdict | None:
    """What to say about a ranking run whose nDCG@10 is below recommending the most popular items; None otherwise."""
    from collab_core.model.config import RANKING_DEFAULTS  # imported here: config imports torch

    ndcg, popular = _number(metrics.get("ndcg10")), _number(metrics.get("baseline_popular_ndcg10"))
    if popular is None or ndcg >= popular:
        return None
    changes = [f"{words} {_show(RANKING_DEFAULTS[key])} (this run: {_show(config.get(key))})"
               for key, words in COMPARED if config and config.get(key) is not None
               and config.get(key) != RANKING_DEFAULTS[key]]
    advice = (f"Try the settings measured best for ranking on MovieLens 100K: {', '.join(changes)} (a batch counts "
              f"users here)." if changes else "More epochs, or less weight decay, let the factors learn more.")
    message = (f"Validation nDCG@10 {ndcg:.4f} is worse than recommending the most popular items ({popular:.4f}), "
               f"scored on the same validation ratings: its factors add nothing that holds on items it has not "
               f"seen. {advice}")
    return Verdict("worse than most popular", message, False, False)


def _advice(metrics: Mapping, config: dict | None) -> str:
    """What to try, most telling first: the model kind, too few steps, then the settings measured for this size."""
    # imported here: config imports torch, which a verdict on a listed run (`runs`) does not otherwise need
    from collab_core.model.config import MODEL_DEFAULTS, SMALL_DATA_TIERS, size_defaults
    from collab_core.model.kinds import kind_named

    n_train, n_valid = (_number(metrics.get(key)) for key in ("n_train", "n_valid"))
    n_ratings = int(n_train + n_valid) if n_train is not None and n_valid is not None else None
    model = config.get("model") if config else None
    if model not in MODEL_DEFAULTS or n_ratings is None:
        return ("Try fewer factors with more weight decay, a smaller batch or more epochs; on a few thousand "
                "ratings or fewer, the user and item biases may be all the data can teach.")
    tips, kind = [], kind_named(model)
    if not kind.learns_averages:
        tips.append("EmbeddingDot has no biases, so its factors must also learn each user's and each item's "
                    "average: try EmbeddingDotBias (dot_bias)")
    steps = _steps(n_train, config)
    if steps is not None and steps < FEW_STEPS:
        tips.append(f"it took only {steps} optimiser steps in all: a smaller batch or more epochs give it time "
                    f"to learn")
    measured = size_defaults(model, n_ratings)
    changes = [f"{words} {_show(getattr(measured, key))} (this run: {_show(config.get(key))})"
               for key, words in COMPARED if config.get(key) is not None and config.get(key) != getattr(measured, key)]
    if changes:
        tips.append(f"the settings measured best for {n_ratings:,} ratings are {', '.join(changes)}")
    elif kind.learns_averages and n_ratings <= SMALL_DATA_TIERS[0].up_to:
        tips.append(f"these are already the settings measured best for {n_ratings:,} ratings, and on so few the "
                    f"user and item biases may be all the data can teach (on samples of about 500 ratings of "
                    f"MovieLens 100K the best settings found beat the bias baseline only narrowly, and not in every "
                    f"sample): more ratings per user and per item let the factors add something")
    elif kind.learns_averages:
        tips.append("fewer factors or more weight decay if the training loss fell far below the validation loss "
                    "(the model learned the training ratings by heart); more epochs if both stayed high")
    return "Try this: " + "; ".join(tips) + "."


def _steps(n_train, config: dict) -> int | None:
    batch, epochs = config.get("batch_size"), config.get("epochs")
    if n_train is None or not batch or not epochs:
        return None
    return math.ceil(n_train / batch) * int(epochs)


def _as_dict(config) -> dict | None:
    if config is None or isinstance(config, Mapping):
        return dict(config) if config else None
    return config.to_dict()


def _number(value) -> float | None:
    """A finite number from a metrics value, else None (missing, null in JSON, NaN)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _show(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
