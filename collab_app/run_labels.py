"""How a run reads to a person wherever runs are listed or announced: a short label that fits a selector at
projector size, a longer description for the caption beside it, and the figure a preset reported for it (the
fast.ai lesson's validation MSE)."""
from __future__ import annotations

import datetime as dt
from collections import Counter

from collab_core.model import presets
from collab_core.model.kinds import label_of
from collab_core.runs.store import RunInfo

LABEL_NAME = 24  # characters of a run's name in its label: with " · RMSE 0.951" it fits the sidebar at 1024 px


def model_name(kind: str) -> str:
    """A model kind as people know it ("EmbeddingDotBias" for dot_bias)."""
    return label_of(kind)


def run_label(info: RunInfo) -> str:
    """How a run reads where space is short (a selector in the sidebar, at projector size): its name when it has
    one, else its model, and its validation RMSE. `run_labels` makes the labels of a list tell runs apart."""
    if not info.ok:
        return f"{_short(info.name) or info.run_id} (unreadable)"
    metrics = info.metrics or {}
    ranking = (info.config or {}).get("objective") == "ranking"
    score = (f" · RMSE {metrics['rmse']:.3f}" if metrics.get("rmse") is not None else
             f" · nDCG@10 {metrics['ndcg10']:.3f}" if ranking and metrics.get("ndcg10") is not None else "")
    return (_short(info.name) or model_name(info.model) + (" (ranking)" if ranking else "")) + score


def _short(name: str, most: int = LABEL_NAME) -> str:
    """A run's name cut to fit a selector (its whole name shows in the caption beside it)."""
    return name if len(name) <= most else name[:most - 1].rstrip() + "…"


def run_labels(infos: list[RunInfo]) -> dict[str, str]:
    """run id -> label for a list of runs: `run_label`, with the time it was made where two labels are the same,
    and the id itself where even that is not enough."""
    labels = {info.run_id: run_label(info) for info in infos}
    for suffix_of in (_made_at, lambda info: info.run_id):  # what tells two runs apart, the friendlier first
        counts = Counter(labels.values())
        labels = {info.run_id: labels[info.run_id] + (f" · {suffix_of(info)}" if counts[labels[info.run_id]] > 1
                                                      else "") for info in infos}
    return labels


def run_description(info: RunInfo) -> str:
    """The rest of what identifies a run, for a caption under its label: scores and id (plain text)."""
    metrics = info.metrics or {}
    scores = [f"RMSE {metrics['rmse']:.4f}"] if metrics.get("rmse") is not None else []
    scores += [f"MSE {metrics['mse']:.4f}"] if metrics.get("mse") is not None else []
    return " · ".join([model_name(info.model or ""), *scores, f"run {info.run_id}"]).strip(" ·")


def _made_at(info: RunInfo) -> str:
    """'Dec 03 16:46' from an ISO time; the raw text when it is not one."""
    try:
        return dt.datetime.fromisoformat(info.created).strftime("%b %d %H:%M")
    except (TypeError, ValueError):
        return str(info.created)


def reported_by_preset(info: RunInfo | None) -> tuple[str, float] | None:
    """(preset name, the validation MSE it reported) when the run was trained with such a preset, else None."""
    preset = presets.trained_with(info.config, info.metrics, info.dataset) if info is not None and info.ok else None
    if preset is None or preset.reported_valid_mse is None:
        return None
    return preset.name, preset.reported_valid_mse


def preset_note(info: RunInfo | None) -> str:
    """' (the lesson reported 0.813)' after a run's MSE when it was trained with a preset that reported one."""
    reported = reported_by_preset(info)
    return f" (the {reported[0]} reported {reported[1]})" if reported else ""
