"""Comparing runs: a run against itself, a planted rotation, partial item overlap by raw id, the CLI."""
import json

import numpy as np
import pandas as pd
import pytest
import scipy.spatial

from collab_core.analysis.compare import (
    align,
    compare_runs,
    cosine_top_k,
    jaccard_rows,
    match_items,
    why_not_comparable,
)
from collab_core.data.ratings import Ratings
from collab_core.errors import CollabError
from tests.core.planted_models import planted_model, random_rotation, with_factors
from tests.planted import planted_ratings


@pytest.fixture(scope="module")
def run_a():
    return planted_model("dot_bias", n_users=50, n_items=70, n_factors=5, n_ratings=2000)


def test_a_run_compared_with_itself(run_a):
    result = compare_runs(run_a, run_a, k=8)
    summary = result.summary()
    assert summary["jaccard_mean"] == 1.0 and summary["jaccard_median"] == 1.0
    assert summary["procrustes_disparity"] == pytest.approx(0, abs=1e-12)
    assert summary["bias_spearman"] == pytest.approx(1.0)
    assert summary["n_shared_items"] == 70 and summary["n_only_a"] == summary["n_only_b"] == 0
    assert summary["rmse_a"] == summary["rmse_b"] and result.settings.empty
    assert (result.biases["rank_change"] == 0).all() and np.allclose(result.alignment.displacement, 0, atol=1e-9)
    assert set(result.histories["run"]) == {"a", "b"}


def test_a_planted_rotation_is_recovered(run_a):
    rotation = random_rotation(5, seed=3)
    run_b = with_factors(run_a, run_a.item_factors() @ rotation, run_a.user_factors() @ rotation)
    users, items = ["0", "1", "2"], ["5", "6", "7"]
    np.testing.assert_allclose(run_b.predict(users, items), run_a.predict(users, items), atol=1e-5)
    result = compare_runs(run_a, run_b, k=8)
    assert result.alignment.disparity == pytest.approx(0, abs=1e-10)
    np.testing.assert_allclose(result.alignment.aligned_b, run_a.item_factors(), atol=1e-5)
    np.testing.assert_allclose(result.alignment.map_b, result.alignment.map_a, atol=1e-5)
    assert result.summary()["jaccard_mean"] == 1.0 and result.bias_spearman == pytest.approx(1.0)
    assert result.alignment.padding is None
    # the raw coordinates, by contrast, differ completely
    assert np.abs(run_b.item_factors() - run_a.item_factors()).max() > 0.5


def test_disparity_is_scipys_and_different_widths_are_padded(run_a):
    rng = np.random.default_rng(0)
    a = run_a.item_factors().astype(np.float64)
    noisy = a @ random_rotation(5, 1) * 2.0 + 0.3 + rng.normal(0, 0.05, a.shape)
    result = align(a, noisy)
    assert result.disparity == pytest.approx(scipy.spatial.procrustes(a, noisy)[2], rel=1e-9)
    assert 0 < result.disparity < 0.05
    wider = np.hstack([a, np.zeros((len(a), 2))]) @ random_rotation(7, 2)  # the same items in 7 dimensions
    padded = align(a, wider)
    assert padded.disparity == pytest.approx(0, abs=1e-10) and "padded with zero columns to 7" in padded.padding
    np.testing.assert_allclose(padded.aligned_b[:, :5], a, atol=1e-8)


def test_partial_overlap_is_matched_by_raw_id(run_a):
    # B: a different dataset holding items 20..69 of A (same raw ids, shuffled order) and 15 items of its own
    rng = np.random.default_rng(5)
    own = np.array([f"new{i}" for i in range(15)], dtype=object)
    ids_b = np.concatenate([rng.permutation(np.arange(20, 70).astype(str)).astype(object), own])
    ratings_b, truth_b = planted_ratings(40, len(ids_b), 2000, n_factors=5, seed=9)
    ratings_b = _with_item_ids(ratings_b, ids_b)  # from_frame re-sorts the items: use its order from here on
    assert ratings_b.n_items == len(ids_b)
    position_in_a = pd.Index(run_a.catalog.vocab.ids).get_indexer(ratings_b.item_ids)  # (n_items_b,)
    shared = position_in_a >= 0
    factors_b = truth_b.item_factors.copy()
    factors_b[shared] = run_a.item_factors()[position_in_a[shared]] @ random_rotation(5, 4)
    run_b = planted_model("dot_bias", ratings=ratings_b, truth=truth_b, item_factors=factors_b)
    match = match_items(run_a, run_b)
    assert len(match) == 50 and sorted(match.only_a) == sorted(str(i) for i in range(20))
    assert sorted(match.only_b) == sorted(own)
    assert (run_b.catalog.vocab.ids[match.index_b] == match.raw_ids).all()
    result = compare_runs(run_a, run_b, k=6)
    assert result.summary()["n_shared_items"] == 50 and result.alignment.disparity == pytest.approx(0, abs=1e-10)
    assert result.summary()["jaccard_mean"] == 1.0  # neighbours among the shared items only
    assert result.biases is not None and len(result.biases) == 50
    assert set(result.moved_most(5).columns) == {"item", "title", "count_a", "displacement"}


def _with_item_ids(ratings, item_ids):
    """`ratings` with its items renamed to `item_ids` (titles 'Item <id>'), rebuilt through from_frame."""
    frame = pd.DataFrame({"user": ratings.user_ids[ratings.user_index], "item": item_ids[ratings.item_index],
                          "rating": ratings.rating})
    meta = pd.DataFrame({"item": item_ids, "title": [f"Item {i}" for i in item_ids]})
    return Ratings.from_frame(frame, meta, name="planted B")


def test_neighbour_helpers():
    points = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9], [-1, 0]], dtype=float)
    top = cosine_top_k(points, 1)
    assert top[:, 0].tolist() == [1, 0, 3, 2, 2]  # [-1, 0] is least far from [0, 1]
    assert jaccard_rows(np.array([[1, 2, 3]]), np.array([[3, 4, 5]]))[0] == pytest.approx(1 / 5)


def test_cosine_top_k_by_blocks_equals_all_at_once(monkeypatch):
    from collab_core.analysis import compare

    points = np.random.default_rng(0).normal(size=(50, 6))
    whole = np.sort(cosine_top_k(points, 5), axis=1)
    monkeypatch.setattr(compare, "_SIMILARITY_BLOCK", 7 * 50)  # 7 rows at a time
    assert (np.sort(cosine_top_k(points, 5), axis=1) == whole).all()
    unit = points / np.linalg.norm(points, axis=1, keepdims=True)
    similarity = unit @ unit.T - 2 * np.eye(50)
    assert (whole == np.sort(np.argsort(-similarity, axis=1)[:, :5], axis=1)).all()


def test_too_few_shared_items_is_an_error(run_a):
    ratings, truth = planted_ratings(30, 20, 400, n_factors=5, seed=2)
    renamed = _with_item_ids(ratings, np.array([f"z{i}" for i in range(20)], dtype=object))
    with pytest.raises(CollabError, match="share 0 item"):
        compare_runs(run_a, planted_model("dot_bias", ratings=renamed, truth=truth))


def test_cli_compare_json(run_a, tmp_path, capsys):
    from collab_core.cli.main import main
    from collab_core.runs.store import RunStore

    store = RunStore(tmp_path / "runs")
    first = store.save(run_a, "a")
    second = store.save(with_factors(run_a, run_a.item_factors() @ random_rotation(5, 6),
                                     run_a.user_factors() @ random_rotation(5, 6)), "b")
    code = main(["compare", "--run", first, "--run", second, "-k", "5", "--json", "--runs-dir", str(store.root)])
    answer = json.loads(capsys.readouterr().out)
    assert code == 0
    assert {"jaccard_mean", "jaccard_median", "procrustes_disparity", "bias_spearman", "rmse_a", "rmse_b",
            "n_shared_items"} <= set(answer)
    assert answer["n_shared_items"] == 70 and answer["procrustes_disparity"] < 1e-9
    assert main(["compare", "--run", first, "--runs-dir", str(store.root)]) == 2
    assert "exactly two runs" in capsys.readouterr().err


def test_an_items_neighbours_in_both_runs_are_what_its_jaccard_counts(run_a):
    from collab_core.analysis.compare import neighbours_in_both

    rotated = with_factors(run_a, run_a.item_factors() @ random_rotation(5, 3), run_a.user_factors())
    noisy = with_factors(run_a, run_a.item_factors() + np.random.default_rng(1).normal(0, 0.3, (70, 5)),
                         run_a.user_factors())
    for other in (rotated, noisy):
        result = compare_runs(run_a, other, k=6)
        for item in ("0", "17", "69"):
            table = neighbours_in_both(result, run_a, other, item)
            assert len(table) == 6 and (np.diff(table["similarity_a"]) <= 1e-12).all()
            shared = int(table["in_b"].sum())
            assert shared == int(table["in_a"].sum())
            jaccard = result.neighbours.set_index("item").loc[item, "jaccard"]
            assert jaccard == pytest.approx(shared / (12 - shared))
        if other is rotated:  # a rotation keeps every neighbourhood
            assert table["in_b"].all() and list(table["title_a"]) == list(table["title_b"])
    with pytest.raises(CollabError, match="not among the 70 compared items"):
        neighbours_in_both(result, run_a, noisy, "no-such-item")


# ---------------------------------------------------------------------- which runs can be compared, cheaply
def test_the_cheap_check_says_what_compare_runs_would_refuse(run_a):
    """why_not_comparable is None exactly when compare_runs compares, and otherwise gives compare_runs' reason."""
    ratings, truth = planted_ratings(30, 20, 400, n_factors=5, seed=2)
    elsewhere = planted_model("dot_bias", ratings=_with_item_ids(ratings, np.array([f"z{i}" for i in range(20)],
                                                                                   dtype=object)), truth=truth)
    two_shared = planted_model("dot_bias", ratings=_with_item_ids(ratings, np.array(
        ["0", "1", *(f"z{i}" for i in range(18))], dtype=object)), truth=truth)
    third_most = int(np.sort(run_a.catalog.counts)[-3])  # at this minimum, 3 items (or more, with ties) are left
    cases = [(run_a, 0), (run_a, third_most), (run_a, third_most + 1), (elsewhere, 0), (two_shared, 0)]
    verdicts = []
    for run_b, min_ratings in cases:
        reason = why_not_comparable(run_a, run_b, min_ratings)
        try:
            compare_runs(run_a, run_b, k=3, min_ratings=min_ratings)
        except CollabError as exc:
            assert reason == str(exc)
        else:
            assert reason is None
        verdicts.append(reason)
    assert verdicts[:2] == [None, None]
    assert "lower the minimum" in verdicts[2]  # above the third highest count, at most 2 items are left
    assert "share 0 item(s)" in verdicts[3] and "share 2 item(s)" in verdicts[4]


def test_an_imported_run_without_counts_is_comparable_at_a_minimum_of_zero(run_a, tmp_path):
    from collab_core.runs.export import embeddings_csv
    from collab_core.runs.importer import import_embeddings

    (tmp_path / "items.csv").write_bytes(embeddings_csv(run_a))
    table = pd.read_csv(tmp_path / "items.csv", dtype={"item": str}).drop(columns=["count", "mean_rating"])
    table.to_csv(tmp_path / "uncounted.csv", index=False)
    imported, _ = import_embeddings(tmp_path / "uncounted.csv")
    assert not imported.has_counts
    assert why_not_comparable(run_a, imported, 0) is None
    assert "run B has no rating counts" in why_not_comparable(run_a, imported, 5)
    assert "set the minimum to 0" in why_not_comparable(imported, run_a, 5)
