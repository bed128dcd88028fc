"""The lesson preset as data, and `train --preset` with explicit flags on top."""
import pytest

from collab_core.cli.main import _config_from_args, _valid_frac, build_parser
from collab_core.errors import ConfigError
from collab_core.model.presets import LESSON_VALID_MSE, get_preset


def test_the_lesson_preset():
    preset = get_preset("lesson")
    config = preset.config.validate()
    assert (config.model, config.n_factors, config.y_range, config.weight_decay, config.bias_weight_decay,
            config.epochs, config.lr, config.one_cycle, config.batch_size) == (
        "dot_bias", 40, (0.0, 5.5), 0.1, 0.1, 5, 5e-3, True, 64)
    assert preset.reported_valid_mse == LESSON_VALID_MSE == 0.813 and preset.valid_frac == 0.2
    with pytest.raises(ConfigError, match="unknown preset 'lessons'; known presets: lesson"):
        get_preset("lessons")


@pytest.mark.parametrize("flags, expected", [
    ([], {"n_factors": 40, "epochs": 5, "batch_size": 64, "model": "dot_bias", "valid_frac": 0.2}),
    (["--epochs", "2", "--valid-frac", "0.1", "--factors", "8"],
     {"n_factors": 8, "epochs": 2, "batch_size": 64, "valid_frac": 0.1}),
])
def test_train_preset_flags_override_it(flags, expected):
    args = build_parser().parse_args(["train", "--preset", "lesson", *flags])
    config = _config_from_args(args)
    assert {k: getattr(config, k, None) if k != "valid_frac" else _valid_frac(args) for k in expected} == expected


def test_without_a_preset_the_defaults_are_unchanged():
    args = build_parser().parse_args(["train"])
    config = _config_from_args(args)
    assert config.model == "dot_bias" and config.n_factors == 50 and _valid_frac(args) == 0.1


def test_a_run_is_recognised_as_the_lessons_from_what_it_stores():
    from dataclasses import replace

    from collab_core.model.presets import LESSON, trained_with

    stored = replace(LESSON.config, device="cpu", seed=0).to_dict()  # as read back from run.json: lists, not tuples
    stored["y_range"] = list(stored["y_range"])
    split = {"n_train": 80_000, "n_valid": 20_000}
    builtin = "MovieLens 100K (built-in)"
    assert trained_with(stored, split, builtin) is LESSON
    assert trained_with(LESSON.config, split, builtin) is LESSON
    assert trained_with({**stored, "epochs": 6}, split, builtin) is None  # the form was changed after filling
    assert trained_with(stored, {"n_train": 90_000, "n_valid": 10_000}, builtin) is None  # the notebook's 10%
    assert trained_with(stored, split, "MovieLens ml-1m") is None  # 0.813 is for MovieLens 100K
    assert trained_with(stored, {}, builtin) is None
    assert trained_with({**stored, "nn_layers": [7]}, split, builtin) is LESSON  # a setting dot_bias does not use
