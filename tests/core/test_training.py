"""Training behaviour: recovery of planted structure, output range, reproducibility, progress, cancel,
divergence, baselines and the lr finder."""
import threading

import numpy as np
import pytest
import torch

from collab_core.data.ratings import random_split
from collab_core.errors import ConfigError, TrainingCancelled, TrainingDivergedError
from collab_core.model.config import TrainConfig, default_config
from collab_core.model.networks import EmbeddingDotBias, EmbeddingNN
from collab_core.model.training import fit, lr_find, one_cycle, resolve_device


def test_dot_bias_recovers_planted_structure_near_the_noise_floor(planted):
    ratings, truth = planted
    split = random_split(ratings, 0.1, 1)
    trained = fit(ratings, split, default_config(n_factors=8, epochs=8, weight_decay=0.1, batch_size=256))
    # The noise std is the best any model can do; the bias-only baseline cannot see the factors.
    assert trained.metrics["rmse"] < truth.noise + 0.08
    assert trained.metrics["rmse"] < trained.metrics["baseline_bias_rmse"] - 0.1
    assert trained.metrics["baseline_bias_rmse"] < trained.metrics["baseline_global_mean_rmse"]
    assert trained.metrics["mse"] == pytest.approx(trained.metrics["rmse"] ** 2)


@pytest.mark.parametrize("kind", ["dot_bias", "nn"])
def test_predictions_stay_inside_y_range_even_with_huge_weights(kind):
    config = TrainConfig(model=kind, n_factors=4, y_range=(1.0, 4.5))
    model = config.kind.build(config, 5, 7)
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(0).add_(torch.randn_like(p) * 100)
    users, items = torch.arange(5).repeat(7), torch.arange(7).repeat_interleave(5)
    with torch.no_grad():
        out = model(users, items)
    assert out.shape == (35,)
    assert float(out.min()) >= 1.0 and float(out.max()) <= 4.5


def test_nn_takes_different_user_and_item_widths():
    model = EmbeddingNN(10, 20, user_width=3, item_width=9, layers=(16, 8), dropout=0.2)
    assert model.user_factors.weight.shape == (10, 3) and model.item_factors.weight.shape == (20, 9)
    assert model(torch.tensor([0, 9]), torch.tensor([19, 0])).shape == (2,)


def test_embedding_lookup_is_one_hot_times_matrix():
    model = EmbeddingDotBias(4, 6, 3)
    one_hot = torch.nn.functional.one_hot(torch.tensor([2, 5]), 6).float()  # (2, n_items)
    assert torch.allclose(one_hot @ model.item_factors.weight, model.item_factors(torch.tensor([2, 5])))


def test_training_is_reproducible_with_a_seed(planted):
    ratings, _ = planted
    split = random_split(ratings, 0.1, 0)
    config = default_config(epochs=2, n_factors=4, seed=7)
    a, b = fit(ratings, split, config), fit(ratings, split, config)
    for (name, p), q in zip(a.model.state_dict().items(), b.model.state_dict().values()):
        assert torch.equal(p, q), name
    c = fit(ratings, split, default_config(epochs=2, n_factors=4, seed=8))
    assert not torch.equal(a.model.item_factors.weight, c.model.item_factors.weight)


def test_callbacks_report_batches_and_epochs_in_order(planted):
    ratings, _ = planted
    seen = []
    fit(ratings, random_split(ratings, 0.1, 0), default_config(epochs=2, batch_size=512), callback=seen.append,
        progress_every=5)
    epochs = [p for p in seen if p.kind == "epoch"]
    assert [p.epoch for p in epochs] == [1, 2] and all(p.valid_rmse > 0 for p in epochs)
    assert any(p.kind == "batch" for p in seen)
    fractions = [p.fraction for p in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert all(p.elapsed >= 0 and np.isfinite(p.train_loss) for p in seen)


def test_cancel_from_another_thread_stops_training(planted):
    ratings, _ = planted
    cancel = threading.Event()

    def cancel_after_first_report(progress):
        cancel.set()

    with pytest.raises(TrainingCancelled):
        fit(ratings, random_split(ratings, 0.1, 0), default_config(epochs=50, batch_size=64),
            callback=cancel_after_first_report, progress_every=1, cancel=cancel)


def test_a_diverging_loss_stops_with_advice_to_lower_the_lr(planted):
    ratings, _ = planted
    with pytest.raises(TrainingDivergedError, match="Lower the learning rate"):
        fit(ratings, random_split(ratings, 0.1, 0),
            default_config("dot", lr=10.0, optimizer="sgd", one_cycle=False, epochs=3, weight_decay=0.0))


def test_y_range_must_cover_the_ratings(planted):
    ratings, _ = planted
    with pytest.raises(ConfigError, match="does not cover the ratings"):
        fit(ratings, random_split(ratings, 0.1, 0), default_config(y_range=(0.0, 3.0)))


@pytest.mark.parametrize("change, field", [
    ({"n_factors": 0}, "n_factors"), ({"lr": -1e-3}, "lr"), ({"lr": float("nan")}, "lr"),
    ({"y_range": (5.0, 0.0)}, "y_range"), ({"y_range": (1.0, 1.0)}, "y_range"), ({"batch_size": 0}, "batch_size"),
    ({"epochs": 0}, "epochs"), ({"model": "svd"}, "model"), ({"optimizer": "lbfgs"}, "optimizer"),
    ({"weight_decay": -0.1}, "weight_decay"), ({"nn_dropout": 1.0}, "nn_dropout"), ({"nn_layers": ()}, "nn_layers"),
    ({"device": "tpu"}, "device"), ({"pct_start": 1.0}, "pct_start"), ({"epochs": 2.5}, "epochs"),
])
def test_bad_hyperparameters_are_refused_naming_the_field(change, field):
    with pytest.raises(ConfigError, match=field):
        TrainConfig(**change).validate()


def test_config_round_trips_through_a_dict_and_refuses_unknown_keys():
    config = default_config("nn")
    assert TrainConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ConfigError, match="unknown training setting"):
        TrainConfig.from_dict({"n_factor": 3})


def test_cuda_requested_without_a_gpu_says_so():
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(ConfigError, match="no CUDA GPU"):
        resolve_device("cuda")
    assert resolve_device("auto").type == "cpu"


def test_lr_finder_suggests_a_rate_inside_the_sweep(planted):
    ratings, _ = planted
    result = lr_find(ratings, random_split(ratings, 0.1, 0), default_config(), num_steps=60)
    assert len(result.lrs) == len(result.losses) >= 3
    assert result.lrs == sorted(result.lrs)
    assert result.lrs[0] <= result.suggested_lr <= result.lrs[-1]
    assert result.suggested_lr == pytest.approx(result.min_loss_lr / 10)


@pytest.mark.parametrize("kind", ["dot", "dot_bias", "nn"])
def test_every_model_trains_and_beats_the_global_mean(planted, kind):
    ratings, _ = planted
    trained = fit(ratings, random_split(ratings, 0.1, 0), default_config(kind, epochs=4))
    assert trained.metrics["rmse"] < trained.metrics["baseline_global_mean_rmse"]
    assert len(trained.history) == 4 and trained.metrics["device"] == "cpu"


@pytest.mark.parametrize("pct_start", [0.1, 0.25, 0.3, 0.5, 0.9])
def test_the_one_cycle_schedule_runs_for_any_number_of_steps(pct_start):
    """torch's OneCycleLR raises ZeroDivisionError when its warm-up is exactly one step (4 steps at 0.25, 10 at
    0.1): every step count a small training can have must schedule, starting no higher than the peak."""
    for total_steps in range(1, 41):
        weight = torch.nn.Parameter(torch.zeros(1))
        optimizer = torch.optim.AdamW([weight], lr=1.0)
        scheduler = one_cycle(optimizer, 0.01, total_steps, pct_start)
        lrs = []
        for _ in range(total_steps):
            lrs.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            scheduler.step()
        assert max(lrs) <= 0.01 + 1e-12 and all(lr > 0 for lr in lrs), (total_steps, lrs)


def test_a_training_of_exactly_four_steps_finishes(planted):
    """The case that raised: one epoch of 4 batches at the default warm-up fraction 0.25."""
    ratings, _ = planted
    split = random_split(ratings, 0.2, seed=0)
    batch = -(-len(split.train) // 4)  # ceil: 4 batches
    trained = fit(ratings, split, default_config("dot_bias", epochs=1, batch_size=batch, seed=0))
    assert trained.history[0]["epoch"] == 1 and np.isfinite(trained.metrics["rmse"])
