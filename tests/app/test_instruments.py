"""The analysis pages through AppTest: You (fold-in), Compare, Diagnostics, the Home page, the lesson preset on the
Train page, and MSE beside RMSE wherever a run's score is shown."""
import json
import shutil
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from collab_app.apptest import chart_spec
from tests.waiting import wait_until

from .conftest import no_exceptions, open_app, pick, shown, use_copy_of

NEEDS_TWO = ("pages/compare.py",)


@pytest.fixture()
def runs(instrument_runs, tmp_path, monkeypatch):
    root, run_id = instrument_runs
    return use_copy_of(root, tmp_path, monkeypatch), run_id


def charts(at) -> list[dict]:
    return [chart_spec(c) for c in at.get("plotly_chart")]


def chart(at, trace: str) -> dict:
    """The first chart with a trace called `trace`."""
    return next(c for c in charts(at) if trace in [t.get("name") for t in c["data"]])


def trace_names(at, trace: str) -> list[str]:
    return [t.get("name") for t in chart(at, trace)["data"]]


def frame(at, *columns: str) -> pd.DataFrame:
    """The first table with all these columns (tables without a selection carry no key to find them by)."""
    return next(d.value for d in at.dataframe if set(columns) <= set(d.value.columns))


RECS, FITTED, EXPLAINED, USERS = ("because",), ("prediction", "error"), ("contribution",), ("similarity",)


# ---------------------------------------------------------------------- You
def test_you_starts_empty_and_says_what_to_do(runs):
    at = open_app("pages/you.py")
    assert no_exceptions(at), [e.value for e in at.exception]
    assert "Rate at least one movie" in shown(at.info)
    assert not at.dataframe and not at.get("plotly_chart")
    assert at.button(key="you_add").disabled  # nothing chosen yet


def test_five_popular_movies_in_one_click_give_recommendations_a_fit_a_map_and_neighbours(runs):
    at = open_app("pages/you.py")
    at.button(key="you_demo").click().run()
    assert no_exceptions(at), [e.value for e in at.exception]
    rated = [c for c in at.segmented_control if str(c.key).startswith("you_r_")]
    assert len(rated) == 5
    recs = frame(at, *RECS)
    assert len(recs) == 10 and recs["score"].is_monotonic_decreasing
    rated_titles = set(frame(at, *FITTED)["title"])
    for because in recs["because"]:  # "because you rated ...": two of your movies, with what each adds
        parts = because.split("; ")
        assert len(parts) == 2 and all(p.rsplit(" ", 1)[0] in rated_titles for p in parts), because
    assert not set(recs["title"]) & set(frame(at, *FITTED)["title"])  # rated movies are never recommended
    fitted = frame(at, *FITTED)
    assert len(fitted) == 5 and set(fitted["rating"]) == {2.0, 5.0}  # the demo's taste: loved 3, disliked 2
    names = trace_names(at, "you")
    assert {"you", "rated by you", "recommended", "explained"} <= set(names)
    map_caption = next(c for c in at.caption if "Your star is your vector" in c.value)
    assert "It shows" in map_caption.help and "of your vector" in map_caption.help  # the detail
    assert len(frame(at, *USERS)) == 10
    # the top recommendation is explained by default: the parts sum to its score before the sigmoid
    parts = frame(at, *EXPLAINED)
    assert "item bias" in set(parts["title"])
    assert "your predicted rating" in shown(at.markdown)


def test_rating_changing_and_removing_one_movie(runs):
    at = open_app("pages/you.py")
    pick(at, "you_pick", "Star Wars (1977)")
    at.segmented_control(key="you_stars").set_value(5.0)
    at.run()
    at.button(key="you_add").click().run()
    assert no_exceptions(at), [e.value for e in at.exception]
    assert at.segmented_control(key="you_r_50").value == 5.0
    assert at.selectbox(key="you_pick").value is None  # the picker is cleared for the next one
    assert at.text_input(key="you_pick_search").value == ""
    assert at.segmented_control(key="you_stars").value is None
    assert "50" not in at.selectbox(key="you_pick").options  # a rated movie is not offered again
    assert list(frame(at, *FITTED)["rating"]) == [5.0]
    assert "With 1 rating(s)" in shown(at.info)  # fewer than 5: said so
    first = frame(at, *RECS)
    at.segmented_control(key="you_r_50").set_value(1.0).run()
    assert list(frame(at, *FITTED)["rating"]) == [1.0]
    assert list(frame(at, *RECS)["title"]) != list(first["title"])
    at.button(key="you_rm_50").click().run()
    assert "Rate at least one movie" in shown(at.info) and not at.dataframe


def test_your_ratings_survive_other_pages_and_stay_out_of_the_url(runs):
    at = open_app("pages/you.py", {"n": "4", "min": "100"})
    at.button(key="you_demo").click().run()
    recs = frame(at, *RECS)
    assert len(recs) == 4 and (recs["count"] >= 100).all()
    at.switch_page("pages/biases.py").run()
    at.switch_page("pages/you.py").run()
    assert len(frame(at, *FITTED)) == 5
    params = {k: at.query_params[k] for k in at.query_params}
    assert set(params) <= {"run", "n", "min"}, params


def test_clicking_a_movie_on_the_map_explains_it(runs):
    """The click itself is the browser test's; here its effect: the explained movie is the selectbox's."""
    at = open_app("pages/you.py")
    at.button(key="you_demo").click().run()
    pick(at, "p_you_explain", "toy story")
    assert "Toy Story (1995)" in shown(at.markdown)
    explained = [t for t in chart(at, "you")["data"] if t.get("name") == "explained"][0]
    assert list(explained["customdata"]) == [0]
    parts = frame(at, *EXPLAINED)
    assert len(parts) == 6  # one row per rated movie, then the movie's own bias


def test_a_half_star_run_offers_half_stars(tmp_path, monkeypatch):
    from collab_core.data.ratings import Ratings, random_split
    from collab_core.model.config import default_config
    from collab_core.model.training import fit
    from collab_core.runs.store import RunStore

    rng = np.random.default_rng(0)
    table = pd.DataFrame({"user": rng.integers(0, 40, 1500).astype(str), "item": rng.integers(0, 30, 1500).astype(str),
                          "rating": rng.integers(1, 11, 1500) / 2})
    table = pd.concat([table, pd.DataFrame({"user": ["0", "1"], "item": ["rare-bad", "rare-good"],
                                            "rating": [0.5, 5.0]})])  # as MovieLens: some movies rated once
    ratings = Ratings.from_frame(table.drop_duplicates(["user", "item"]), name="half stars")
    root = tmp_path / "runs"
    config = default_config(epochs=1, n_factors=4, batch_size=64)  # 5 steps of one-cycle: see the report on torch
    RunStore(root).save(fit(ratings, random_split(ratings, 0.1, 0), config), "half")
    monkeypatch.setenv("COLLAB_RUNS_DIR", str(root))
    at = open_app("pages/you.py")
    assert no_exceptions(at), [e.value for e in at.exception]
    # ten values: a slider, where ten buttons would not fit a projector-sized window
    assert at.select_slider(key="you_stars").options == [f"{v:g} ★" for v in sorted(set(table["rating"]))]


def test_a_run_with_one_star_ratings_offers_one_star(tmp_path, monkeypatch):
    """Every movie and every person also has higher ratings, so no mean is near 1: the stars come from the
    ratings themselves, not from means."""
    from collab_core.data.ratings import Ratings, random_split
    from collab_core.model.config import default_config
    from collab_core.model.training import fit
    from collab_core.runs.store import RunStore

    rng = np.random.default_rng(1)
    table = pd.DataFrame({"user": rng.integers(0, 40, 1500).astype(str), "item": rng.integers(0, 30, 1500).astype(str),
                          "rating": rng.integers(1, 6, 1500).astype(float)})
    ratings = Ratings.from_frame(table.drop_duplicates(["user", "item"]), name="whole stars")
    assert (ratings.rating == 1).any() and min(ratings.item_means.min(), ratings.user_means.min()) > 1.5
    root = tmp_path / "runs"
    RunStore(root).save(fit(ratings, random_split(ratings, 0.1, 0), default_config(epochs=1, n_factors=4,
                                                                                   batch_size=64)), "whole")
    monkeypatch.setenv("COLLAB_RUNS_DIR", str(root))
    at = open_app("pages/you.py")
    assert no_exceptions(at), [e.value for e in at.exception]
    assert at.segmented_control(key="you_stars").options == ["1 ★", "2 ★", "3 ★", "4 ★", "5 ★"]
    assert "whole stars 1 to 5 are offered" not in shown(at.caption)  # recorded, not assumed


def test_a_run_without_recorded_rating_values_offers_whole_stars_and_says_so(with_run):
    root, run_id = with_run
    path = root / run_id / "run.json"
    meta = json.loads(path.read_text())
    del meta["rating_scale"]  # as a run saved before runs recorded their rating values
    path.write_text(json.dumps(meta))
    at = open_app("pages/you.py")
    assert no_exceptions(at), [e.value for e in at.exception]
    assert at.segmented_control(key="you_stars").options == ["1 ★", "2 ★", "3 ★", "4 ★", "5 ★"]
    assert "saved before runs recorded the rating values" in shown(at.caption)


def test_a_dot_run_without_biases_or_sigmoid_folds_you_in_on_every_section(runs):
    at = open_app("pages/you.py", {"run": "dot-run"})
    at.button(key="you_demo").click().run()
    assert no_exceptions(at), [e.value for e in at.exception]
    assert len(frame(at, *RECS)) == 10 and len(frame(at, *FITTED)) == 5
    assert "you" in trace_names(at, "you")
    assert "item bias" not in set(frame(at, *EXPLAINED)["title"])  # no biases: the parts are the ratings alone
    diagnostics = open_app("pages/diagnostics.py", {"run": "dot-run"})
    assert no_exceptions(diagnostics), [e.value for e in diagnostics.exception]
    assert "Biases: does not apply" in shown(diagnostics.caption) and "no sigmoid" in shown(diagnostics.markdown)


def test_an_nn_run_folds_you_in_and_says_the_map_does_not_apply(runs):
    at = open_app("pages/you.py", {"run": "nn-run"})
    at.button(key="you_demo").click().run()
    assert no_exceptions(at), [e.value for e in at.exception]
    assert len(frame(at, *RECS)) == 10
    assert "share no space" in shown(at.info)
    assert "does not split into one part per rated movie" in shown(at.caption)


# ---------------------------------------------------------------------- Compare
def test_compare_two_runs_with_every_section(runs):
    _, run_id = runs
    at = open_app("pages/compare.py", {"a": run_id, "b": "other-seed-run", "k": "5", "min": "50"})
    assert no_exceptions(at), [e.value for e in at.exception]
    assert "along arbitrarily turned axes" in shown(at.info) and "never compares raw coordinates" in shown(at.info)
    settings = frame(at, "setting", "a", "b")
    assert "seed" in set(settings["setting"])
    labels = [m.label for m in at.metric]
    assert {"A: validation RMSE", "B: validation RMSE", "A: validation MSE", "B: validation MSE"} <= set(labels)
    assert len(trace_names(at, "A: train loss")) == 4
    ranks = frame(at, "top in A")
    assert list(ranks.columns) == ["#", "top in A", "A's rank in B", "top in B", "B's rank in A"]
    histogram = next(c for c in charts(at) if "Jaccard" in c["layout"]["xaxis"]["title"]["text"])["data"][0]
    assert len(histogram["x"]) == 6  # 0 to 5 shared neighbours of 5
    assert len([d for d in at.dataframe if "jaccard" in d.value.columns]) == 2
    assert {"A", "B (aligned onto A)", "moved most: A → B"} <= set(trace_names(at, "B (aligned onto A)"))
    neighbours = frame(at, "title_a", "title_b")  # of the item that moved most, until one is clicked
    assert len(neighbours) == 5 and {"title_a", "in_b", "title_b", "in_a"} <= set(neighbours.columns)
    assert at.query_params["a"] in ([run_id], run_id) and at.query_params["k"] in (["5"], "5")


def test_compare_an_item_from_the_link_and_the_moved_slider(runs):
    _, run_id = runs
    at = open_app("pages/compare.py", {"a": run_id, "b": "other-seed-run", "item": "50", "moved": "3"})
    assert no_exceptions(at), [e.value for e in at.exception]
    assert "Star Wars (1977)" in shown(at.markdown)
    moved = [t for t in chart(at, "B (aligned onto A)")["data"] if t.get("name") == "moved most"][0]
    assert len(moved["customdata"]) == 3
    at.slider(key="p_cmp_moved").set_value(0).run()
    assert "moved most" not in trace_names(at, "B (aligned onto A)")


def test_compare_with_a_model_without_biases_says_what_does_not_apply(runs):
    _, run_id = runs
    at = open_app("pages/compare.py", {"a": run_id, "b": "nn-run"})
    assert no_exceptions(at), [e.value for e in at.exception]
    assert "Does not apply: run B (nn) has no biases" in shown(at.info)


def test_compare_with_a_single_run_compares_it_with_itself(with_run):
    at = open_app("pages/compare.py")
    assert no_exceptions(at), [e.value for e in at.exception]
    assert "There is only one run" in shown(at.caption)
    assert any(m.label == "Same neighbours" and m.value == "1.00" for m in at.metric)


def test_compare_runs_on_different_data_uses_the_shared_items(runs, tmp_path):
    from collab_core.data.ratings import random_split
    from collab_core.model.config import default_config
    from collab_core.model.training import fit
    from collab_core.runs.store import RunStore
    from tests.planted import planted_ratings

    root, run_id = runs
    ratings, _ = planted_ratings(n_users=20, n_items=30, n_ratings=400, n_factors=2, seed=3)  # ids "0".."29"
    RunStore(root).save(fit(ratings, random_split(ratings, 0.2, 0), default_config(epochs=1, n_factors=4)), "small")
    at = open_app("pages/compare.py", {"a": run_id, "b": "small", "min": "0"})
    assert no_exceptions(at), [e.value for e in at.exception]
    assert "The runs share 29 movies by id" in shown(at.warning)  # ids 1..29 are in both
    assert "only in A" in shown(at.warning)


# ---------------------------------------------------------------------- Diagnostics
def test_diagnostics_on_a_run_of_the_built_in_data(runs):
    _, run_id = runs
    at = open_app("pages/diagnostics.py", {"user": "1", "movie": "50"})  # user 1 rated Star Wars: 5
    assert no_exceptions(at), [e.value for e in at.exception]
    assert "The run's own ratings are loaded" in shown(at.caption)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Actual rating"] == "5"
    assert "σ(" in shown(at.markdown) and "user bias" in shown(at.markdown)
    factors = frame(at, "user_value", "product")
    assert len(factors) == 8 and (np.diff(factors["product"].abs()) <= 1e-12).all()
    assert "as the run recorded" in shown(at.caption)  # the rebuilt split scores what the run recorded
    assert len(frame(at, "prediction", "error", "user")) == 20
    at.number_input(key="p_dg_worst").set_value(5).run()
    assert len(frame(at, "prediction", "error", "user")) == 5
    assert at.get("plotly_chart") and "its embedding" in shown(at.markdown)


def test_diagnostics_judge_the_run_by_the_top_of_each_users_list_beside_the_baselines(runs):
    """The ranking lens: the run's top-10 metrics beside most popular and random on its own split, the verdict in
    words, the long tail and per-user charts, and the users it fails, each a real user of the split."""
    at = open_app("pages/diagnostics.py")
    assert no_exceptions(at), [e.value for e in at.exception]
    table = frame(at, "nDCG@10", "coverage")
    assert table["model"].tolist() == ["this run", "most popular", "random"]
    assert ((table["nDCG@10"] >= 0) & (table["nDCG@10"] <= 1)).all()
    assert table["nDCG@10"][1] > 3 * table["nDCG@10"][2]  # most popular is far from random on MovieLens
    assert "most rated items to everyone" in shown(at.markdown)
    assert {"dg_long_tail", "dg_ndcg_users"} <= {c.key for c in at.get("plotly_chart")}
    failed = frame(at, "held out", "nDCG@10", "user")
    assert (failed["nDCG@10"] == 0).all() and failed["held out"].is_monotonic_decreasing
    assert "The users it fails" in shown(at.caption)


def test_diagnostics_of_an_nn_say_what_does_not_apply(runs):
    at = open_app("pages/diagnostics.py", {"run": "nn-run"})
    assert no_exceptions(at), [e.value for e in at.exception]
    assert "Factors: does not apply" in shown(at.caption) and "Biases: does not apply" in shown(at.caption)
    assert "has no biases: the points are not coloured" in shown(at.caption)


def test_diagnostics_say_when_the_runs_data_is_not_available(with_run, tmp_path):
    from collab_core.runs.store import RunStore

    runs_dir, run_id = with_run
    trained = RunStore(runs_dir).load(run_id)
    RunStore(runs_dir).save(replace(trained, dataset="MovieLens ml-25m"), "elsewhere")
    at = open_app("pages/diagnostics.py", {"run": "elsewhere"})
    assert no_exceptions(at), [e.value for e in at.exception]
    assert "MovieLens ml-25m) are not available in this session" in shown(at.caption)
    assert "The ranking lens and where the model is wrong" in [s.value for s in at.subheader]
    assert "needs the ratings and the validation split" in shown(at.info)


# ---------------------------------------------------------------------- Home, Train, the sidebar
def test_home_offers_the_default_run_and_trains_it(empty_runs):
    from .conftest import job_of

    at = open_app()
    assert no_exceptions(at), [e.value for e in at.exception]
    assert [t.value for t in at.title] == ["CF Embedding Explorer"]
    at.button(key="default_run").click().run()
    job = job_of(at)
    wait_until(lambda: not job.active, timeout=120)
    assert job.status == "done", job.error
    at.run()  # the fragment's poll would do this in a browser
    mse = json.loads((empty_runs / job.run_id / "run.json").read_text())["metrics"]["mse"]
    assert f"MSE {mse:.4f}" in shown(at.success)  # the finished run's score, RMSE and MSE
    at.run()
    assert at.sidebar.selectbox(key="p_run").value == job.run_id
    assert "Explore the active run" in [s.value for s in at.subheader]


def test_home_links_every_page_for_the_active_run(with_run):
    at = open_app()
    links = [link.page for link in at.get("page_link")]
    assert len(links) == 7 and {"you", "compare", "diagnostics", "biases"} <= {p.split("/")[-1].removesuffix(".py")
                                                                              for p in links}


def test_the_lesson_preset_fills_the_train_form(with_run):
    at = open_app("pages/train.py")
    at.segmented_control(key="p_tr_model").set_value("nn").run()
    at.button(key="lesson_preset").click().run()
    assert no_exceptions(at), [e.value for e in at.exception]
    assert at.segmented_control(key="p_tr_model").value == "dot_bias"
    values = {key: at.number_input(key=f"p_tr_dot_bias_{key}").value for key in (
        "n_factors", "y_low", "y_high", "weight_decay", "bias_weight_decay", "epochs", "lr", "batch_size",
        "valid_frac")}
    assert values == {"n_factors": 40, "y_low": 0.0, "y_high": 5.5, "weight_decay": 0.1, "bias_weight_decay": 0.1,
                      "epochs": 5, "lr": 5e-3, "batch_size": 64, "valid_frac": 0.2}
    assert at.checkbox(key="p_tr_dot_bias_one_cycle").value is True


@pytest.fixture(scope="session")
def lesson_run(tmp_path_factory):
    """A run with the lesson preset's settings and split (trained with a large batch for 1 epoch to be quick, then
    given the preset's config: only what the run stores is looked at)."""
    from collab_core.data.datasets import load_builtin
    from collab_core.data.ratings import random_split
    from collab_core.model.presets import LESSON
    from collab_core.model.training import fit
    from collab_core.runs.store import RunStore

    ratings = load_builtin()
    trained = fit(ratings, random_split(ratings, LESSON.valid_frac, 42), replace(LESSON.config, epochs=1,
                                                                                   batch_size=4096))
    root = tmp_path_factory.mktemp("lesson") / "runs"
    RunStore(root).save(replace(trained, config=LESSON.config), "lesson-run")
    return root


def test_a_lesson_run_shows_the_lessons_mse_beside_its_own(lesson_run, tmp_path, monkeypatch):
    copy = tmp_path / "runs"
    shutil.copytree(lesson_run, copy)
    monkeypatch.setenv("COLLAB_RUNS_DIR", str(copy))
    at = open_app("pages/train.py")
    assert no_exceptions(at), [e.value for e in at.exception]
    metrics = {m.label: m for m in at.metric}
    assert metrics["The lesson reported"].value == "0.813"
    assert "vs the lesson" in metrics["Validation MSE"].delta
    history = frame(at, "run", "reported MSE")
    assert list(history["reported MSE"]) == ["0.813 (lesson)"]
    assert {"RMSE", "MSE"} <= set(history.columns)


def test_run_labels_are_short_and_their_description_carries_rmse_mse_and_id(with_run):
    from collab_app.run_labels import run_description, run_label, run_labels
    from collab_core.runs.store import RunStore

    _, run_id = with_run
    info = next(i for i in RunStore().list() if i.run_id == run_id)
    assert run_label(info) == f"EmbeddingDotBias · RMSE {info.metrics['rmse']:.3f}"  # fits the sidebar at 1024 px
    named = replace(info, name="A name much longer than any selector at projector size shows")
    assert run_label(named) == "A name much longer than… · RMSE " + f"{info.metrics['rmse']:.3f}"
    assert f"RMSE {info.metrics['rmse']:.4f} · MSE {info.metrics['mse']:.4f} · run {run_id}" in run_description(info)
    twin = replace(info, run_id="twin", created="2026-01-02T03:04:05+00:00")
    labels = run_labels([info, twin])
    assert len(set(labels.values())) == 2 and labels["twin"].endswith("Jan 02 03:04")  # told apart


def test_compare_judges_both_runs_lists_on_as_split_and_their_overlap(runs):
    at = open_app("pages/compare.py", {"a": "tiny-movie-run", "b": "other-seed-run"})
    assert no_exceptions(at), [e.value for e in at.exception]
    table = frame(at, "nDCG@10", "coverage")
    assert table["model"].tolist() == ["A", "B", "most popular", "random"]
    same = {m.label: m.value for m in at.metric}["Same top-k items"]
    assert 0 <= float(same) <= 1
    assert "cmp_overlap" in {c.key for c in at.get("plotly_chart")}
    itself = open_app("pages/compare.py", {"a": "tiny-movie-run", "b": "tiny-movie-run"})
    assert {m.label: m.value for m in itself.metric}["Same top-k items"] == "1.00"
