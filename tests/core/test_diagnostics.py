"""Diagnostics: a prediction's parts add up to it, 'nn' says what does not apply, and the norm and error
tables hold what they document on a tiny trained planted model."""
import numpy as np
import pytest

from collab_core.analysis import diagnostics as D
from collab_core.errors import DataError, UnknownIdError
from tests.core.planted_models import planted_model


@pytest.fixture(scope="module")
def skewed():
    """Planted ratings where item i keeps a share exp(-i / 30) of its ratings (1 to ~100 each), a tiny
    dot_bias trained on them, and the split: (ratings, split, trained)."""
    from collab_core.data.ratings import random_split
    from collab_core.model.config import default_config
    from collab_core.model.training import fit
    from tests.planted import planted_ratings

    ratings, _ = planted_ratings(200, 120, 12_000, n_factors=3, noise=0.25, seed=0)
    keep = np.random.default_rng(0).random(ratings.n_ratings) < np.exp(-ratings.item_index / 30.0)
    ratings = ratings.subset(keep)
    split = random_split(ratings, 0.1, 0)
    return ratings, split, fit(ratings, split, default_config(epochs=3, n_factors=8))


@pytest.mark.parametrize("kind", ["dot", "dot_bias"])
def test_the_parts_sum_to_the_prediction(kind):
    trained = planted_model(kind, n_factors=6)
    for user, item in [("0", "0"), ("3", "17"), ("59", "79")]:
        parts = D.explain_prediction(trained, user, item)
        assert parts.prediction == pytest.approx(float(trained.predict([user], [item])[0]), abs=1e-6)
        assert parts.from_parts == pytest.approx(parts.prediction, abs=1e-5)
        assert parts.factors["product"].sum() == pytest.approx(parts.dot)
        magnitudes = parts.factors["product"].abs().to_numpy()
        assert (np.diff(magnitudes) <= 0).all() and sorted(parts.factors["factor"]) == list(range(6))
        if kind == "dot":
            assert parts.user_bias is None and parts.y_range is None and parts.raw_score == parts.dot
            assert set(parts.not_applicable) == {"biases", "sigmoid"}
        else:
            assert parts.raw_score == pytest.approx(parts.dot + parts.user_bias + parts.item_bias)
            assert parts.not_applicable == {}


def test_nn_says_what_does_not_apply():
    trained = planted_model("nn", n_factors=4)
    parts = D.explain_prediction(trained, "2", "9")
    assert parts.factors is None and parts.dot is None and parts.user_bias is None
    assert "MLP" in parts.not_applicable["factors"] and "biases" in parts.not_applicable
    assert parts.from_parts == pytest.approx(parts.prediction, abs=1e-5)


def test_the_actual_rating_comes_from_the_ratings(skewed):
    ratings, _, trained = skewed
    row = 10
    user, item = ratings.user_ids[ratings.user_index[row]], ratings.item_ids[ratings.item_index[row]]
    parts = D.explain_prediction(trained, user, item, ratings)
    assert parts.actual == pytest.approx(float(ratings.rating[row]))
    assert parts.error == pytest.approx(parts.prediction - parts.actual)
    rated = set(ratings.item_ids[ratings.item_index[ratings.user_index == ratings.user_index[row]]])
    unrated = next(i for i in ratings.item_ids if i not in rated)
    assert D.explain_prediction(trained, user, unrated, ratings).actual is None
    with pytest.raises(UnknownIdError, match="unknown user id"):
        D.explain_prediction(trained, "no such user", item)


def test_norms_grow_with_popularity(skewed):
    _, _, trained = skewed
    report = D.norms_vs_popularity(trained, pca_min_ratings=20)
    assert list(report.items.columns) == ["item", "title", "count", "log10_count", "norm", "bias", "pc1",
                                          "in_pca_fit"]
    assert len(report.items) == trained.n_items
    np.testing.assert_allclose(report.items["norm"], np.linalg.norm(trained.item_factors(), axis=1), rtol=1e-6)
    np.testing.assert_allclose(report.items["log10_count"], np.log10(trained.catalog.counts))
    assert (report.items["in_pca_fit"] == (trained.catalog.counts >= 20)).all()
    assert report.spearman_norm_log_count > 0.3  # weight decay keeps rarely-rated items near the origin
    assert report.by_count["median_norm"].iloc[0] < report.by_count["median_norm"].iloc[-1]
    assert report.by_count["n_items"].sum() == trained.n_items and "its embedding" in report.summary


def test_count_bins():
    assert D.count_bins(120).tolist() == [0, 1, 2, 5, 10, 20, 50, 100, 200]
    assert D.count_bins(0).tolist() == [0, 1]


def test_where_wrong(skewed):
    ratings, split, trained = skewed
    report = D.where_wrong(trained, ratings, split, n_worst=5)
    assert report.rmse == pytest.approx(trained.metrics["rmse"], abs=1e-5)
    assert len(report.errors) == len(split.valid)
    np.testing.assert_allclose(report.errors["error"], report.errors["prediction"] - report.errors["rating"])
    item_train = np.bincount(ratings.item_index[split.train], minlength=ratings.n_items)
    assert (report.errors["item_train_count"].to_numpy() == item_train[ratings.item_index[split.valid]]).all()
    for table in (report.by_item_count, report.by_user_count):
        assert list(table.columns) == ["bin", "low", "high", "n_ratings", "rmse", "mean_error"]
        assert table["n_ratings"].sum() == len(split.valid) and (table["rmse"] >= 0).all()
    assert list(report.worst.columns) == ["user", "item", "title", "rating", "prediction", "error"]
    assert len(report.worst) == 5 and report.worst["error"].abs().iloc[0] == report.errors["abs_error"].max()
    assert (np.diff(report.worst["error"].abs()) <= 0).all()


def test_where_wrong_refuses_other_ratings(skewed, planted):
    _, split, trained = skewed
    with pytest.raises(DataError, match="not the ones the run was trained on"):
        D.where_wrong(trained, planted[0], split)


def test_the_runs_own_split_is_rebuilt_from_what_it_stores(skewed):
    from collab_core.data.ratings import random_split
    from collab_core.model.training import fit

    ratings, split, trained = skewed
    rebuilt = D.reproduce_split(trained, ratings)
    assert np.array_equal(rebuilt.valid, split.valid) and np.array_equal(rebuilt.train, split.train)
    assert D.where_wrong(trained, ratings, rebuilt).rmse == pytest.approx(trained.metrics["rmse"], abs=1e-5)
    # a fraction whose percentage is rounded in the description ('12%') still comes back exactly
    odd = random_split(ratings, 0.125, 7)
    from collab_core.model.config import default_config
    other = fit(ratings, odd, default_config(epochs=1, n_factors=2))
    assert other.metrics["split"] == "random 12% (seed 7)"
    assert np.array_equal(D.reproduce_split(other, ratings).valid, odd.valid)


def test_a_split_that_cannot_be_rebuilt_says_why(skewed, planted):
    from dataclasses import replace

    ratings, _, trained = skewed
    explicit = replace(trained, metrics={**trained.metrics, "split": "explicit validation set (12 ratings)"})
    with pytest.raises(DataError, match=r"explicit validation set \(12 ratings\)\) cannot be rebuilt"):
        D.reproduce_split(explicit, ratings)
    with pytest.raises(DataError, match="not the ones the run was trained on"):
        D.reproduce_split(trained, planted[0])
