"""How a run reads to a person wherever runs are listed or announced: its label, and the figure a preset reported
for it (the fast.ai lesson's validation MSE)."""
from __future__ import annotations

from collab_core import presets
from collab_core.runs import RunInfo


def run_label(info: RunInfo) -> str:
    """How a run reads in a list: its name when it has one, the model and validation RMSE/MSE, the id."""
    if not info.ok:
        return f"{info.run_id} (unreadable)"
    metrics = info.metrics or {}
    score = f" · RMSE {metrics['rmse']:.4f}" if metrics.get("rmse") is not None else ""
    score += f" · MSE {metrics['mse']:.4f}" if metrics.get("mse") is not None else ""
    name = f"{info.name} · " if info.name else ""
    return f"{name}{info.model}{score} · {info.run_id}"


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
