"""Fold-in for a run trained for ranking (collab_core.analysis.foldin_ranking): the objective is the training's
softmax loss (its gradient agrees with torch autograd of ranking.softmax_loss and is ~0 at the solution), the
vector has no bias and splits into shares per rated item, stars do not matter, and folding in a training user's
own items ranks their held-out items about as well as their trained vector does."""
from __future__ import annotations

import copy
import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
import torch

from collab_core.analysis import foldin_explain as FE
from collab_core.analysis.foldin import fold_in
from collab_core.analysis.foldin_inputs import RatingError, demo_ratings
from collab_core.analysis.foldin_ranking import SoftmaxProblem, penalty_rule, ranking_penalty
from collab_core.data.ratings import Ratings
from collab_core.data.splits import stratified_split
from collab_core.model import ranking
from collab_core.model.config import default_config
from collab_core.model.training import fit

N_GROUPS, ITEMS_PER_GROUP, USERS_PER_GROUP, RATED, STRAYS = 6, 20, 25, 12, 2


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def implicit_run():
    """(ratings, split, run): users in 6 groups, each rating 12 of its group's 20 items and 2 items anywhere, with
    random stars (which items carry the signal); a per-user 75/25 split; a small ranking dot_bias trained on it."""
    rng = np.random.default_rng(0)
    rows = []
    for group in range(N_GROUPS):
        for member in range(USERS_PER_GROUP):
            own = rng.choice(ITEMS_PER_GROUP, RATED, replace=False) + group * ITEMS_PER_GROUP
            strays = rng.choice(np.setdiff1d(np.arange(N_GROUPS * ITEMS_PER_GROUP), own), STRAYS, replace=False)
            rows += [(f"u{group}_{member}", str(item), float(rng.integers(1, 6))) for item in [*own, *strays]]
    ratings = Ratings.from_frame(pd.DataFrame(rows, columns=["user", "item", "rating"]), name="planted implicit")
    split = stratified_split(ratings, 0.75, 42)
    config = default_config("dot_bias", "ranking", n_factors=8, epochs=15, batch_size=16, lr=0.05, weight_decay=0.1,
                            seed=0)
    return ratings, split, fit(ratings, split, config)


def user_items(ratings: Ratings, rows: np.ndarray, user: int) -> np.ndarray:
    pairs = ranking.UserItems.of(ratings, rows)
    return pairs.items[pairs.indptr[user]:pairs.indptr[user + 1]]


def test_the_objective_is_the_training_softmax_loss_and_its_gradient_matches_autograd(implicit_run):
    _, _, run = implicit_run
    items, lam = np.array([0, 3, 7, 25, 60]), 0.7
    factors, biases = run.item_factors().astype(np.float64), run.item_biases().astype(np.float64)
    problem = SoftmaxProblem(factors, biases, items, lam)
    w = np.random.default_rng(3).normal(0, 0.5, factors.shape[1])  # (k,) a random point
    value, gradient, _ = problem.parts(w)
    # the same loss through the training's own function: user 0 of a float64 copy of the model, given w and no bias
    model = copy.deepcopy(run.model).double()
    user = torch.zeros(1, dtype=torch.long)
    with torch.no_grad():
        model.user_factors.weight[0] = torch.from_numpy(w)
        model.user_bias.weight.zero_()
    targets = torch.zeros((1, run.n_items), dtype=torch.float64)
    targets[0, torch.from_numpy(items)] = 1.0
    loss = ranking.softmax_loss(model, user, None, targets) * len(items)  # the per-user sum, as the module says
    loss = loss + lam / 2 * (model.user_factors.weight[0] ** 2).sum()
    (grad,) = torch.autograd.grad(loss, model.user_factors.weight)
    assert value == pytest.approx(float(loss.detach()), rel=1e-12)
    np.testing.assert_allclose(gradient, grad[0].numpy(), rtol=1e-9, atol=1e-12)
    # the Hessian agrees with a finite difference of the gradient
    step = 1e-6 * np.eye(len(w))[0]
    np.testing.assert_allclose(problem.hessian(problem.parts(w)[2])[:, 0],
                               (problem.parts(w + step)[1] - problem.parts(w - step)[1]) / 2e-6, rtol=1e-5, atol=1e-6)


def test_the_fold_in_is_the_optimum_has_no_bias_and_splits_into_shares(implicit_run):
    ratings, split, run = implicit_run
    items = user_items(ratings, split.train, 5)
    fold = fold_in(run, {int(i): 3.0 for i in items})
    assert fold.model_kind == "ranking" and fold.bias is None and fold.ridge_bias is None and fold.converged
    assert fold.ridge == pytest.approx(ranking_penalty(run, len(items)))
    problem = SoftmaxProblem(run.item_factors().astype(np.float64), run.item_biases().astype(np.float64), items,
                             fold.ridge)
    _, gradient, _ = problem.parts(fold.vector)
    assert np.abs(gradient).max() < 1e-8
    assert fold.share_residual < 1e-9 and np.allclose(fold.shares.sum(axis=1), fold.vector, atol=1e-9)
    # a score is the model's: q . w + b_i; its parts per rated item plus the item bias sum to it
    target = int(np.setdiff1d(np.arange(run.n_items), items)[0])
    score = float(FE.predict(run, fold, np.array([target]))[0])
    assert score == pytest.approx(float(run.item_factors()[target] @ fold.vector + run.item_biases()[target]))
    parts = FE.explain_item(run, fold, target)
    assert parts["contribution"].sum() == pytest.approx(score) and parts["title"].iloc[-1] == "item bias"
    # the stars do not matter: the run learned which items were rated
    other = fold_in(run, {int(i): float(1 + j % 5) for j, i in enumerate(items)})
    np.testing.assert_allclose(other.vector, fold.vector, atol=1e-12)


def test_folding_in_a_users_own_items_ranks_their_held_out_items_as_their_trained_vector_does(implicit_run):
    ratings, split, run = implicit_run
    rng = np.random.default_rng(1)
    users = rng.choice(ratings.n_users, 30, replace=False)
    factors, biases = run.item_factors().astype(np.float64), run.item_biases().astype(np.float64)
    trained_vectors = run.user_factors().astype(np.float64)

    def ndcg(scores: np.ndarray, seen: np.ndarray, relevant: np.ndarray) -> float:
        mask = np.zeros((1, run.n_items)), np.zeros((1, run.n_items))
        mask[0][0, seen], mask[1][0, relevant] = 1, 1
        return float(ranking.ndcg_at_k(torch.from_numpy(scores[None]), *map(torch.from_numpy, mask))[0])

    folded, trained, chance = [], [], []
    for user in users:
        seen, relevant = user_items(ratings, split.train, user), user_items(ratings, split.valid, user)
        fold = fold_in(run, {int(i): 4.0 for i in seen})
        folded.append(ndcg(factors @ fold.vector + biases, seen, relevant))
        trained.append(ndcg(factors @ trained_vectors[user] + biases, seen, relevant))
        chance.append(ndcg(rng.random(run.n_items), seen, relevant))
    # measured: trained 0.472, folded in 0.473, random 0.062 (the strays and the held-out draw cap it far below 1)
    assert np.mean(trained) > 0.35  # the run learned the groups
    assert np.mean(folded) >= np.mean(trained) - 0.05
    assert np.mean(folded) > 4 * np.mean(chance)


def test_the_penalty_is_the_one_the_trained_vectors_satisfy(implicit_run):
    """At the end of training each user's vector sits where the loss's pull and the decay's balance: G + lam w = 0
    gives the penalty it implies, -G . w / |w|^2. The rule's penalty must be that one (measured: median ratio 0.96,
    10-90% 0.65-1.44), not just any penalty that ranks well."""
    ratings, split, run = implicit_run
    factors, biases = run.item_factors().astype(np.float64), run.item_biases().astype(np.float64)
    ratios = []
    for user, vector in enumerate(run.user_factors().astype(np.float64)):
        items = user_items(ratings, split.train, user)
        _, gradient, _ = SoftmaxProblem(factors, biases, items, 0.0).parts(vector)
        ratios.append(-(gradient @ vector) / (vector @ vector) / ranking_penalty(run, len(items)))
    assert 0.5 < np.median(ratios) < 2.0, np.percentile(ratios, [10, 50, 90])


def test_a_run_trained_without_weight_decay_still_folds_in_with_the_imported_runs_penalty(implicit_run):
    _, _, run = implicit_run
    undecayed = copy.copy(run)
    undecayed.config = dataclasses.replace(run.config, weight_decay=0.0)
    fold = fold_in(undecayed, {0: 5.0, 1: 4.0})
    assert fold.converged and fold.ridge == pytest.approx(np.mean(np.square(run.item_factors(), dtype=np.float64)))
    assert "without weight decay" in penalty_rule(undecayed)
    with pytest.raises(Exception, match="penalty > 0, got 0"):
        fold_in(run, {0: 5.0}, ridge_scale=0.0)


def test_no_items_is_refused_and_one_item_gives_a_vector_towards_it(implicit_run):
    _, _, run = implicit_run
    with pytest.raises(RatingError, match="no ratings given"):
        fold_in(run, {})
    fold = fold_in(run, {7: 5.0})
    assert fold.converged and fold.n_rated == 1 and np.isfinite(fold.vector).all()
    found = FE.recommend(run, fold, 5, min_ratings=0)
    assert 7 not in found["item_index"].to_numpy()
    assert (found["item_index"] // ITEMS_PER_GROUP == 0).mean() >= 0.6  # mostly item 7's group
    ranks = FE.ranked_table(run, fold)
    assert list(ranks.columns) == ["item_index", "item", "title", "rating", "score", "rank"]
    assert int(ranks["rank"].iloc[0]) <= 3  # the one rated item is near the top of all items


def test_the_demo_taste_of_a_ranking_run_is_items_from_one_end(implicit_run):
    _, _, run = implicit_run
    chosen = demo_ratings(run, 4, pool=40)
    assert len(chosen) == 4 and len(set(chosen.values())) == 1


def test_the_cli_recommends_from_a_ranking_run_by_score_and_rank(implicit_run, tmp_path, capsys):
    from collab_core.cli.main import main
    from collab_core.runs.store import RunStore

    _, _, run = implicit_run
    run_id = RunStore(tmp_path).save(run, "ranking-run")
    assert main(["recommend", "--run", run_id, "--rate", "3=5", "--rate", "7=1", "-k", "3",
                 "--runs-dir", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "where they rank among all 120" in text and "score" in text and "predicted rating" not in text
    assert main(["recommend", "--run", run_id, "--rate", "3=5", "--json", "-k", "3", "--runs-dir", str(tmp_path)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["model"] == "ranking" and summary["user_bias"] is None and "fitted" not in summary
    assert len(summary["recommendations"]) == 3 and summary["ranked"][0]["rank"] >= 1
