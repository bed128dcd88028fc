"""The ML-25M-shaped run (collab_core.bench.scale_run), built at a tiny ScaleShape: its shape, its long tail, its
planted structure, and the two saved runs that Compare reads."""
import numpy as np
from scipy.spatial import procrustes

from collab_core.bench.scale_run import ScaleShape, save_scale_runs, scale_run
from collab_core.bench.synthetic import long_tailed_counts
from collab_core.runs.store import RunStore

TINY = ScaleShape(n_users=300, n_items=500, n_ratings=20_000, n_factors=8)


def test_counts_have_the_total_the_minimum_and_the_cap():
    counts = long_tailed_counts(np.random.default_rng(0), 500, 20_000, 1, 2.2, max_share=0.05)
    assert counts.sum() == 20_000 and counts.min() >= 1 and counts.max() <= 0.05 * 20_000 + 1
    assert np.median(counts) < counts.mean() / 2  # long-tailed: most items have far fewer than the mean


def test_a_scale_run_has_the_shape_asked_for_and_factors_that_grow_with_counts():
    run = scale_run(0, TINY)
    assert (run.n_items, run.item_factors().shape[1], len(run.users)) == (500, 8, 300)
    assert run.catalog.counts.sum() == 20_000 and run.user_counts.sum() == 20_000
    norms = np.linalg.norm(run.item_factors(), axis=1)
    rare, popular = run.catalog.counts <= np.quantile(run.catalog.counts, 0.25), run.catalog.top_items(25)
    assert norms[popular].mean() > 2 * norms[rare].mean()  # weight decay's signature
    assert np.isfinite(run.predict(["1", "2"], run.catalog.vocab.ids[:2])).all()


def test_another_seed_is_the_same_items_along_turned_axes():
    a, b = scale_run(0, TINY), scale_run(1, TINY)
    assert list(a.catalog.titles) == list(b.catalog.titles)
    fa, fb = a.item_factors(), b.item_factors()  # (500, 8) each
    assert not np.allclose(fa, fb)
    norms_a, norms_b = np.linalg.norm(fa, axis=1), np.linalg.norm(fb, axis=1)  # (500,) each: rotation-free
    assert np.corrcoef(norms_a, norms_b)[0, 1] > 0.8
    unrelated = np.random.default_rng(0).normal(size=fa.shape)  # (500, 8)
    assert procrustes(fa, fb)[2] < procrustes(fa, unrelated)[2] - 0.1  # B turned back onto A fits better


def test_save_scale_runs_saves_named_loadable_runs_once(tmp_path):
    ids = save_scale_runs(tmp_path, 2, TINY)
    assert ids == ["scale-run-0", "scale-run-1"]
    store = RunStore(tmp_path)
    assert {info.run_id: info.name for info in store.list()} == {"scale-run-0": "ML-25M-shaped, seed 0",
                                                                "scale-run-1": "ML-25M-shaped, seed 1"}
    assert store.load("scale-run-1").n_items == 500
    assert save_scale_runs(tmp_path, 2, TINY) == ids  # already there: kept, not rebuilt
