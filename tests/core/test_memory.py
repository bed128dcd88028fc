"""The memory estimate counts the parameters exactly and refuses a training that cannot fit, naming the setting."""
import pytest
import torch

from collab_core.errors import ConfigError
from collab_core.model.config import default_config
from collab_core.model.memory import check_fits, estimate


@pytest.mark.parametrize("model", ["dot", "dot_bias", "nn"])
def test_parameters_are_counted_exactly(model):
    config = default_config(model)
    real = sum(p.numel() for p in config.kind.build(config, 300, 200).parameters()) * 4
    need = estimate(config, 300, 200, 10_000)
    assert need.parameters == real and need.gradients == real and need.optimizer == 2 * real
    assert need.total > 4 * real


@pytest.mark.parametrize("overrides, advice", [
    ({"model": "nn", "nn_layers": (65536, 65536)}, "lower the hidden layer widths (nn_layers 65536, 65536)"),
    ({"model": "dot_bias", "n_factors": 4096}, "lower the number of factors (4096)"),
    ({"model": "dot_bias", "n_factors": 8, "batch_size": 1 << 24}, "lower the batch size (16,777,216)"),
])
def test_a_training_that_does_not_fit_names_what_to_lower(overrides, advice):
    config = default_config(overrides.pop("model"), **overrides)
    with pytest.raises(ConfigError, match="this training needs about .* but the CPU has 1.0 GB available") as caught:
        check_fits(config, 100_000, 50_000, 1_000_000, torch.device("cpu"), available=10**9)
    assert advice in str(caught.value)


def test_the_default_training_fits_in_a_small_machine():
    check_fits(default_config(), 943, 1682, 100_000, torch.device("cpu"), available=512 * 10**6)
