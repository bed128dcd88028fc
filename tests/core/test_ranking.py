"""The ranking lens (collab_core.analysis.ranking), the per-user splits (collab_core.data.splits) and `evaluate`:
a case worked by hand, agreement with a plain per-user loop, the exclusions, the baselines and the command."""
import io
import json
import math
from contextlib import redirect_stderr, redirect_stdout

import numpy as np
import pandas as pd
import pytest

from collab_core.analysis.ranking import (
    RankingReport,
    evaluate_baselines,
    evaluate_run,
    evaluate_scores,
    gini,
    popularity_scorer,
    random_scorer,
    top_items,
)
from collab_core.data.ratings import Ratings, Split
from collab_core.data.splits import split_from_description, stratified_split, time_split
from collab_core.errors import CollabError, DataError


def _ratings(users, items, values, n_users, n_items, timestamp=None) -> Ratings:
    meta = pd.DataFrame({"title": [f"Item {i}" for i in range(n_items)],
                         "year": pd.array([None] * n_items, dtype="Int64"), "genres": [[] for _ in range(n_items)]})
    return Ratings(np.asarray(users, dtype=np.int64), np.asarray(items, dtype=np.int64),
                   np.asarray(values, dtype=np.float32), np.array([str(u) for u in range(n_users)], dtype=object),
                   np.array([str(i) for i in range(n_items)], dtype=object), meta, None, name="test",
                   timestamp=None if timestamp is None else np.asarray(timestamp, dtype=np.int64))


# ---------------------------------------------------------------------- by hand: 3 users, 6 items, k = 3
# rows: (user, item, rating); the first four train, the rest are held out
_ROWS = [(0, 0, 4), (1, 5, 3), (1, 4, 2), (2, 2, 5),  # training: u0 {0}, u1 {5, 4}, u2 {2}
         (0, 2, 5), (0, 4, 2), (1, 3, 4), (1, 0, 3), (1, 1, 5), (2, 1, 1)]  # held out: u0 {2,4} u1 {3,0,1} u2 {1}
_SCORES = np.array([[0.9, 0.8, 0.7, 0.6, 0.5, 0.4],  # u0: 0 is trained on -> top 1, 2, 3: hits at rank 2
                    [0.1, 0.2, 0.3, 0.4, 0.5, 0.6],  # u1: 5, 4 trained on -> top 3, 2, 1: hits at ranks 1 and 3
                    [0.5, 0.1, 0.9, 0.2, 0.3, 0.4]], dtype=np.float32)  # u2: 2 trained on -> 0, 5, 4: no hit


@pytest.fixture()
def hand():
    users, items, values = zip(*_ROWS)
    return _ratings(users, items, values, 3, 6), Split(np.arange(4), np.arange(4, 10), "by hand")


def test_a_case_worked_by_hand(hand):
    ratings, split = hand
    report = evaluate_scores(lambda chunk: _SCORES[chunk], ratings, split, k=3, chunk_size=2)  # two chunks
    log3 = math.log2(3)
    # u0: hits [0,1,0], 2 relevant: P 1/3, R 1/2, DCG 1/log2(3), IDCG 1 + 1/log2(3), AP (1/2)/min(3,2), RR 1/2
    # u1: hits [1,0,1], 3 relevant: P 2/3, R 2/3, DCG 1 + 1/2, IDCG 1 + 1/log2(3) + 1/2, AP (1 + 2/3)/3, RR 1
    # u2: no hit: every metric 0
    ndcg = [(1 / log3) / (1 + 1 / log3), 1.5 / (1.5 + 1 / log3), 0.0]
    assert report.n_users == 3 and report.k == 3
    assert report.precision == pytest.approx((1 / 3 + 2 / 3) / 3)
    assert report.recall == pytest.approx((1 / 2 + 2 / 3) / 3)
    assert report.ndcg == pytest.approx(sum(ndcg) / 3)
    assert report.user_ndcg == pytest.approx(ndcg) and list(report.user_ids) == ["0", "1", "2"]
    assert report.map == pytest.approx((0.25 + 5 / 9) / 3)
    assert report.hit_rate == pytest.approx(2 / 3) and report.mrr == pytest.approx(0.5)
    # recommended: u0 {1,2,3}, u1 {3,2,1}, u2 {0,5,4}: every item; counts [1,2,2,2,1,1]
    assert report.coverage == 1.0
    assert report.gini == pytest.approx(1 / 6)  # sorted [1,1,1,2,2,2]: (-5-3-1+2+6+10) / (6 * 9)
    # training counts [1,0,1,0,1,1]: recommendations (1*1 + 2*0 + 2*1 + 2*0 + 1*1 + 1*1) / 9; held out 3 / 6
    assert report.mean_popularity == pytest.approx(5 / 9) and report.heldout_popularity == pytest.approx(0.5)
    # every recommended item with a training rating was rated by 1 of the 3 training users
    assert report.novelty == pytest.approx(log3)
    values = report.to_json(per_user=True)
    json.dumps(values)  # plain numbers
    assert values["per_user"]["ndcg"] == pytest.approx(ndcg)


def test_threshold_keeps_only_high_held_out_ratings(hand):
    ratings, split = hand
    report = evaluate_scores(lambda chunk: _SCORES[chunk], ratings, split, k=3, threshold=4)
    # relevant: u0 {2} (5; 4 has 2), u1 {3, 1} (4 and 5; 0 has 3), u2 none (1): u2 is not judged
    # u0: hits [0,1,0] -> nDCG (1/log2 3) / 1; u1: hits [1,0,1] -> nDCG 1.5 / (1 + 1/log2 3)
    assert report.n_users == 2 and list(report.user_ids) == ["0", "1"]
    assert report.user_ndcg == pytest.approx([1 / math.log2(3), 1.5 / (1 + 1 / math.log2(3))])
    assert report.recall == pytest.approx((1 + 1) / 2) and report.precision == pytest.approx(0.5)
    with pytest.raises(DataError, match="no user has a relevant"):
        evaluate_scores(lambda chunk: _SCORES[chunk], ratings, split, k=3, threshold=6)


def test_training_items_are_never_recommended(hand):
    ratings, split = hand
    loud = lambda chunk: np.where(np.arange(6) % 2 == 0, 100.0, 0.0)[None].repeat(len(chunk), 0)  # noqa: E731
    top, valid = top_items(loud, ratings, split, np.arange(3), k=6)
    trained_on = {(u, i) for u, i, _ in _ROWS[:4]}
    assert not any((u, int(i)) in trained_on for u in range(3) for i, ok in zip(top[u], valid[u]) if ok)
    assert valid.sum(axis=1).tolist() == [5, 4, 5]  # 6 items less the user's training ones; the rest marked invalid


# ---------------------------------------------------------------------- against a plain per-user loop
def _by_loop(scores, train, valid, ratings, k):
    """Every metric the slow, obvious way: one user at a time, Python sets and sorts."""
    trained = {}
    for r in train:
        trained.setdefault(int(ratings.user_index[r]), set()).add(int(ratings.item_index[r]))
    relevant = {}
    for r in valid:
        relevant.setdefault(int(ratings.user_index[r]), set()).add(int(ratings.item_index[r]))
    out = {m: [] for m in ("precision", "recall", "ndcg", "map", "hit_rate", "mrr")}
    for user in sorted(relevant):
        candidates = [i for i in range(ratings.n_items) if i not in trained.get(user, set())]
        ranked = sorted(candidates, key=lambda i: -scores[user, i])[:k]
        rel = relevant[user]
        hits = [i in rel for i in ranked]
        dcg = sum(1 / math.log2(rank + 2) for rank, h in enumerate(hits) if h)
        idcg = sum(1 / math.log2(rank + 2) for rank in range(min(k, len(rel))))
        ap = sum(sum(hits[: rank + 1]) / (rank + 1) for rank, h in enumerate(hits) if h) / min(k, len(rel))
        first = next((rank + 1 for rank, h in enumerate(hits) if h), None)
        for name, value in (("precision", sum(hits) / k), ("recall", sum(hits) / len(rel)), ("ndcg", dcg / idcg),
                            ("map", ap), ("hit_rate", float(any(hits))), ("mrr", 1 / first if first else 0.0)):
            out[name].append(value)
    return {m: float(np.mean(v)) for m, v in out.items()}, out["ndcg"]


def test_agrees_with_a_plain_per_user_loop():
    rng = np.random.default_rng(7)
    n_users, n_items = 50, 40
    cells = rng.choice(n_users * n_items, size=700, replace=False)
    ratings = _ratings(cells // n_items, cells % n_items, rng.integers(1, 6, 700), n_users, n_items)
    split = stratified_split(ratings, 0.7, seed=3)
    scores = rng.normal(size=(n_users, n_items)).astype(np.float32)  # (n_users, n_items)
    report = evaluate_scores(lambda chunk: scores[chunk], ratings, split, k=10, chunk_size=7)
    expected, ndcg = _by_loop(scores, split.train, split.valid, ratings, 10)
    for name, value in expected.items():
        assert getattr(report, name) == pytest.approx(value), name
    assert report.user_ndcg == pytest.approx(ndcg)


# ---------------------------------------------------------------------- baselines and runs
def test_baselines_on_the_same_split(planted):
    ratings, _ = planted
    split = stratified_split(ratings, 0.75, seed=1)
    found = evaluate_baselines(ratings, split, k=5, seed=4)
    assert set(found) == {"most popular", "random"}
    counts = np.bincount(ratings.item_index[split.train], minlength=ratings.n_items)
    top, _ = top_items(popularity_scorer(ratings, split), ratings, split, np.array([0]), k=5)
    own = set(ratings.item_index[split.train][ratings.user_index[split.train] == 0])
    best = [i for i in np.argsort(-counts, kind="stable") if i not in own]
    assert sorted(counts[top[0]]) == sorted(counts[best[:5]])  # the five most rated the user has not rated
    again = evaluate_scores(random_scorer(ratings.n_items, 4), ratings, split, k=5)
    assert again.ndcg == found["random"].ndcg  # seeded
    assert found["most popular"].coverage < found["random"].coverage
    assert found["most popular"].mean_popularity > found["random"].mean_popularity
    assert 0 <= found["random"].gini < found["most popular"].gini <= 1


def test_a_run_is_evaluated_through_its_factors(planted, tiny_trained):
    ratings, _ = planted
    split = stratified_split(ratings)
    report = evaluate_run(tiny_trained, ratings, split, k=10)
    assert isinstance(report, RankingReport) and report.model == "dot_bias" and report.n_users == ratings.n_users
    # the same as scoring with the model's own predictions of every pair (the sigmoid keeps the order)
    users = np.repeat(np.arange(ratings.n_users), ratings.n_items)
    items = np.tile(np.arange(ratings.n_items), ratings.n_users)
    predicted = tiny_trained.predict(ratings.user_ids[users], ratings.item_ids[items]).reshape(ratings.n_users, -1)
    direct = evaluate_scores(lambda chunk: predicted[chunk], ratings, split, k=10)
    assert report.ndcg == pytest.approx(direct.ndcg, abs=1e-3)
    with pytest.raises(CollabError, match="k must be"):
        evaluate_run(tiny_trained, ratings, split, k=0)


def test_gini_limits():
    assert gini(np.array([3, 3, 3])) == 0.0 and gini(np.zeros(4)) == 0.0
    assert gini(np.array([0, 0, 0, 8])) == pytest.approx(3 / 4)


# ---------------------------------------------------------------------- splits
def _timed(n_users=30, n_items=25, n=400, seed=0):
    rng = np.random.default_rng(seed)
    cells = rng.choice(n_users * n_items, size=n, replace=False)
    return _ratings(cells // n_items, cells % n_items, rng.integers(1, 6, n), n_users, n_items,
                    timestamp=rng.integers(0, 10**9, n))


def test_stratified_split_keeps_each_users_share_and_is_seeded():
    ratings = _timed()
    split = stratified_split(ratings, 0.75, seed=42)
    assert split.description == "per-user 75/25 (seed 42)"
    train_counts = np.bincount(ratings.user_index[split.train], minlength=ratings.n_users)
    assert (train_counts == np.maximum(np.rint(0.75 * ratings.user_counts), 1)).all()
    assert len(np.intersect1d(split.train, split.valid)) == 0 and len(split.train) + len(split.valid) == 400
    same, other = stratified_split(ratings, 0.75, seed=42), stratified_split(ratings, 0.75, seed=1)
    assert np.array_equal(same.valid, split.valid) and not np.array_equal(other.valid, split.valid)
    rebuilt = split_from_description(ratings, split.description)
    assert np.array_equal(rebuilt.valid, split.valid)
    lone = _ratings([0, 1, 1], [0, 0, 1], [3, 4, 5], 2, 2)
    assert list(lone.user_index[stratified_split(lone, 0.1).train]) == [0, 1]  # one rating: kept in training
    with pytest.raises(DataError, match="ratio"):
        stratified_split(ratings, 1.0)


def test_time_split_holds_out_each_users_latest():
    ratings = _timed()
    split = time_split(ratings, 0.75)
    assert split.description == "per-user latest 25%"
    for user in range(ratings.n_users):
        train = ratings.timestamp[split.train][ratings.user_index[split.train] == user]
        held = ratings.timestamp[split.valid][ratings.user_index[split.valid] == user]
        assert len(held) == ratings.user_counts[user] - max(1, round(0.75 * ratings.user_counts[user]))
        assert len(held) == 0 or held.min() >= train.max()
    assert np.array_equal(split_from_description(ratings, split.description).valid, split.valid)
    with pytest.raises(DataError, match="no rating times"):
        time_split(_ratings([0, 1], [0, 1], [3, 4], 2, 2))


def test_timestamps_survive_loading_subsets_and_merged_duplicates():
    frame = pd.DataFrame({"user": ["a", "a", "b", "a"], "item": ["x", "y", "x", "x"], "rating": [2, 4, 5, 4],
                          "timestamp": [10, 20, 30, 40]})
    ratings = Ratings.from_frame(frame)
    assert ratings.n_ratings == 3  # (a, x) twice: one rating, its latest time
    times = dict(zip(zip(ratings.user_ids[ratings.user_index], ratings.item_ids[ratings.item_index]),
                     ratings.timestamp))
    assert times == {("a", "x"): 40, ("a", "y"): 20, ("b", "x"): 30}
    assert ratings.subset(np.array([1, 2])).timestamp.tolist() == ratings.timestamp[[1, 2]].tolist()
    with pytest.raises(DataError, match="timestamp of row 2"):
        Ratings.from_frame(frame.assign(timestamp=["1", "soon", "3", "4"]))


# ---------------------------------------------------------------------- the command
def _cli(*args):
    from collab_core.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


def test_evaluate_command_end_to_end(tmp_path):
    from tests.planted import planted_ratings

    ratings, _ = planted_ratings(n_users=60, n_items=40, n_ratings=1500, seed=3)
    ratings.to_frame().to_csv(tmp_path / "all.csv", index=False)
    runs = tmp_path / "runs"
    code, out, err = _cli("train", "--train", tmp_path / "all.csv", "--split", "stratified", "--epochs", "1",
                          "--factors", "4", "--quiet", "--runs-dir", runs)
    assert code == 0, err
    trained = json.loads(out.strip().splitlines()[-1])
    assert trained["split"] == "per-user 75/25 (seed 42)"

    code, out, err = _cli("evaluate", "--run", trained["run_id"], "--dataset", tmp_path / "all.csv", "-k", "5",
                          "--json", "--runs-dir", runs)
    assert code == 0, err
    answer = json.loads(out)
    assert answer["own_split"] and answer["warning"] is None and err == ""
    assert [r["model"] for r in answer["results"]] == ["dot_bias", "most popular", "random"]
    assert all(0 <= r["ndcg"] <= 1 and r["k"] == 5 for r in answer["results"])

    code, out, err = _cli("evaluate", "--run", trained["run_id"], "--dataset", tmp_path / "all.csv",
                          "--split", "random", "--runs-dir", runs)
    assert code == 0, err
    assert "optimistic" in err and "nDCG@k" in out and "most popular" in out

    code, _, err = _cli("evaluate", "--run", trained["run_id"], "--dataset", tmp_path / "all.csv",
                        "--split", "time", "--runs-dir", runs)
    assert code == 2 and "no rating times" in err


def test_the_long_tail_groups_add_up_and_most_popular_sits_in_the_head():
    from collab_core.analysis.ranking import evaluate_baselines, long_tail
    from collab_core.data.splits import stratified_split
    from tests.planted import planted_ratings

    ratings, _ = planted_ratings(n_users=60, n_items=50, n_ratings=1500, n_factors=2, seed=1)
    report = evaluate_baselines(ratings, stratified_split(ratings, 0.75, 42), k=5)["most popular"]
    spread = long_tail(report, n_groups=5)
    assert spread["items"].sum() == ratings.n_items
    assert np.isclose(spread["recommended_share"].sum(), 1) and np.isclose(spread["heldout_share"].sum(), 1)
    assert spread["recommended_share"][0] > spread["heldout_share"][0]  # popularity bias, by construction
    assert 0 < report.item_recommended.sum() <= 5 * report.n_users  # k per user, fewer where a user ran out


def test_top_k_overlap_is_one_with_itself_and_counts_shared_items():
    from collab_core.analysis.ranking import popularity_scorer, random_scorer, top_k_overlap
    from collab_core.data.splits import stratified_split
    from tests.planted import planted_ratings

    ratings, _ = planted_ratings(n_users=40, n_items=30, n_ratings=700, n_factors=2, seed=2)
    split = stratified_split(ratings, 0.75, 42)
    popular = popularity_scorer(ratings, split)
    users, same = top_k_overlap(popular, popular, ratings, split, k=5)
    assert len(users) == len(same) > 0 and np.allclose(same, 1)
    _, other = top_k_overlap(popular, random_scorer(ratings.n_items, 3), ratings, split, k=5)
    assert ((other >= 0) & (other <= 1)).all() and other.mean() < 0.6
    # reversed scores put the other end of the catalogue first: nothing shared while a user has >= 2k items left
    forward = lambda chunk: np.tile(np.arange(ratings.n_items, dtype=np.float32), (len(chunk), 1))  # noqa: E731
    users, none_shared = top_k_overlap(forward, lambda chunk: -forward(chunk), ratings, split, k=5)
    left = ratings.n_items - np.bincount(ratings.user_index[split.train], minlength=ratings.n_users)
    position = {u: i for i, u in enumerate(ratings.user_ids)}
    assert (none_shared[left[[position[u] for u in users]] >= 10] == 0).all()


def test_a_capped_evaluation_judges_one_seeded_sample_of_users_for_every_scorer():
    from collab_core.analysis.ranking import evaluate_baselines, popularity_scorer, top_k_overlap
    from collab_core.data.splits import stratified_split
    from tests.planted import planted_ratings

    ratings, _ = planted_ratings(n_users=80, n_items=40, n_ratings=2000, n_factors=2, seed=4)
    split = stratified_split(ratings, 0.75, 42)
    reports = evaluate_baselines(ratings, split, k=5, max_users=25)
    popular, rand = reports["most popular"], reports["random"]
    assert popular.n_users == rand.n_users == 25 and list(popular.user_ids) == list(rand.user_ids)
    users, _ = top_k_overlap(popularity_scorer(ratings, split), popularity_scorer(ratings, split), ratings, split,
                             k=5, max_users=25)
    assert list(users) == list(popular.user_ids)
    full = evaluate_baselines(ratings, split, k=5)["most popular"]
    assert full.n_users > 25 and set(popular.user_ids) < set(full.user_ids)
