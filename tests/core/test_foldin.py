"""Fold-in: a planted user is recovered, the explanation adds up, recommendations skip what was rated, and
bad input is refused with a message."""
import dataclasses
import json

import numpy as np
import pytest

from collab_core.analysis import foldin as F
from collab_core.analysis import foldin_explain as FE
from collab_core.analysis import foldin_inputs as FI
from collab_core.bench import foldin as FQ
from collab_core.errors import AmbiguousTitleError, CollabError, UnknownIdError
from tests.core.planted_models import planted_model


@pytest.fixture(scope="module")
def planted_dot_bias():
    return planted_model("dot_bias", n_items=80, n_factors=4)


@pytest.fixture(scope="module")
def planted_dot():
    return planted_model("dot", n_items=80, n_factors=4)


def planted_user_ratings(trained, n_rated=40, noise=0.0, seed=1):
    """({item: rating}, true vector, true bias) of a new user generated through the model's own formula."""
    rng = np.random.default_rng(seed)
    vector, bias = rng.normal(0, 0.6, trained.item_factors().shape[1]), 0.2
    items = rng.choice(trained.n_items, n_rated, replace=False)
    linear = trained.item_factors()[items].astype(np.float64) @ vector
    if trained.config.model == "dot_bias":
        linear = linear + bias + trained.item_biases()[items]
        ratings = 5.5 / (1 + np.exp(-linear))
    else:
        ratings = linear
    ratings = ratings + rng.normal(0, noise, n_rated)
    if trained.config.model == "dot_bias":
        ratings = np.clip(ratings, 0, 5.5)
    return dict(zip(items.tolist(), ratings.tolist())), vector, bias


@pytest.mark.parametrize("refine", ["newton", "lbfgs"])
def test_a_planted_user_is_recovered_through_the_sigmoid(planted_dot_bias, refine):
    ratings, vector, bias = planted_user_ratings(planted_dot_bias, noise=0.05)
    fold = F.fold_in(planted_dot_bias, ratings, refine=refine, penalties=(1e-6, 1e-6))
    assert fold.converged and fold.iterations >= 1  # noise: the logit-space start is not the optimum
    np.testing.assert_allclose(fold.vector, vector, atol=0.06)
    assert fold.bias == pytest.approx(bias, abs=0.05)
    assert np.sqrt(np.mean((fold.fitted - fold.ratings) ** 2)) < 0.06


def test_newton_and_lbfgs_reach_the_same_optimum_and_the_default_penalty_shrinks(planted_dot_bias):
    ratings, vector, _ = planted_user_ratings(planted_dot_bias, noise=0.3, seed=2)
    newton = F.fold_in(planted_dot_bias, ratings)
    lbfgs = F.fold_in(planted_dot_bias, ratings, refine="lbfgs")
    np.testing.assert_allclose(newton.augmented, lbfgs.augmented, atol=1e-5)
    assert newton.ridge > 0 and newton.ridge_bias > 0
    cosine = newton.vector @ vector / np.linalg.norm(newton.vector) / np.linalg.norm(vector)
    assert cosine > 0.95
    weaker = F.fold_in(planted_dot_bias, ratings, ridge_scale=0.01)
    assert np.linalg.norm(newton.vector) < np.linalg.norm(weaker.vector)


def test_a_planted_user_is_recovered_by_ridge_for_dot(planted_dot):
    ratings, vector, _ = planted_user_ratings(planted_dot, n_rated=30)
    fold = F.fold_in(planted_dot, ratings, penalties=(1e-9, 0))
    assert fold.method == "ridge" and fold.bias is None
    np.testing.assert_allclose(fold.vector, vector, atol=1e-6)


def test_the_penalty_grows_like_the_square_root_of_the_number_of_ratings(planted_dot_bias):
    lam_10, lam_b_10 = F.ridge_penalties(planted_dot_bias, 10)
    lam_40, lam_b_40 = F.ridge_penalties(planted_dot_bias, 40)
    assert lam_40 / lam_10 == pytest.approx(2.0) and lam_b_40 / lam_b_10 == pytest.approx(2.0)


@pytest.mark.parametrize("kind, refine", [("dot_bias", "newton"), ("dot_bias", None), ("dot", "newton")])
def test_contributions_sum_to_the_linear_score(planted_dot_bias, planted_dot, kind, refine):
    trained = planted_dot_bias if kind == "dot_bias" else planted_dot
    ratings, _, _ = planted_user_ratings(trained, n_rated=12, noise=0.4, seed=3)
    fold = F.fold_in(trained, ratings, refine=refine)
    items = np.arange(trained.n_items)
    parts = FE.contributions(trained, fold, items)  # (n_items, n_rated)
    own_bias = trained.item_biases()[items] if kind == "dot_bias" else 0.0
    np.testing.assert_allclose(parts.sum(axis=1) + own_bias, FE.linear_scores(trained, fold, items), atol=1e-7)
    assert fold.share_residual < 1e-7
    table = FE.explain_item(trained, fold, 5)
    assert table["contribution"].sum() == pytest.approx(FE.linear_scores(trained, fold, [5])[0], abs=1e-7)
    assert len(table) == fold.n_rated + (kind == "dot_bias")


def test_recommendations_exclude_rated_items_and_explain_themselves(planted_dot_bias):
    ratings, _, _ = planted_user_ratings(planted_dot_bias, n_rated=20, noise=0.3, seed=4)
    fold = F.fold_in(planted_dot_bias, ratings)
    found = FE.recommend(planted_dot_bias, fold, n=15, n_because=2)
    assert len(found) == 15 and not set(found["item_index"]) & set(ratings)
    assert list(found["score"]) == sorted(found["score"], reverse=True)
    np.testing.assert_allclose(found["score"], FE.predict(planted_dot_bias, fold, found["item_index"].to_numpy()))
    first = found.iloc[0]
    parts = FE.contributions(planted_dot_bias, fold, [first["item_index"]])[0]
    assert [b["contribution"] for b in first["because"]] == pytest.approx(sorted(parts, reverse=True)[:2])
    everything = FE.recommend(planted_dot_bias, fold, n=1000, min_ratings=0)
    assert len(everything) == planted_dot_bias.n_items - len(ratings)
    popular = FE.recommend(planted_dot_bias, fold, n=1000, min_ratings=35)
    assert (popular["count"] >= 35).all() and len(popular) < len(everything)


def test_fitted_table_and_nearest_users(planted_dot_bias):
    user = 7  # an existing user: rate every item as the model predicts for them
    items = np.arange(planted_dot_bias.n_items)
    predicted = planted_dot_bias.predict([str(user)] * len(items), [str(i) for i in items])
    fold = F.fold_in(planted_dot_bias, dict(zip(items.tolist(), predicted.tolist())), penalties=(1e-6, 1e-6))
    fitted = FE.fitted_table(planted_dot_bias, fold)
    assert list(fitted.columns) == ["item_index", "item", "title", "rating", "prediction", "error"]
    assert fitted["error"].abs().max() < 1e-3
    near = FE.nearest_users(planted_dot_bias, fold, k=3)
    assert near["user"].iloc[0] == str(user) and near["similarity"].iloc[0] == pytest.approx(1.0, abs=1e-4)
    assert list(near["similarity"]) == sorted(near["similarity"], reverse=True)


def test_nn_is_folded_in_through_the_frozen_mlp():
    trained = planted_model("nn", n_items=60, n_factors=4)
    before = {k: v.clone() for k, v in trained.model.state_dict().items()}
    target = np.array([0.8, -0.5, 0.3, 0.6], dtype=np.float32)
    items = np.arange(40)
    rows = np.tile(target, (len(items), 1))
    import torch

    with torch.no_grad():
        ratings = F.nn_predict(trained.model, torch.from_numpy(rows), trained.model.item_factors.weight[:40])
    fold = F.fold_in(trained, dict(zip(items.tolist(), ratings.double().tolist())), penalties=(1e-6, 0))
    assert fold.method == "lbfgs (nn)" and fold.shares is None
    assert np.abs(fold.fitted - fold.ratings).max() < 0.02
    assert all(torch.equal(before[k], v) for k, v in trained.model.state_dict().items())
    found = FE.recommend(trained, fold, n=5, min_ratings=0)
    assert not set(found["item_index"]) & set(items.tolist())
    assert all(b["contribution"] is None for b in found["because"].iloc[0])
    with pytest.raises(CollabError, match="does not split"):
        FE.contributions(trained, fold, [50])


def test_ratings_are_parsed_through_the_catalog(planted_dot_bias):
    assert FI.parse_ratings(planted_dot_bias, ["Item 12=4.5", "3=1"]) == {12: 4.5, 3: 1.0}
    with pytest.raises(UnknownIdError, match="'Nothing like it=4'.*no item has"):
        FI.parse_ratings(planted_dot_bias, ["Nothing like it=4"])
    with pytest.raises(AmbiguousTitleError, match="matches .* items") as ambiguous:
        FI.parse_ratings(planted_dot_bias, ["em 1=4"])
    assert ambiguous.value.candidates


@pytest.mark.parametrize("texts, message", [
    (["Item 3=7"], "outside this run's scale 0 to 5.5"),
    (["Item 3=-1"], "outside this run's scale"),
    (["Item 3=great"], "not a number"),
    (["Item 3=nan"], "not a finite number"),
    (["Item 3"], "expected TITLE=RATING"),
    (["Item 3=4", "3=5"], "rated twice"),
])
def test_bad_ratings_are_refused_with_a_message(planted_dot_bias, texts, message):
    with pytest.raises(FI.RatingError, match=message):
        FI.parse_ratings(planted_dot_bias, texts)


def test_no_ratings_and_the_scale_of_dot(planted_dot_bias, planted_dot):
    with pytest.raises(FI.RatingError, match="at least one"):
        F.fold_in(planted_dot_bias, {})
    with pytest.raises(FI.RatingError, match="outside"):
        F.fold_in(planted_dot_bias, {3: 9.0})
    assert FI.parse_ratings(planted_dot, ["Item 3=7"]) == {3: 7.0}  # 'dot' has no range


def test_foldin_quality_is_close_to_the_trained_vectors(tiny_trained, planted):
    from collab_core.data.ratings import random_split

    ratings, _ = planted
    quality = FQ.foldin_quality(tiny_trained, ratings, random_split(ratings, 0.1, 0), max_users=60)
    per_user = quality.per_user
    assert quality.n_users == 60 and quality.n_valid == per_user["n_valid"].sum()
    pooled = np.sqrt((per_user["rmse_trained"] ** 2 * per_user["n_valid"]).sum() / quality.n_valid)
    assert quality.rmse_trained == pytest.approx(pooled)
    # the fold-in solves the same problem as training did for these users: it must not be clearly worse
    assert quality.rmse_foldin < quality.rmse_trained + 0.05


def test_cli_recommend(tiny_trained, tmp_path, capsys):
    from collab_core.cli.main import main
    from collab_core.runs.store import RunStore

    runs = tmp_path / "runs"
    run_id = RunStore(runs).save(tiny_trained)
    code = main(["recommend", "--run", run_id, "--rate", "Item 3=5", "--rate", "7=1", "--rate", "Item 12=4",
                 "-k", "5", "--min-ratings", "0", "--json", "--runs-dir", str(runs)])
    answer = json.loads(capsys.readouterr().out)
    assert code == 0 and len(answer["recommendations"]) == 5
    assert not {r["item"] for r in answer["recommendations"]} & {"3", "7", "12"}
    assert {f["item"]: f["rating"] for f in answer["fitted"]} == {"3": 5.0, "7": 1.0, "12": 4.0}
    assert {"title", "score", "because"} <= set(answer["recommendations"][0])
    for args, message in [(["--rate", "Nope=4"], "no item has"), (["--rate", "em 1=4"], "matches"),
                          (["--rate", "Item 3=9"], "outside this run's scale"), ([], "at least one")]:
        assert main(["recommend", "--run", run_id, *args, "--runs-dir", str(runs)]) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_the_demo_person_has_a_clear_taste_along_the_maps_first_axis(planted_dot_bias):
    ratings = FI.demo_ratings(planted_dot_bias, 5, pool=30)
    assert len(ratings) == 5 and set(ratings) <= set(planted_dot_bias.catalog.top_items(30).tolist())
    scale = FI.rating_scale(planted_dot_bias)
    assert sorted(ratings.values()) == [scale.values()[1]] * 2 + [scale.values()[-1]] * 3
    fold = F.fold_in(planted_dot_bias, ratings)
    on_map = FE.user_on_map(planted_dot_bias, fold, planted_dot_bias.catalog.top_items(30))
    assert abs(on_map.x) > abs(on_map.y) * 0.5 and 0 < on_map.share <= 1


def test_a_user_on_the_item_map_is_their_vector_on_the_maps_axes(planted_dot_bias):
    from collab_core.analysis.interpret import pca, pca_map

    ratings, vector, _ = planted_user_ratings(planted_dot_bias, noise=0.05)
    fold = F.fold_in(planted_dot_bias, ratings)
    fitted_on = np.arange(0, 80, 2)
    on_map = FE.user_on_map(planted_dot_bias, fold, fitted_on)
    factors = planted_dot_bias.item_factors().astype(np.float64)
    projection = pca(factors[fitted_on], 2)
    assert [on_map.x, on_map.y] == pytest.approx(list(projection.components @ fold.vector))
    assert on_map.share == pytest.approx(np.sum((projection.components @ fold.vector) ** 2) / np.sum(fold.vector ** 2))
    # the part of each score the map shows is the dot product of the user's point and the item's map position
    positions = pca_map(factors, fitted_on)  # (n_items, 2)
    in_plane = (factors - projection.mean) @ projection.components.T @ projection.components @ fold.vector
    assert positions @ np.array([on_map.x, on_map.y]) == pytest.approx(in_plane)
    nn = planted_model("nn", n_items=80, n_factors=4)
    with pytest.raises(CollabError, match="share no space"):
        FE.user_on_map(nn, F.fold_in(nn, {0: 4.0, 1: 2.0}), fitted_on)


@pytest.mark.parametrize("optimizer", ["adamw", "lazy_adamw", "adam", "sgd"])
def test_fold_in_matches_the_trained_vectors_whatever_the_optimiser(planted, optimizer):
    """The fold-in's penalty is derived from how the optimiser applied weight decay (decoupled for AdamW and
    LazyAdamW, in the gradient for Adam and SGD): a run of every optimiser must fold its users in about as
    well as it trained them (LazyAdamW once got Adam's formula: a penalty ~1000x too big)."""
    from collab_core.data.ratings import random_split
    from collab_core.model.config import OPTIMIZERS, default_config
    from collab_core.model.training import fit

    assert optimizer in OPTIMIZERS
    ratings, _ = planted
    split = random_split(ratings, 0.1, 0)
    lr = {"sgd": 0.05}.get(optimizer, 8e-3)
    trained = fit(ratings, split, default_config(epochs=3, n_factors=8, optimizer=optimizer, lr=lr, seed=0))
    quality = FQ.foldin_quality(trained, ratings, split, max_users=40)
    assert quality.rmse_foldin < quality.rmse_trained + 0.05, (quality.rmse_foldin, quality.rmse_trained)
    # the penalty follows how the decay was applied: decoupled (AdamW's formula) or in the gradient
    as_adamw = dataclasses.replace(trained, config=dataclasses.replace(trained.config, optimizer="adamw"))
    as_adam = dataclasses.replace(trained, config=dataclasses.replace(trained.config, optimizer="adam"))
    same_as = as_adamw if optimizer in ("adamw", "lazy_adamw") else as_adam
    assert F.ridge_penalties(trained, 20) == pytest.approx(F.ridge_penalties(same_as, 20))


def test_every_optimiser_is_covered_by_the_fold_in_test():
    from collab_core.model.config import OPTIMIZERS

    assert set(OPTIMIZERS) == {"adamw", "lazy_adamw", "adam", "sgd"}  # a new one: add it to the test above
