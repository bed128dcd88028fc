"""Interpretation: PCA agrees with scikit-learn, KD-tree equals brute force, rankings and UMAP behave."""
import numpy as np
import pytest
from sklearn.decomposition import PCA

from collab_core.analysis.interpret import (
    NeighbourIndex,
    bias_ranking,
    brute_force_neighbours,
    component_extremes,
    pca,
    transposed_pca,
    umap_embed,
    user_bias_table,
)
from collab_core.errors import CollabError


def test_pca_matches_sklearn_up_to_sign():
    matrix = np.random.default_rng(0).normal(size=(300, 12)) @ np.diag(np.linspace(3, 0.1, 12))
    ours = pca(matrix, 3)
    theirs = PCA(3).fit(matrix)
    signs = np.sign((ours.components * theirs.components_).sum(axis=1))
    assert set(signs) <= {-1.0, 1.0}
    np.testing.assert_allclose(ours.components, theirs.components_ * signs[:, None], atol=1e-8)
    np.testing.assert_allclose(ours.coords, theirs.transform(matrix) * signs, atol=1e-8)
    np.testing.assert_allclose(ours.explained_variance_ratio, theirs.explained_variance_ratio_, atol=1e-10)


def test_transposed_pca_matches_sklearn_components_up_to_sign():
    factors = np.random.default_rng(1).normal(size=(50, 8))
    loadings = transposed_pca(factors, 3)  # (n_items, 3)
    reference = PCA(3).fit(factors.T).components_.T
    assert loadings.shape == (50, 3)
    np.testing.assert_allclose(np.abs(loadings), np.abs(reference), atol=1e-8)


def test_component_extremes_name_both_ends(tiny_trained):
    indices = tiny_trained.catalog.top_items(60)
    result = pca(tiny_trained.item_factors()[indices], 3)
    tables = component_extremes(result, tiny_trained.catalog.titles[indices], n=5)
    assert len(tables) == 3
    top_scores = [score for _, score in tables[0]["top"]]
    bottom_scores = [score for _, score in tables[0]["bottom"]]
    assert top_scores == sorted(top_scores, reverse=True) and bottom_scores == sorted(bottom_scores)
    assert top_scores[-1] >= bottom_scores[-1]


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_kdtree_neighbours_equal_brute_force_exactly(metric):
    factors = np.random.default_rng(2).normal(size=(500, 16)).astype(np.float32)
    candidates = np.flatnonzero(np.random.default_rng(3).random(500) < 0.7)
    for candidate_set in (None, candidates):
        index = NeighbourIndex(factors, metric, candidate_set)
        for item in range(0, 500, 25):
            found, distances = index.query_index(item, 10)
            expected, expected_distances = brute_force_neighbours(factors, item, 10, metric, candidate_set)
            assert item not in found
            assert np.array_equal(found, expected)
            np.testing.assert_allclose(distances, expected_distances, rtol=1e-9, atol=1e-12)


def test_cosine_distance_is_one_minus_cosine_similarity():
    factors = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 3.0], [-2.0, 0.0]])
    found, distances = NeighbourIndex(factors, "cosine").query_index(0, 3)
    assert found.tolist() == [1, 2, 3]
    np.testing.assert_allclose(distances, [1 - np.cos(np.pi / 4), 1.0, 2.0], atol=1e-12)


def test_query_by_vector_and_bad_queries():
    factors = np.eye(4)
    index = NeighbourIndex(factors)
    found, distances = index.query_vector([0.9, 0.1, 0, 0], k=1)
    assert found.tolist() == [0]
    with pytest.raises(CollabError, match="dimensions"):
        index.query_vector([1, 2], k=1)
    with pytest.raises(CollabError, match="k must be"):
        index.query_index(0, 0)
    with pytest.raises(CollabError, match="metric"):
        NeighbourIndex(factors, "manhattan")


def test_bias_ranking_orders_the_most_rated_items(tiny_trained):
    top, bottom = bias_ranking(tiny_trained, n=5, top_n_most_rated=50)
    assert len(top) == len(bottom) == 5
    assert list(top["bias"]) == sorted(top["bias"], reverse=True)
    assert list(bottom["bias"]) == sorted(bottom["bias"])
    assert top["bias"].iloc[0] > bottom["bias"].iloc[0]
    eligible = set(tiny_trained.catalog.top_items(50))
    assert set(top["item_index"]) <= eligible and set(bottom["item_index"]) <= eligible
    assert {"title", "bias", "mean_rating", "count", "genres"} <= set(top.columns)
    by_min, _ = bias_ranking(tiny_trained, n=5, top_n_most_rated=None, min_ratings=120)
    assert (by_min["count"] >= 120).all()
    assert len(user_bias_table(tiny_trained)) == tiny_trained.n_users


@pytest.mark.slow
def test_umap_2d_and_3d_are_reproducible_and_guarded():
    points = np.random.default_rng(4).normal(size=(80, 6))
    a = umap_embed(points, 2, n_neighbors=10, seed=1)
    b = umap_embed(points, 2, n_neighbors=10, seed=1)
    assert a.shape == (80, 2) and np.array_equal(a, b)
    assert umap_embed(points[:12], 3, n_neighbors=30).shape == (12, 3)  # n_neighbors capped at n-1
    with pytest.raises(CollabError, match="at least"):
        umap_embed(points[:3], 2)
