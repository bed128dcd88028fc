"""An imported run is a run like any other: the same whole-matrix API as a trained run, saved and
validated as strictly (a damaged one is listed as unreadable with the reason), and usable by fold-in and
comparison; what it lacks reads as absent, and whatever needs a network says so."""
import json
import re

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from collab_core.analysis import compare, foldin, foldin_explain, foldin_inputs
from collab_core.analysis.diagnostics import explain_prediction, norms_vs_popularity
from collab_core.errors import CollabError, RunStoreError
from collab_core.runs import export
from collab_core.runs.importer import import_embeddings
from collab_core.runs.store import RunStore, choose_default
from tests.core.test_run_schema import assert_refused_everywhere, rewrite_json


@pytest.fixture()
def exported(tiny_trained, tmp_path):
    """tiny_trained's embeddings CSV (vectors, ids, titles, counts, means, biases) and user vectors."""
    (tmp_path / "items.csv").write_bytes(export.embeddings_csv(tiny_trained))
    users = tiny_trained.user_factors()
    np.save(tmp_path / "users.npy", users)
    (tmp_path / "users.tsv").write_text("user\tbias\n" + "".join(
        f"{u}\t{b!r}\n" for u, b in zip(tiny_trained.users.ids, tiny_trained.user_biases().tolist())))
    return tmp_path


@pytest.fixture()
def with_users(exported):
    run, _ = import_embeddings(exported / "items.csv", user_vectors=exported / "users.npy",
                               user_metadata=exported / "users.tsv")
    return run


@pytest.fixture()
def saved_import(with_users, tmp_path):
    store = RunStore(tmp_path / "runs")
    return store, store.save(with_users, "imported", name="elsewhere")


def test_the_whole_matrix_api_of_an_imported_run(with_users, tiny_trained):
    run = with_users
    assert run.imported and not tiny_trained.imported and run.config is None and run.model_kind == "imported"
    assert run.n_items == tiny_trained.n_items and run.n_users == tiny_trained.n_users
    np.testing.assert_array_equal(run.item_factors(), tiny_trained.item_factors())
    np.testing.assert_array_equal(run.item_biases(), tiny_trained.item_biases())
    np.testing.assert_array_equal(run.user_factors(), tiny_trained.user_factors())
    np.testing.assert_array_equal(run.user_biases(), tiny_trained.user_biases())
    assert run.has_bias and run.has_counts and run.metrics == {} and run.history == []
    assert run.settings() == {"model": "imported", "dim": 8} and run.dataset == "items.csv"
    np.testing.assert_array_equal(run.item_weight(["3"]), tiny_trained.item_weight(["3"]))
    with pytest.raises(CollabError, match="predicting ratings needs a trained model; this run is imported"):
        run.predict(["0"], ["0"])
    with pytest.raises(CollabError, match="needs a trained model"):
        explain_prediction(run, "0", "0")
    assert norms_vs_popularity(run).items["norm"].size == run.n_items


def test_an_imported_run_saves_lists_and_loads_like_any_run(saved_import, with_users):
    store, run_id = saved_import
    info = {i.run_id: i for i in store.list()}[run_id]
    assert info.ok and info.model == "imported" and info.config is None and info.name == "elsewhere"
    assert choose_default(store.list(), None, None) == run_id  # the only readable run; never preferred otherwise
    loaded = store.load(run_id)
    assert loaded.imported and loaded.source == with_users.source and loaded.name == "elsewhere"
    np.testing.assert_array_equal(loaded.user_biases(), with_users.user_biases())
    np.testing.assert_array_equal(loaded.catalog.means, with_users.catalog.means)
    meta = json.loads((store.root / run_id / "run.json").read_text())
    assert meta["config"] is None and meta["imported"]["dim"] == 8 and "rmse" not in meta["metrics"]


def test_trained_runs_write_no_imported_field(tiny_trained, tmp_path):
    store = RunStore(tmp_path / "runs")
    run_id = store.save(tiny_trained)
    assert "imported" not in json.loads((store.root / run_id / "run.json").read_text())
    assert not store.load(run_id).imported


def _set(path, value):
    def change(meta):
        target = meta
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return change


@pytest.mark.parametrize("path, value, reason", [
    (("config",), {"model": "dot"}, "an imported run has no training settings: 'config' must be null"),
    (("history",), [{"epoch": 1}], "an imported run has no training history"),
    (("metrics", "rmse"), 0.9, "an imported run has no validation score: metrics 'rmse' must be absent"),
    (("imported",), "yes", "'imported' must be an object"),
    (("imported", "dim"), "8", "'dim' must be a whole number"),
    (("imported", "dim"), 0, "imported 'dim' must be from 1 to"),
    (("imported", "dim"), 9, "tensor 'item_factors.weight' is F32 [120, 8], expected F32 [120, 9]"),
    (("imported", "files", "weights"), "x.pt", "imported 'files' has unknown role(s) 'weights'"),
    (("imported", "columns", "id"), 5, "imported columns['id'] must be text"),
    (("imported", "files"), {"metadata": "m.tsv"}, "imported 'files' must name the 'vectors' file"),
    (("n_users",), 1, "n_users is 1, but the imported files include user vectors"),
    (("n_users",), 0, "n_users is 0, but the imported files include user vectors"),
])
def test_each_bad_field_of_an_imported_run_json_is_named(saved_import, capsys, path, value, reason):
    store, run_id = saved_import
    rewrite_json(store.root / run_id / "run.json", _set(path, value))
    assert_refused_everywhere(store, run_id, reason, capsys)


def test_a_bias_column_without_its_tensor_is_refused(saved_import, capsys):
    store, run_id = saved_import
    path = store.root / run_id / "weights.safetensors"
    weights = load_file(str(path))
    del weights["item_bias.weight"]
    save_file(weights, str(path))
    assert_refused_everywhere(store, run_id, "missing tensor(s) item_bias.weight", capsys)


@pytest.mark.parametrize("file, tensor, damage, reason", [
    ("weights.safetensors", "item_factors.weight", lambda t: t.index_fill(0, torch.tensor([3]), float("nan")),
     "tensor 'item_factors.weight' holds 8 non-finite value(s) (NaN or infinity); import it again"),
    ("weights.safetensors", "user_bias.weight", lambda t: t[:-1], "tensor 'user_bias.weight' is F32 [199, 1]"),
    ("stats.safetensors", "item_means", lambda t: t.index_fill(0, torch.tensor([0]), float("inf")),
     "'item_means' holds an infinite mean"),
    ("stats.safetensors", "item_counts", lambda t: -t, "'item_counts' holds negative counts"),
])
def test_each_damaged_tensor_of_an_imported_run_is_named(saved_import, capsys, file, tensor, damage, reason):
    store, run_id = saved_import
    path = store.root / run_id / file
    tensors = load_file(str(path))
    tensors[tensor] = damage(tensors[tensor]).contiguous()
    save_file(tensors, str(path))
    if file == "stats.safetensors" or "non-finite" in reason:  # values: only a full load can see them
        assert {i.run_id: i for i in store.list()}[run_id].ok
        with pytest.raises(RunStoreError, match=re.escape(reason)):
            store.load(run_id)
    else:
        assert_refused_everywhere(store, run_id, reason, capsys)


# ---------------------------------------------------------------------- fold-in ("You") on imported vectors
def test_fold_in_on_vectors_alone_without_item_biases(tmp_path):
    np.save(tmp_path / "v.npy", np.random.default_rng(0).normal(size=(30, 4)).astype(np.float32))
    run, _ = import_embeddings(tmp_path / "v.npy")
    fold = foldin.fold_in(run, foldin_inputs.parse_ratings(run, ["0=5", "1=1", "2=4.5", "3=-2"]))  # any finite rating
    assert fold.model_kind == "dot" and fold.bias is None and fold.method == "ridge"
    factors = run.item_factors().astype(np.float64)
    lam = float(np.mean(factors**2))
    q = factors[[0, 1, 2, 3]]
    expected = np.linalg.solve(q.T @ q + lam * np.eye(4), q.T @ np.array([5, 1, 4.5, -2]))
    np.testing.assert_allclose(fold.vector, expected)
    found = foldin_explain.recommend(run, fold, 5)
    np.testing.assert_allclose(found["score"], factors[found["item_index"]] @ fold.vector)
    assert foldin_inputs.rating_bounds(run) is None
    with pytest.raises(CollabError, match="no user vectors"):
        foldin_explain.nearest_users(run, fold)


def test_fold_in_with_item_biases_and_nearest_users(with_users, tiny_trained):
    ratings = {0: 5.0, 3: 1.0, 10: 4.0, 11: 3.5}
    fold = foldin.fold_in(with_users, ratings)
    assert fold.model_kind == "linear_bias" and fold.bias is not None and fold.ridge_bias == 1.0
    z = np.hstack([with_users.item_factors()[[0, 3, 10, 11]], np.ones((4, 1))]).astype(np.float64)
    offsets = with_users.item_biases()[[0, 3, 10, 11]].astype(np.float64)
    np.testing.assert_allclose(fold.fitted, z @ fold.augmented + offsets)
    explained = foldin_explain.explain_item(with_users, fold, 20)
    linear = foldin_explain.linear_scores(with_users, fold, np.array([20]))[0]
    assert explained["contribution"].sum() == pytest.approx(linear)
    found = foldin_explain.recommend(with_users, fold, 3)
    assert len(found) == 3 and not set(found["item_index"]) & set(ratings)
    near = foldin_explain.nearest_users(with_users, fold, 4)
    assert len(near) == 4 and set(near["user"]) <= set(tiny_trained.users.ids)


def test_the_cli_recommends_from_an_imported_run(exported, tmp_path, capsys):
    from collab_core.cli.main import main

    assert main(["import-embeddings", "--vectors", str(exported / "items.csv"), "--runs-dir", str(tmp_path / "r"),
                 "--quiet"]) == 0
    run_id = json.loads(capsys.readouterr().out.splitlines()[-1])["run_id"]
    assert main(["recommend", "--run", run_id, "--rate", "0=5", "--rate", "1=2", "--json", "-k", "3",
                 "--runs-dir", str(tmp_path / "r")]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["model"] == "linear_bias" and len(answer["recommendations"]) == 3 and answer["nearest_users"] == []


# ---------------------------------------------------------------------- compare with a trained run
def test_compare_an_imported_run_with_the_trained_run_it_came_from(with_users, tiny_trained):
    result = compare.compare_runs(tiny_trained, with_users, k=5)
    summary = result.summary()
    assert summary["n_shared_items"] == tiny_trained.n_items and summary["n_only_a"] == summary["n_only_b"] == 0
    assert summary["jaccard_mean"] == 1.0 and summary["procrustes_disparity"] < 1e-10
    assert summary["bias_spearman"] == pytest.approx(1.0)
    assert summary["rmse_a"] is not None and summary["rmse_b"] is None
    settings = result.settings.set_index("setting")
    assert settings.loc["model", "b"] == "imported" and settings.loc["dataset", "b"] == "items.csv"


def test_compare_matches_items_by_raw_id_whatever_their_order(tiny_trained, tmp_path):
    order = np.random.default_rng(1).permutation(tiny_trained.n_items)[:80]  # shuffled, 40 items left out
    np.save(tmp_path / "v.npy", tiny_trained.item_factors()[order] @ np.linalg.qr(np.random.default_rng(2).normal(
        size=(8, 8)))[0])  # and rotated: only comparable after alignment
    (tmp_path / "m.tsv").write_text("".join(f"{tiny_trained.catalog.vocab.ids[i]}\n" for i in order))
    run, _ = import_embeddings(tmp_path / "v.npy", tmp_path / "m.tsv")
    result = compare.compare_runs(tiny_trained, run, k=5)
    assert result.summary()["n_shared_items"] == 80 and len(result.match.only_a) == 40
    assert result.alignment.disparity < 1e-8
