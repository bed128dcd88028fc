"""The ranking objective (TrainConfig.objective 'ranking', collab_core.model.ranking): it learns which items a
user rates, on a planted implicit dataset where that choice is the only signal; its settings are checked and kept
in run.json (older runs load as 'rating'); and what reads a run treats its scores as logits, not ratings."""
from __future__ import annotations

import io
import json
import math
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch

from collab_core.analysis.diagnostics import explain_prediction
from collab_core.analysis.foldin import fold_in
from collab_core.analysis.interpret import NeighbourIndex
from collab_core.data.ratings import Ratings, random_split
from collab_core.errors import ConfigError
from collab_core.model import ranking
from collab_core.model.config import TrainConfig, bounds_of, default_config, defaults_for
from collab_core.model.training import fit, lr_find
from collab_core.runs.store import RunStore

N_GROUPS, ITEMS_PER_GROUP, USERS_PER_GROUP, RATED = 6, 20, 25, 12


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def implicit_data():
    """Users in 6 groups, each rating 12 of its group's 20 items with stars drawn at random: which items a user
    rates carries all the signal, the stars none."""
    rng = np.random.default_rng(0)
    rows = []
    for group in range(N_GROUPS):
        for member in range(USERS_PER_GROUP):
            chosen = rng.choice(ITEMS_PER_GROUP, RATED, replace=False) + group * ITEMS_PER_GROUP
            rows += [(f"u{group}_{member}", str(item), float(rng.integers(1, 6))) for item in chosen]
    ratings = Ratings.from_frame(pd.DataFrame(rows, columns=["user", "item", "rating"]), name="planted implicit")
    return ratings, random_split(ratings, 0.25, 0)


def ranking_config(model: str = "dot_bias", **overrides) -> TrainConfig:
    return default_config(model, "ranking", **{"n_factors": 8, "epochs": 15, "batch_size": 16, "lr": 0.05,
                                               "weight_decay": 0.1, **overrides})


@pytest.fixture(scope="module")
def ranked(implicit_data):
    ratings, split = implicit_data
    return fit(ratings, split, ranking_config())


def test_ndcg_at_k_on_a_hand_case():
    scores = torch.tensor([[5.0, 4.0, 3.0, 2.0, 1.0]])  # ranking 0, 1, 2, 3, 4
    seen = torch.tensor([[1.0, 0, 0, 0, 0]])  # item 0 was a training item: never ranked
    relevant = torch.tensor([[0, 0, 1.0, 0, 1.0]])  # ranked 2nd and 4th of the items left
    expected = (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3))
    assert float(ranking.ndcg_at_k(scores, seen, relevant, k=3)[0]) == pytest.approx(1 / math.log2(3) / (
        1 + 1 / math.log2(3)))  # the 4th is beyond k=3
    assert float(ranking.ndcg_at_k(scores, seen, relevant, k=10)[0]) == pytest.approx(expected)


@pytest.mark.parametrize("model", ["dot_bias", "dot"])
def test_the_ranking_objective_ranks_held_out_items_far_above_random(implicit_data, ranked, model):
    ratings, split = implicit_data
    trained = ranked if model == "dot_bias" else fit(ratings, split, ranking_config("dot"))
    # chance: random scores; the best possible: each user's group items first, in a random order (which of
    # them the user rated is random, so no model can order them better)
    train, valid = ranking.UserItems.of(ratings, split.train), ranking.UserItems.of(ratings, split.valid)
    users = valid.active_users
    noise = torch.rand((len(users), ratings.n_items), generator=torch.Generator().manual_seed(0))
    groups = torch.from_numpy(np.array([int(ratings.user_ids[u][1]) for u in users]))  # (users,)
    item_groups = torch.from_numpy(np.array([int(i) // ITEMS_PER_GROUP for i in ratings.item_ids]))  # (items,)
    oracle = (groups[:, None] == item_groups[None, :]).float() + noise  # (users, items)
    cpu = torch.device("cpu")
    seen, relevant = train.mask(users, cpu), valid.mask(users, cpu)
    chance = float(ranking.ndcg_at_k(noise, seen, relevant).mean())
    best = float(ranking.ndcg_at_k(oracle, seen, relevant).mean())
    assert chance < 0.15 and best > 0.45
    assert trained.metrics["ndcg10"] > 0.9 * best
    assert trained.metrics["rmse"] is None and trained.metrics["mse"] is None  # its scores are not ratings
    assert trained.metrics["objective"] == "ranking" and math.isfinite(trained.metrics["valid_loss"])
    curve = [record["valid_ndcg10"] for record in trained.history]
    assert len(curve) == 15 and curve[-1] > curve[0] and all(r["valid_rmse"] is None for r in trained.history)


def test_a_ranking_dot_bias_has_no_sigmoid(ranked):
    assert ranked.model.y_range is None and not ranked.kind.bounded and ranked.kind.ranking
    users, items = torch.tensor([0, 1]), torch.tensor([3, 7])
    logits = ranking.item_scores(ranked.model, users)[torch.arange(2), items]
    assert torch.allclose(ranked.model(users, items), logits)  # forward and the all-items product agree


def test_the_objective_is_checked():
    assert TrainConfig().objective == "rating" and TrainConfig().kind.bounded
    assert bounds_of("objective").models == ("dot", "dot_bias")  # the Train form shows it for those two only
    with pytest.raises(ConfigError, match="objective must be one of"):
        TrainConfig(objective="bpr").validate()
    with pytest.raises(ConfigError, match="ranking objective trains dot and dot_bias"):
        TrainConfig(model="nn", objective="ranking").validate()
    chosen = defaults_for("dot", n_ratings=500, n_users=40, n_items=30, objective="ranking")
    assert chosen.config.objective == "ranking" and chosen.config.batch_size == 64
    assert "ranking objective" in chosen.reason


def test_a_ranking_run_round_trips_and_an_older_run_loads_as_rating(implicit_data, ranked, runs_dir):
    ratings, split = implicit_data
    store = RunStore()
    loaded = store.load(store.save(ranked))
    assert loaded.config.objective == "ranking" and loaded.model.y_range is None
    assert [r["valid_ndcg10"] for r in loaded.history] == [r["valid_ndcg10"] for r in ranked.history]
    np.testing.assert_allclose(loaded.predict(["u0_0"], ["3"]), ranked.predict(["u0_0"], ["3"]))
    older = store.save(fit(ratings, split, default_config(epochs=1, n_factors=4)))
    path = store.root / older / "run.json"
    meta = json.loads(path.read_text())
    del meta["config"]["objective"]  # as written before the objective existed
    path.write_text(json.dumps(meta))
    assert store.load(older).config.objective == "rating"
    assert {info.run_id: info.ok for info in store.list()}[older]


def test_fold_in_of_a_ranking_run_scores_without_a_bias_and_neighbours_work(ranked):
    fold = fold_in(ranked, {0: 5.0, 1: 4.0})  # the softmax fold-in (tests/core/test_foldin_ranking.py)
    assert fold.model_kind == "ranking" and fold.bias is None and fold.converged
    # an item's nearest items by its factors are its own group's (the neighbours pages read the same factors)
    found, _ = NeighbourIndex(ranked.item_factors(), "cosine").query_index(0, 5)
    assert (np.asarray(found) < ITEMS_PER_GROUP).mean() >= 0.8


def test_diagnostics_show_the_score_without_a_sigmoid(ranked):
    explained = explain_prediction(ranked, "u0_0", "3")
    assert explained.y_range is None and explained.from_parts == pytest.approx(explained.raw_score)
    assert explained.prediction == pytest.approx(explained.raw_score, abs=1e-4)


def test_the_lr_finder_takes_ranking_steps(implicit_data):
    ratings, split = implicit_data
    result = lr_find(ratings, split, ranking_config(), num_steps=12)
    assert len(result.lrs) >= 3 and all(math.isfinite(loss) for loss in result.losses)


def test_the_cli_trains_for_ranking_and_reports_ndcg_not_rmse(implicit_data, tmp_path):
    from collab_core.cli.main import main

    ratings, _ = implicit_data
    ratings.to_frame().to_csv(tmp_path / "ratings.csv", index=False)
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["train", "--train", str(tmp_path / "ratings.csv"), "--objective", "ranking", "--epochs", "3",
                     "--factors", "4", "--runs-dir", str(tmp_path / "runs")])
    assert code == 0, err.getvalue()
    summary = json.loads(out.getvalue().strip().splitlines()[-1])
    assert summary["objective"] == "ranking" and summary["rmse"] is None and 0 <= summary["ndcg10"] <= 1
    assert "valid_ndcg10" in err.getvalue() and "nDCG@10" in err.getvalue()
    with redirect_stdout(io.StringIO()), redirect_stderr(err):
        assert main(["train", "--model", "nn", "--objective", "ranking"]) == 2
    assert "ranking objective trains dot and dot_bias" in err.getvalue()


def test_a_ranking_run_below_most_popular_is_told_what_to_try():
    from collab_core.model.verdict import baseline_verdict

    switched_only = replace(default_config("dot_bias"), objective="ranking")  # the rating defaults kept
    verdict = baseline_verdict({"ndcg10": 0.176, "baseline_popular_ndcg10": 0.256, "rmse": None}, switched_only)
    assert verdict.short == "worse than most popular" and "batch 64 (this run: 512)" in verdict.message
    assert baseline_verdict({"ndcg10": 0.487, "baseline_popular_ndcg10": 0.256}, default_config("dot", "ranking")) \
        is None


def test_a_rating_run_recording_its_ranking_figures_is_still_judged_by_rmse():
    """Every dot/dot_bias run records nDCG@10 and most popular's for the history; only a ranking run is judged by
    them."""
    from collab_core.model.verdict import baseline_verdict

    metrics = {"rmse": 1.2, "baseline_bias_rmse": 1.0, "baseline_global_mean_rmse": 1.1, "ndcg10": 0.1,
               "baseline_popular_ndcg10": 0.2}
    assert baseline_verdict(metrics, {"objective": "rating"}).short == "worse than both baselines"
    assert baseline_verdict(metrics).short == "worse than both baselines"
    ranking = {**metrics, "rmse": None, "objective": "ranking"}
    assert baseline_verdict(ranking).short == "worse than most popular"
