"""Run-dependent options and the address across runs of every kind (collab_app.options, collab_app.state).

Two classes of bug: an option whose default depends on the run leaking from one run to another (Neighbours'
minimum of ratings stayed 0 after a visit to an imported run without counts, and Star Wars' neighbours then
included unrated items), and a page dropping `run=` from its address for some kind of run (Biases and Diagnostics
stopped early for an imported run, before writing the address)."""
import shutil

import pytest

from .conftest import PAGES, no_exceptions, open_app, use_copy_of

OPTION_PAGES = ["pages/biases.py", "pages/projections.py", "pages/neighbours.py", "pages/you.py",
                "pages/compare.py", "pages/diagnostics.py"]
RUN_KINDS = ["tiny-movie-run", "other-seed-run", "nn-run", "dot-run", "bare", "full"]


@pytest.fixture()
def every_kind(every_kind_of_run, tmp_path, monkeypatch):
    root, run_id = every_kind_of_run
    return use_copy_of(root, tmp_path, monkeypatch), run_id


def page_options(at) -> dict:
    """Every page option the session keeps ("p_" keys), but the run itself."""
    return {k: at.session_state[k] for k in at.session_state if isinstance(k, str) and k.startswith("p_")
            and k != "p_run" and not k.startswith("p_tr_")}


@pytest.mark.parametrize("other", ["bare", "tiny-run"])
@pytest.mark.parametrize("page", OPTION_PAGES)
def test_run_dependent_options_come_back_to_the_runs_defaults_after_a_switch(every_kind, tiny_run, page, other):
    runs_dir, run_id = every_kind
    shutil.copytree(tiny_run, runs_dir / "tiny-run")
    at = open_app(page, {"run": run_id})
    first = page_options(at)
    assert first, "the page keeps no options"
    for run in (other, run_id):
        at.sidebar.selectbox(key="p_run").set_value(run).run()
        assert no_exceptions(at), (run, [e.value for e in at.exception])
    assert page_options(at) == first


def test_an_option_that_does_not_depend_on_the_run_keeps_the_persons_choice(every_kind):
    _, run_id = every_kind
    at = open_app("pages/neighbours.py", {"run": run_id})
    at.segmented_control(key="p_nb_metric").set_value("euclidean").run()
    at.number_input(key="p_nb_min").set_value(50).run()
    at.sidebar.selectbox(key="p_run").set_value("other-seed-run").run()  # the same data: the same defaults
    assert at.segmented_control(key="p_nb_metric").value == "euclidean"
    assert at.number_input(key="p_nb_min").value == 50
    at.sidebar.selectbox(key="p_run").set_value("bare").run()  # no counts: the minimum is 0 there
    assert at.number_input(key="p_nb_min").value == 0
    at.sidebar.selectbox(key="p_run").set_value(run_id).run()
    assert at.number_input(key="p_nb_min").value == 20  # the run's default, not 0 carried back
    assert at.segmented_control(key="p_nb_metric").value == "euclidean"


@pytest.mark.parametrize("run", RUN_KINDS)
@pytest.mark.parametrize("page", PAGES)
def test_every_page_keeps_the_run_in_its_address_for_every_kind_of_run(every_kind, page, run):
    at = open_app(page, {"run": run})
    assert no_exceptions(at), [e.value for e in at.exception]
    assert at.query_params["run"] in ([run], run)
    other = "bare" if run != "bare" else "tiny-movie-run"
    at.sidebar.selectbox(key="p_run").set_value(other).run()
    assert at.query_params["run"] in ([other], other)


def test_a_new_better_run_does_not_move_a_session_off_its_run(every_kind, tmp_path):
    """The run selector's own default (the best run) changes when someone trains a better run; a session that
    shows a run keeps it."""
    runs_dir, run_id = every_kind
    at = open_app("pages/neighbours.py", {"run": "nn-run"})
    shutil.copytree(runs_dir / run_id, runs_dir / "zz-better-run")
    meta = runs_dir / "zz-better-run" / "run.json"
    meta.write_text(meta.read_text().replace('"rmse": ', '"rmse": 0.0001, "was": '))
    at.run()
    assert at.sidebar.selectbox(key="p_run").value == "nn-run"
    assert at.query_params["run"] in (["nn-run"], "nn-run")
