"""Training at scale: the ML-25M-shaped synthetic set, the defaults chosen per dataset size, training with
LazyAdamW, and fit()'s hooks (between_batches apart from cancel; one train_step shared with lr_find)."""
import numpy as np
import pytest
import torch

import collab_core.model.training as training
from collab_core.bench.synthetic import ml25m_like
from collab_core.data.ratings import random_split
from collab_core.errors import TrainingCancelled
from collab_core.model.config import LARGE_DATA_RATINGS, default_config, defaults_for
from collab_core.model.training import fit, lr_find
from collab_core.runs.store import RunStore

ML100K = {"n_ratings": 100_000, "n_users": 943, "n_items": 1_682}
ML25M = {"n_ratings": 25_000_095, "n_users": 162_541, "n_items": 59_047}


@pytest.fixture(scope="module")
def ml25m_small():
    return ml25m_like(100_000, seed=3)


def test_ml25m_like_has_the_shape_of_movielens_25m_at_any_scale(ml25m_small):
    ratings, truth = ml25m_small
    assert ratings.n_ratings == 100_000
    assert ratings.n_users == round(162_541 * 100_000 / 25_000_095)
    assert ratings.n_items == round(59_047 * 100_000 / 25_000_095)
    assert set(np.unique(ratings.rating)) <= {x / 2 for x in range(1, 11)}  # half stars, 0.5 to 5
    per_user, per_item = ratings.user_counts, ratings.item_counts
    assert per_user.min() >= 20 and per_item.min() >= 1  # every user and every item is rated
    assert per_item.max() > 20 * np.median(per_item) and per_user.max() > 10 * np.median(per_user)  # long tails
    again, _ = ml25m_like(100_000, seed=3)
    assert np.array_equal(again.rating, ratings.rating) and np.array_equal(again.item_index, ratings.item_index)
    assert truth.user_factors.shape == (ratings.n_users, 8)


def test_small_data_gets_the_movielens_100k_defaults_and_says_so():
    chosen = defaults_for("dot_bias", **ML100K)
    assert chosen.config == default_config("dot_bias")
    assert chosen.config.optimizer == "adamw" and chosen.config.batch_size == 512
    assert "100,000 ratings" in chosen.reason and "batch 512" in chosen.reason and "\n" not in chosen.reason


@pytest.mark.parametrize("model", ["dot_bias", "dot", "nn"])
def test_large_data_gets_big_batches_by_size_and_says_why(model):
    chosen = defaults_for(model, **ML25M)
    assert chosen.config.optimizer == "adamw" and chosen.config.batch_size == 65536 and chosen.config.lr == 0.16
    assert chosen.config.model == model and chosen.config.validate()
    assert f"batch {chosen.config.batch_size}" in chosen.reason and "25,000,095 ratings" in chosen.reason
    middle = defaults_for(model, **{**ML25M, "n_ratings": 5_000_000}).config
    assert middle.batch_size == 16384 and middle.epochs == 3
    # the threshold: just above it is large, at it is not
    at = defaults_for(model, **{**ML25M, "n_ratings": LARGE_DATA_RATINGS}).config
    assert at == default_config(model)
    assert defaults_for(model, **{**ML25M, "n_ratings": LARGE_DATA_RATINGS + 1}).config.batch_size == 16384


def test_given_settings_win_over_the_chosen_defaults_and_are_named():
    chosen = defaults_for("dot_bias", **ML25M, batch_size=4096, epochs=1)
    assert chosen.config.batch_size == 4096 and chosen.config.epochs == 1
    assert chosen.config.optimizer == "adamw"  # as the Train page would: nothing changed behind the person's back
    assert "given: batch_size=4096, epochs=1" in chosen.reason
    assert "batch of 4,096 or less choose lazy_adamw" in chosen.reason  # the advice, measured by bench --step-cost
    assert "lazy_adamw" not in defaults_for("dot_bias", **ML100K).reason  # small tables: dense steps are cheap


def test_lazy_adamw_training_recovers_planted_structure(planted):
    ratings, truth = planted
    split = random_split(ratings, 0.1, 1)
    trained = fit(ratings, split, default_config(n_factors=8, epochs=8, weight_decay=0.1, batch_size=256,
                                                 optimizer="lazy_adamw"))
    assert trained.metrics["rmse"] < truth.noise + 0.08
    assert trained.metrics["rmse"] < trained.metrics["baseline_bias_rmse"] - 0.1


def test_large_data_defaults_learn_the_ml25m_like_structure(ml25m_small):
    ratings, _ = ml25m_small
    chosen = defaults_for("dot_bias", **ML25M, batch_size=1024, lr=0.02, epochs=3)  # large settings, small data
    trained = fit(ratings, random_split(ratings, 0.05, 0), chosen.config)
    assert trained.metrics["rmse"] < trained.metrics["baseline_bias_rmse"] - 0.01


def test_a_lazy_adamw_run_saves_and_loads_with_the_usual_weight_names(planted, tmp_path):
    ratings, _ = planted
    trained = fit(ratings, random_split(ratings, 0.1, 0), default_config(epochs=1, n_factors=4, optimizer="lazy_adamw"))
    assert set(trained.model.state_dict()) == {"user_factors.weight", "item_factors.weight", "user_bias.weight",
                                                "item_bias.weight"}
    store = RunStore(tmp_path)
    loaded = store.load(store.save(trained))
    assert loaded.item_factors().shape == (ratings.n_items, 4) and loaded.item_biases().shape == (ratings.n_items,)
    users, items = ratings.user_ids[:5], ratings.item_ids[:5]
    assert np.allclose(loaded.predict(users, items), trained.predict(users, items))


def test_between_batches_runs_once_per_batch_and_cancel_is_only_a_flag(planted):
    ratings, _ = planted
    split = random_split(ratings, 0.1, 0)
    config = default_config(epochs=2, batch_size=1000)
    calls = []
    fit(ratings, split, config, between_batches=lambda: calls.append(1))
    assert len(calls) == 2 * int(np.ceil(len(split.train) / 1000))

    class Flag:
        set_now = False

        def is_set(self):
            return self.set_now

    flag, seen = Flag(), []

    def pause():
        seen.append(1)
        flag.set_now = len(seen) == 3  # a request to stop arrives during the third pause

    with pytest.raises(TrainingCancelled):
        fit(ratings, split, config, cancel=flag, between_batches=pause)
    assert len(seen) == 3  # checked before the next batch: no fourth


def test_fit_and_lr_find_take_their_steps_through_one_train_step(planted, monkeypatch):
    ratings, _ = planted
    split = random_split(ratings, 0.1, 0)
    calls = []
    real_step = training.train_step

    def counting_step(*args):
        calls.append(1)
        return real_step(*args)

    monkeypatch.setattr(training, "train_step", counting_step)
    lr_find(ratings, split, default_config(batch_size=500), num_steps=7)
    assert len(calls) == 7
    fit(ratings, split, default_config(epochs=1, batch_size=1000))
    assert len(calls) == 7 + int(np.ceil(len(split.train) / 1000))


def test_train_step_returns_the_batch_loss_and_updates_the_model():
    torch.manual_seed(0)
    config = default_config(n_factors=3)
    model = config.kind.build(config, 4, 5)
    optimizer = training._optimizer(model, config)
    users, items, targets = torch.tensor([0, 1, 3]), torch.tensor([4, 0, 2]), torch.tensor([1.0, 5.0, 3.0])
    with torch.no_grad():
        expected = float(((model(users, items) - targets) ** 2).mean())
    before = model.item_factors.weight.detach().clone()
    loss = training.train_step(model, optimizer, users, items, targets)
    assert float(loss) == pytest.approx(expected) and not loss.requires_grad
    assert not torch.equal(before, model.item_factors.weight)


def test_the_step_cost_benchmark_times_every_optimiser_and_batch():
    from collab_core.bench.steps import format_step_cost, run_step_cost

    result = run_step_cost(200_000, batches=(256, 1024), rounds=2, steps=2, threads=1)
    assert {(r["optimizer"], r["batch_size"]) for r in result["rows"]} == {
        (o, b) for o in ("adamw", "lazy_adamw") for b in (256, 1024)}
    assert all(len(r["rounds"]) == 2 and r["median_ratings_per_second"] > 0 for r in result["rows"])
    assert "lazy/dense" in format_step_cost(result)
