"""Every page renders with and without a run, and each page's main interactions change what it shows.

These run the real app.py (st.navigation + shared sidebar) through Streamlit's AppTest."""
import pytest

from collab_app.apptest import chart_spec
from tests.waiting import wait_until

from .conftest import PAGES, job_of, no_exceptions, open_app, pick, shown

NEEDS_RUN = ["pages/biases.py", "pages/projections.py", "pages/neighbours.py", "pages/you.py", "pages/compare.py",
             "pages/diagnostics.py"]


def plotly_specs(at) -> list[dict]:
    return [chart_spec(el) for el in at.get("plotly_chart")]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_without_a_run(empty_runs, page):
    at = open_app(page)
    assert no_exceptions(at), [e.value for e in at.exception]
    if page in NEEDS_RUN:
        assert "No trained run yet" in shown(at.info)
        assert any(b.label == "Train the default run" for b in at.button)


def open_in_frame(page: str, run_id: str):
    """The page, drawn inside the frame (the sidebar's run selector holds the run), without exceptions."""
    at = open_app(page)
    assert no_exceptions(at), [e.value for e in at.exception]
    assert at.sidebar.selectbox(key="p_run").value == run_id
    return at


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_with_a_run(with_run, page):
    _, run_id = with_run
    at = open_in_frame(page, run_id)
    assert at.query_params["run"] in ([run_id], run_id)


@pytest.mark.legacy_pages_mode
@pytest.mark.parametrize("page", PAGES)
def test_a_deep_link_into_a_fresh_server_still_gets_the_frame(with_run, page):
    """Streamlit's legacy mode runs pages/x.py without app.py on a fresh process; ensure_frame reroutes."""
    open_in_frame(page, with_run[1])


def test_one_click_default_run_trains_in_the_background_and_becomes_active(empty_runs):

    at = open_app("pages/biases.py")
    at.button(key="default_run").click().run()
    job = job_of(at)
    wait_until(lambda: not job.active, timeout=120)
    assert job.status == "done", job.error
    at.run()  # the fragment's poll would do this in a browser
    at.run()
    assert at.sidebar.selectbox(key="p_run").value == job.run_id
    assert [t.value for t in at.title] == ["Biases"]


def test_biases_rows_and_candidate_filter(with_run):
    at = open_app("pages/biases.py")
    top, bottom = at.dataframe[0].value, at.dataframe[1].value
    assert len(top) == len(bottom) == 15 and top["bias"].is_monotonic_decreasing
    at.number_input(key="p_bias_n").set_value(5).run()
    assert len(at.dataframe[0].value) == 5
    assert at.query_params["n"] in (["5"], "5")
    at.segmented_control(key="p_bias_mode").set_value("min ratings").run()
    at.number_input(key="p_bias_min").set_value(300).run()
    assert (at.dataframe[0].value["count"] >= 300).all() and (at.dataframe[1].value["count"] >= 300).all()
    assert no_exceptions(at)


def test_projections_switch_dims_colour_and_method(with_run):
    at = open_app("pages/projections.py")
    spec = plotly_specs(at)[0]
    assert spec["data"][0]["type"] in ("scattergl", "scatter")
    assert len(at.dataframe) >= 6  # top/bottom title tables for 3 components
    at.segmented_control(key="p_pj_dims").set_value(3).run()
    assert plotly_specs(at)[0]["data"][0]["type"] == "scatter3d"
    at.selectbox(key="p_pj_colour").set_value("bias").run()
    assert "coloraxis" in plotly_specs(at)[0]["layout"]
    pick(at, "p_pj_highlight", "star wars (1977")
    names = [trace.get("name") for trace in plotly_specs(at)[0]["data"]]
    assert "selected" in names
    at.segmented_control(key="p_pj_method").set_value("UMAP").run()
    assert no_exceptions(at)
    assert at.query_params["method"] in (["UMAP"], "UMAP")


def test_neighbours_change_movie_metric_and_k(with_run):
    at = open_app("pages/neighbours.py")
    first = at.dataframe[0].value
    assert len(first) == 10 and "Star Wars (1977)" not in set(first["title"])
    pick(at, "p_nb_movie", "GoldenEye")
    second = at.dataframe[0].value
    assert list(second["title"]) != list(first["title"])
    assert at.query_params["movie"] in (["2"], "2")
    at.number_input(key="p_nb_k").set_value(4).run()
    assert len(at.dataframe[0].value) == 4
    at.segmented_control(key="p_nb_metric").set_value("euclidean").run()
    assert list(at.dataframe[0].value["distance"]) == sorted(at.dataframe[0].value["distance"])
    assert "nearest (euclidean distance)" in shown(at.caption)


def test_a_shared_link_reproduces_the_view(with_run):
    _, run_id = with_run
    at = open_app("pages/neighbours.py", {"run": run_id, "movie": "2", "k": "3", "metric": "euclidean"})
    assert at.selectbox(key="p_nb_movie").value == "2"
    assert len(at.dataframe[0].value) == 3 and at.segmented_control(key="p_nb_metric").value == "euclidean"


def test_a_link_with_an_unknown_run_or_movie_shows_a_notice(with_run):
    _, run_id = with_run
    at = open_app("pages/neighbours.py", {"run": "no-such-run", "movie": "99999", "k": "zero"})
    assert no_exceptions(at)
    warnings = shown(at.warning)
    assert "no-such-run" in warnings and "99999" in warnings and "zero" in warnings
    assert at.sidebar.selectbox(key="p_run").value == run_id


def test_train_form_refuses_bad_settings_and_trains_good_ones(with_run):

    _, old_run = with_run
    at = open_app("pages/train.py")
    at.segmented_control(key="p_tr_model").set_value("nn").run()
    # form fields are submitted together with the button, in one run
    at.text_input(key="p_tr_nn_nn_layers").set_value("64,abc")
    at.button(key="FormSubmitter:train_form-Train").click().run()
    assert "hidden layers must be comma-separated" in shown(at.error)
    at.text_input(key="p_tr_nn_nn_layers").set_value("16")
    at.number_input(key="p_tr_nn_epochs").set_value(1)
    at.button(key="FormSubmitter:train_form-Train").click().run()
    assert not at.error
    job = job_of(at)
    wait_until(lambda: not job.active, timeout=120)
    assert job.status == "done" and job.config.nn_layers == (16,) and job.config.epochs == 1
    at.run()
    at.run()
    assert at.sidebar.selectbox(key="p_run").value == job.run_id != old_run
    history = at.dataframe[0].value
    assert set(history["run"]) == {old_run, job.run_id}


def test_run_history_delete(with_run):
    runs_dir, run_id = with_run
    at = open_app("pages/train.py")
    at.session_state["runs_table"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    at.button(key="delete_runs").click().run()
    assert not (runs_dir / run_id).exists()
    at.run()
    assert at.sidebar.selectbox(key="p_run").value is None


def test_data_page_previews_a_folder_and_keeps_the_active_dataset_on_bad_input(empty_runs, tmp_path, monkeypatch):
    monkeypatch.setenv("COLLAB_DATA_ROOTS", str(tmp_path))  # the only folders the page may open
    folder = tmp_path / "ml-latest-small"
    folder.mkdir()
    (folder / "ratings.csv").write_text("userId,movieId,rating\n" + "".join(
        f"{u},{i},{(u + i) % 5 + 1}\n" for u in range(1, 30) for i in range(1, 20) if (u * i) % 3))
    (folder / "movies.csv").write_text("movieId,title,genres\n" + "".join(
        f"{i},Film {i} (1990),Drama\n" for i in range(1, 20)))
    at = open_app("pages/data.py")
    assert at.metric[0].value == "943"  # built-in users
    at.segmented_control(key="p_data_source").set_value("folder").run()
    at.text_input(key="p_data_folder").set_value(str(folder)).run()
    assert at.metric[0].value == "20" and no_exceptions(at)  # users 3, 6, ... rated nothing
    at.button(key="use_dataset").click().run()
    assert "Training uses: **MovieLens ml-latest-small**" in shown(at.caption)
    at.text_input(key="p_data_folder").set_value(str(tmp_path / "nothing-here")).run()
    assert "not a folder" in shown(at.error)
    assert "Training uses: **MovieLens ml-latest-small**" in shown(at.caption)
    at.text_input(key="p_data_folder").set_value(str(folder)).run()
    at.number_input(key="p_data_min_item").set_value(10_000).run()
    assert no_exceptions(at) and "leaves no ratings; lower the minimums" in shown(at.error)
    assert "Training uses: **MovieLens ml-latest-small**" in shown(at.caption)


def test_data_page_upload_with_column_mapping_and_a_bad_file(empty_runs):
    at = open_app("pages/data.py")
    at.segmented_control(key="p_data_source").set_value("upload").run()
    good = "who,what,stars\n" + "".join(f"u{u},m{i},{(u * i) % 5 + 1}\n" for u in range(12) for i in range(9))
    at.file_uploader(key="data_upload").set_value(("mine.csv", good.encode(), "text/csv")).run()
    at.selectbox(key="map_user").set_value("who").run()
    at.selectbox(key="map_item").set_value("what").run()
    at.selectbox(key="map_rating").set_value("stars").run()
    assert [m.value for m in at.metric[:3]] == ["12", "9", "108"] and no_exceptions(at)
    bad = b"who,what,stars\nu1,m1,5\nu2,m1,lots\n"
    at.file_uploader(key="data_upload").set_value(("bad.csv", bad, "text/csv")).run()
    assert "row 2: rating 'lots' is not a finite number" in shown(at.error)
    assert "Training uses: **MovieLens 100K" in shown(at.caption)
