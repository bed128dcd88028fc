"""Work that outlives the page (collab_app.work, collab_server.owners): whatever a browser started is found
again by that browser after a reload or in another tab, listed with its progress and Cancel; a training that ends
while the page reloads still becomes the browser's active run; the Train form keeps what was typed.

A reload is a new AppTest session with the same owner id (the browser's cookie, collab_app.browser)."""
import re

import pytest
from streamlit.testing.v1 import AppTest

from tests.movielens_server import Server
from tests.waiting import wait_until

from .conftest import ROOT, import_and_wait, job_of, no_exceptions, open_app, owner_of, shown


def reload(at: AppTest, page: str) -> AppTest:
    """The same browser opening `page` again (a reload, or another tab): a new session, the same owner."""
    again = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    again.session_state["_proposed_owner"] = owner_of(at)
    again.switch_page(page)
    return again.run()


def listed(at: AppTest) -> str:
    """What the sidebar's "Your work" list says."""
    bars = " ".join(re.sub(r"\\(.)", r"\1", p.text or "") for p in at.sidebar.get("progress"))
    return shown(at.sidebar.caption) + " " + bars


def start_training(at: AppTest, epochs: int) -> None:
    at.button(key="lesson_preset").click().run()
    at.number_input(key="p_tr_dot_bias_epochs").set_value(epochs)
    at.button(key="FormSubmitter:train_form-Train").click().run()
    assert not at.error, shown(at.error)


def test_a_reload_finds_the_training_with_its_cancel_and_keeps_the_form(with_run):
    first = open_app("pages/train.py")
    start_training(first, epochs=40)  # long enough to be running through every check below
    job = job_of(first)
    second = reload(first, "pages/train.py")
    assert no_exceptions(second), [e.value for e in second.exception]
    assert job.active, "the training ended before the checks: make it longer"
    assert "Training: EmbeddingDotBias on MovieLens 100K" in listed(second)
    assert [b for b in second.sidebar.button if b.label == "Cancel training"]
    # the form as it was typed: the lesson's settings, with 40 epochs
    assert second.number_input(key="p_tr_dot_bias_n_factors").value == 40
    assert second.number_input(key="p_tr_dot_bias_epochs").value == 40
    second.number_input(key="p_tr_dot_bias_epochs").set_value(41)  # other settings: not a double click
    second.button(key="FormSubmitter:train_form-Train").click().run()  # pressed again: no duplicate
    assert "A training of yours is still running" in shown(second.warning)
    assert [w.task for w in _works(second) if w.kind == "training"] == [job]
    second.button(key="cancel_training").click().run()
    wait_until(lambda: not job.active, timeout=60)
    assert job.status == "cancelled"


def test_a_finished_training_becomes_the_active_run_of_every_open_tab_once(with_run):
    _, old_run = with_run
    first = open_app("pages/train.py")
    start_training(first, epochs=1)
    job = job_of(first)
    second = reload(first, "pages/neighbours.py")  # another tab of the same browser, open while it trains
    said = shown(second.success)
    wait_until(lambda: not job.active, timeout=120)
    assert job.status == "done", job.error
    said += shown(second.run().success)
    assert second.sidebar.selectbox(key="p_run").value == job.run_id != old_run
    assert said.count(f"Run {job.run_id} trained") == 1
    first.run()  # the first tab, still open, moves to the new run too
    assert first.sidebar.selectbox(key="p_run").value == job.run_id
    third = reload(first, "pages/home.py")  # a later tab: the run is told, not announced again
    assert f"Run {job.run_id} trained" not in shown(third.success)


def test_a_training_that_ended_during_the_reload_becomes_the_active_run(with_run):
    first = open_app("pages/train.py")
    start_training(first, epochs=1)
    job = job_of(first)
    owner = owner_of(first)
    del first  # the page is gone; nobody hears the end
    wait_until(lambda: not job.active, timeout=120)
    again = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    again.session_state["_proposed_owner"] = owner
    again.switch_page("pages/biases.py").run()
    assert again.sidebar.selectbox(key="p_run").value == job.run_id
    assert f"Run {job.run_id} trained" in shown(again.success)


def test_cancel_from_the_list_in_another_tab(with_run):
    first = open_app("pages/train.py")
    start_training(first, epochs=30)
    job = job_of(first)
    other = reload(first, "pages/neighbours.py")
    cancel = next(b for b in other.sidebar.button if b.label == "Cancel training")
    said = shown(cancel.click().run().info)  # said at once if it stopped within that run
    wait_until(lambda: not job.active, timeout=60)
    assert job.status == "cancelled"
    said += shown(other.run().info)
    assert said.count("Training cancelled; nothing was saved.") == 1


def _works(at: AppTest):
    from collab_app import services

    return services.owner_work().of(owner_of(at))


@pytest.fixture()
def grouplens(tmp_path, monkeypatch):
    server = Server()
    server.serve("ml-latest-small")
    server.delay = 2.0  # slow enough to be seen running
    monkeypatch.setenv("COLLAB_MOVIELENS_URL", server.url)
    monkeypatch.setenv("COLLAB_DATA_DIR", str(tmp_path / "data"))
    yield server
    server.delay = 0.0
    server.httpd.shutdown()


def test_a_download_and_an_import_are_listed_in_another_tab(with_run, grouplens):
    at = open_app("pages/data.py")
    at.selectbox(key="p_data_fetch_name").set_value("ml-latest-small").run()
    at.checkbox(key="fetch_accept_ml-latest-small").check().run()
    at.button(key="fetch_start").click().run()
    other = reload(at, "pages/home.py")
    assert "Download: ml-latest-small" in listed(other)
    download = job_of(at, "download")
    wait_until(lambda: not download.active, timeout=60)
    at.segmented_control(key="p_data_source").set_value("import").run()
    at.file_uploader(key="imp_vectors").set_value(("v.tsv", b"1\t2\n3\t4\n2\t2\n", "text/plain")).run()
    import_and_wait(at)
    other.run()
    text = listed(other)
    assert "Download: ml-latest-small — ml-latest-small is downloaded" in text and "Import: v.tsv — done" in text
    assert other.sidebar.selectbox(key="p_run").value == job_of(at, "import").result.run_id  # the import is active


def test_a_umap_layout_is_listed_while_it_runs(with_run, monkeypatch):
    at = open_app("pages/projections.py")
    at.session_state["p_pj_nn"] = 7  # a layout no other test asks for: computed now, not found in the cache
    at.segmented_control(key="p_pj_method").set_value("UMAP").run()
    umap = job_of(at, "UMAP")
    assert umap is not None
    other = reload(at, "pages/home.py")
    assert "UMAP: 2D layout of 1,000 movies" in listed(other)
    assert not [b for b in other.sidebar.button if b.label.startswith("Cancel")] or not umap.active  # no Cancel
    wait_until(lambda: umap.status != "running", timeout=120)


def test_a_training_worse_than_its_baselines_says_so_as_it_arrives(with_run):
    from collab_core.model.verdict import baseline_verdict
    from collab_core.runs.store import RunStore

    at = open_app("pages/train.py")
    at.number_input(key="p_tr_dot_bias_epochs").set_value(1)
    at.number_input(key="p_tr_dot_bias_lr").set_value(1e-5)  # learns next to nothing: the baselines win
    at.button(key="FormSubmitter:train_form-Train").click().run()
    job = job_of(at)
    wait_until(lambda: not job.active, timeout=120)
    at.run()
    info = next(i for i in RunStore().list() if i.run_id == job.run_id)
    verdict = baseline_verdict(info.metrics, info.config)
    assert verdict is not None and verdict.worse_than_bias
    assert verdict.message.split(":")[0] in shown(at.warning)  # beside the "trained" notice
    assert f"Run {job.run_id} trained" in shown(at.success)


def test_your_ratings_on_you_survive_a_reload_but_not_another_browser(with_run):
    from collab_app import services

    at = open_app("pages/you.py")
    at.button(key="you_demo").click().run()
    rated = services.owner_memory().get(owner_of(at), "your_ratings")
    assert len(rated) == 5
    again = reload(at, "pages/you.py")
    assert "Your ratings (5)" in [s.value for s in again.subheader]  # the same five, in the new session
    assert {k: again.segmented_control(key=f"you_r_{k}").value for k in rated} == rated
    stranger = open_app("pages/you.py")  # another browser: its own, empty list
    assert "Rate at least one" in shown(stranger.info)


def test_a_tab_that_only_shows_the_form_does_not_overwrite_what_another_typed(with_run):
    first = open_app("pages/train.py")
    other = reload(first, "pages/train.py")  # open before anything was typed: it shows the defaults
    first.button(key="lesson_preset").click().run()
    first.number_input(key="p_tr_dot_bias_epochs").set_value(7)
    first.button(key="FormSubmitter:train_form-Train").click().run()
    other.switch_page("pages/biases.py").run()
    other.switch_page("pages/train.py").run()  # it reruns the form it shows, untouched
    again = reload(first, "pages/train.py")
    assert again.number_input(key="p_tr_dot_bias_epochs").value == 7
    assert again.number_input(key="p_tr_dot_bias_n_factors").value == 40
    job = job_of(first)
    job.cancel()  # no training left running when the test process exits
    wait_until(lambda: not job.active, timeout=60)
