"""A shared server: the host (who opened the host link) and visitors. Each rule holds on the page (hidden or disabled,
with its reason) and where the action is done (a visitor's crafted request is refused and logged), runs record whose
they are, a visitor sees their own runs first, demo mode leaves visitors only exploring, and a change to a run that
another tab shows is said there."""
import json
import logging
import shutil

import pytest

from collab_core.runs.owners import HOST_OWNER, owner_tag
from collab_core.runs.store import RunStore
from tests.conftest import HOST_KEY

from .conftest import no_exceptions, open_app, owner_of, shown


def select_rows(at, *rows):
    """Select rows of the run history, as clicks on their checkboxes do."""
    at.session_state["runs_table"] = {"selection": {"rows": list(rows), "columns": [], "cells": []}}
    return at.run()


def add_visitor_run(runs_dir, source_id: str, run_id: str, at) -> str:
    """A copy of run `source_id` saved as `run_id`, owned by the browser of `at`."""
    shutil.copytree(runs_dir / source_id, runs_dir / run_id)
    meta = json.loads((runs_dir / run_id / "run.json").read_text())
    meta.update(owner=owner_tag(owner_of(at)), created="2099-01-01T00:00:00+00:00")
    (runs_dir / run_id / "run.json").write_text(json.dumps(meta))
    return run_id


def test_the_host_link_makes_the_host_and_leaves_the_address(with_run):
    at = open_app("pages/train.py")
    assert no_exceptions(at)
    assert "host" not in at.query_params  # never part of a link the host copies
    assert "You are the host" in shown(at.success)
    assert "Host" in shown(at.sidebar.caption)
    assert at.button(key="pin_run") is not None and at.toggle(key="share_visitor_runs") is not None
    assert at.dataframe[0].value["owner"].tolist() == ["you"]  # saved before owners were recorded: the host's


def test_a_wrong_host_key_is_refused_logged_without_the_key_and_said(with_run, caplog):
    caplog.set_level(logging.WARNING, logger="collab_server.rules")
    at = open_app("pages/train.py", query={"host": "guessed-key-123456"}, host=False)
    assert no_exceptions(at) and "host" not in at.query_params
    assert "not valid on this server" in shown(at.warning)
    assert "Visitor" in shown(at.sidebar.caption)
    assert any("wrong host key" in r.getMessage() for r in caplog.records)
    assert all("guessed-key" not in r.getMessage() and HOST_KEY not in r.getMessage() for r in caplog.records)


def test_a_visitor_sees_no_host_powers_and_reads_why(with_run):
    runs_dir, run_id = with_run
    at = open_app("pages/train.py", host=False)
    at = select_rows(at, 0)
    assert no_exceptions(at)
    delete = at.button(key="delete_runs")
    assert delete.disabled and "not yours" in delete.help
    assert "not yours" in shown(at.caption)
    assert not [b for b in at.button if b.key == "pin_run"]
    assert not [t for t in at.text_input if t.key == "run_name"]  # no rename of the host's run
    assert not at.toggle  # only the host chooses what visitors see
    assert "Visitor" in shown(at.sidebar.caption)


def crafted(action: str, run_id: str) -> None:
    """A script that does `action` in a visitor's session without the page's checks: what a request the pages never
    offer (a forged widget value, a race with a change of the rules) would reach."""
    import streamlit as st

    from collab_app import cached, progress, run_actions, work
    from collab_core.errors import CollabError

    info = next(i for i in cached.list_runs() if i.run_id == run_id)

    def delete():
        for failure in run_actions.delete([info])[1]:
            raise CollabError(failure)

    actions = {
        "delete": delete,
        "rename": lambda: run_actions.rename(info, "taken over"),
        "pin": lambda: run_actions.pin(run_id),
        "sharing": lambda: run_actions.share_visitor_runs(False),
        "folder": lambda: work.set_dataset(cached.DatasetSpec("folder", "/", "the server's root")),
        "train": progress.start_default_run,  # refused in demo mode only
        "upload": lambda: work.set_dataset(cached.DatasetSpec("upload", "/tmp/x.csv", "x.csv")),  # demo only
    }
    try:
        actions[action]()
        st.write("done")
    except CollabError as exc:
        st.error(str(exc))


@pytest.mark.parametrize("action", ["delete", "rename", "pin", "sharing", "folder"])
def test_a_visitors_request_for_an_action_not_theirs_is_refused_where_it_is_done_and_logged(with_run, caplog, action):
    from streamlit.testing.v1 import AppTest

    caplog.set_level(logging.WARNING, logger="collab_server.rules")
    runs_dir, run_id = with_run
    at = AppTest.from_function(crafted, args=(action, run_id), default_timeout=60).run()
    assert no_exceptions(at) and "Only the host" in shown(at.error), shown(at.error)
    assert "done" not in [m.value for m in at.markdown]
    store = RunStore(runs_dir)
    assert (runs_dir / run_id).is_dir() and store.list()[0].name == ""
    assert store.pinned() is None and store.visitor_runs_shared()
    refused = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(f"refused {action if action != 'folder' else 'server folders'}" in m and "session" in m
               for m in refused), refused


def test_a_visitors_training_request_in_demo_mode_is_refused_where_it_is_done(with_run, demo, caplog):
    from streamlit.testing.v1 import AppTest

    caplog.set_level(logging.WARNING, logger="collab_server.rules")
    for action in ("train", "upload"):
        at = AppTest.from_function(crafted, args=(action, with_run[1]), default_timeout=60).run()
        assert no_exceptions(at) and "This is a demo" in shown(at.error)
        assert any(f"refused {action}" in r.getMessage() for r in caplog.records)
    assert [info.run_id for info in RunStore(with_run[0]).list()] == [with_run[1]]


def test_a_hidden_run_cannot_be_reached_by_its_link(with_run):
    runs_dir, host_run = with_run
    alice = open_app("pages/biases.py", host=False)
    add_visitor_run(runs_dir, host_run, "alices-run", alice)
    RunStore(runs_dir).share_visitor_runs(False)
    for page, query in (("pages/biases.py", {"run": "alices-run"}),
                        ("pages/compare.py", {"run": host_run, "a": host_run, "b": "alices-run"})):
        bob = open_app(page, query=query, host=False)
        assert no_exceptions(bob)
        assert bob.sidebar.selectbox(key="p_run").value == host_run
        assert "alices-run" not in bob.sidebar.selectbox(key="p_run").options
        assert "alices-run" not in str(bob.query_params)


def test_a_visitors_crafted_data_source_gives_nothing(with_run):
    at = open_app("pages/data.py", host=False)
    assert no_exceptions(at)
    assert at.segmented_control(key="p_data_source").options == ["Built-in MovieLens 100K", "Upload CSV / Parquet"]
    said = shown(at.caption)
    assert "Only the host can open folders on the server" in said and "import embeddings" in said
    assert "Get a MovieLens dataset" not in [e.label for e in at.expander]
    at.session_state["p_data_source"] = "folder"  # a crafted value: put back to what a visitor may use
    at.run()
    assert at.segmented_control(key="p_data_source").value == "builtin"
    assert not [t for t in at.text_input if t.key == "p_data_folder"]


def test_a_visitor_owns_their_runs_sees_them_first_and_may_rename_and_delete_them(with_run):
    runs_dir, host_run = with_run
    at = open_app("pages/train.py", host=False)
    mine = add_visitor_run(runs_dir, host_run, "my-own-run", at)
    at.run()
    history = at.dataframe[0].value
    assert history["run"].tolist()[0] == mine and history["owner"].tolist() == ["you", "host"]
    at = select_rows(at, 0)
    assert not at.button(key="delete_runs").disabled
    at.text_input(key="run_name").set_value("mine, renamed")
    at.button(key="FormSubmitter:rename_run-Rename").click().run()
    assert RunStore(runs_dir).list()[0].name == "mine, renamed"
    at = select_rows(at, 0)
    at.button(key="delete_runs").click().run()
    assert no_exceptions(at) and not (runs_dir / mine).exists() and (runs_dir / host_run).is_dir()


def test_visitors_see_each_others_runs_unless_the_host_says_no(with_run):
    runs_dir, host_run = with_run
    alice = open_app("pages/train.py", host=False)
    add_visitor_run(runs_dir, host_run, "alices-run", alice)
    bob = open_app("pages/train.py", host=False)
    assert bob.dataframe[0].value["owner"].tolist() == ["a visitor", "host"]
    host = open_app("pages/train.py")
    host.toggle(key="share_visitor_runs").set_value(False).run()
    assert no_exceptions(host) and RunStore(runs_dir).visitor_runs_shared() is False
    assert bob.run().dataframe[0].value["run"].tolist() == [host_run]
    assert alice.run().dataframe[0].value["run"].tolist() == ["alices-run", host_run]  # their own, still
    assert host.run().dataframe[0].value["run"].tolist() == [host_run, "alices-run"]  # all, the host's own first


def test_a_training_task_saves_the_run_owner_it_was_given(tmp_path):
    from collab_core.data.ratings import random_split
    from collab_core.model.config import default_config
    from collab_server.workers import TrainTask
    from tests.planted import planted_ratings

    ratings, _ = planted_ratings(n_users=20, n_items=30, n_ratings=400, n_factors=2, seed=3)
    task = TrainTask(ratings, random_split(ratings, 0.2, 0), default_config(epochs=1, n_factors=4),
                     str(tmp_path), owner_tag("a" * 32))
    run_id = task(lambda *_: None, None, lambda: None)
    assert json.loads((tmp_path / run_id / "run.json").read_text())["owner"] == owner_tag("a" * 32)
    assert RunStore(tmp_path).list()[0].owner == owner_tag("a" * 32)
    host_run = TrainTask(task.ratings, task.split, task.config, str(tmp_path))(lambda *_: None, None, lambda: None)
    assert "owner" not in json.loads((tmp_path / host_run / "run.json").read_text())
    assert {info.run_id: info.owner for info in RunStore(tmp_path).list()}[host_run] == HOST_OWNER


@pytest.fixture()
def demo(monkeypatch):
    monkeypatch.setenv("COLLAB_DEMO", "1")


def test_demo_mode_leaves_visitors_only_exploring_and_the_host_every_power(with_run, demo):
    at = open_app("pages/train.py", host=False)
    assert no_exceptions(at)
    assert "This is a demo" in shown(at.info)
    assert not [b for b in at.button if b.key in ("lr_find", "lesson_preset")]
    assert "FormSubmitter:train_form-Train" not in [b.key for b in at.button]
    assert at.dataframe[0].value["run"].tolist() == [with_run[1]]  # the runs to explore stay
    data = open_app("pages/data.py", host=False)
    assert data.segmented_control(key="p_data_source").options == ["Built-in MovieLens 100K"]
    assert "demo" in shown(data.caption)
    for page in ("pages/you.py", "pages/compare.py", "pages/neighbours.py"):
        assert no_exceptions(open_app(page, host=False)), page
    host = open_app("pages/train.py")
    assert "This is a demo" not in shown(host.info)
    assert any(b.key == "lr_find" for b in host.button)


def test_a_run_deleted_or_renamed_under_another_tab_is_said_there(with_run):
    runs_dir, run_id = with_run
    shutil.copytree(runs_dir / run_id, runs_dir / "second-run")
    viewer = open_app("pages/biases.py", query={"run": run_id}, host=False)
    assert viewer.sidebar.selectbox(key="p_run").value == run_id
    host = select_rows(open_app("pages/train.py"), 0)
    assert host.dataframe[0].value["run"].tolist()[0] == run_id
    host.text_input(key="run_name").set_value("the lesson's run")
    host.button(key="FormSubmitter:rename_run-Rename").click().run()
    viewer.run()
    assert "was renamed by the host: it is now called “the lesson's run”" in shown(viewer.info)
    host = select_rows(host, 0)
    host.button(key="delete_runs").click().run()
    viewer.run()
    said = shown(viewer.warning)
    assert "the lesson's run" in said and "was deleted by the host" in said and "this page shows" in said
    assert viewer.sidebar.selectbox(key="p_run").value == "second-run"
    viewer.run()
    assert "was deleted" not in shown(viewer.warning)  # said once


def test_a_pin_by_the_host_is_a_notice_on_a_visitors_next_run(with_run):
    runs_dir, run_id = with_run
    visitor = open_app("pages/biases.py", host=False)
    host = select_rows(open_app("pages/train.py"), 0)
    host.button(key="pin_run").click().run()
    assert "New visitors now see" in shown(host.success) and "pinned" not in shown(host.info)
    visitor.run()
    assert "The host pinned" in shown(visitor.info) and "new visitors see it first" in shown(visitor.info)


def test_a_one_shot_notice_leaves_every_element_of_the_page_in_its_place(with_run):
    """Streamlit knows an element by its place: a notice shown once (here: a wrong host key) must not move the page's
    elements on the next run, or an expander the person opened meanwhile is drawn anew, closed."""
    at = open_app("pages/data.py", query={"host": "a-wrong-key-0123456789"}, host=False)
    assert "not valid on this server" in shown(at.warning)
    places = {e.label: i for i, e in enumerate(at.main.children.values()) if hasattr(e, "label")}
    title_place = next(i for i, e in enumerate(at.main.children.values()) if getattr(e, "type", "") == "title")
    at.run()
    assert "not valid on this server" not in shown(at.warning)
    assert next(i for i, e in enumerate(at.main.children.values()) if getattr(e, "type", "") == "title") == title_place
    assert places == {e.label: i for i, e in enumerate(at.main.children.values()) if hasattr(e, "label")}


def test_the_hosts_welcome_lasts_on_the_page_of_the_link_and_goes_with_a_page_change(with_run):
    at = open_app("pages/train.py")
    assert "You are the host" in shown(at.success)
    assert "You are the host" in shown(at.run().success)  # the browser reporting its pass reruns the page
    at.switch_page("pages/biases.py").run()
    assert "You are the host" not in shown(at.success) and "Host" in shown(at.sidebar.caption)


def train_as_visitor() -> None:
    """A visitor's session that trains the default run, as the Home page's button does; it writes its owner id."""
    import streamlit as st

    from collab_app import browser, progress

    if "submitted" not in st.session_state:  # filing the job reruns the script: one training
        st.session_state.submitted = True
        progress.start_default_run()
    st.write(browser.owner())


def test_a_run_trained_by_a_visitor_records_that_browsers_tag(empty_runs):
    from streamlit.testing.v1 import AppTest

    from tests.waiting import wait_until

    at = AppTest.from_function(train_as_visitor, default_timeout=60).run()
    assert no_exceptions(at)
    owner = at.markdown[0].value
    wait_until(lambda: any(info.ok for info in RunStore(empty_runs).list()), timeout=120)
    (info,) = RunStore(empty_runs).list()
    assert info.owner == owner_tag(owner) and owner not in (empty_runs / info.run_id / "run.json").read_text()


def test_a_selection_made_before_the_run_list_changed_acts_on_nothing(with_run):
    """Rows are positions: when another tab saved a run meanwhile, the selected position is another run."""
    runs_dir, run_id = with_run
    at = select_rows(open_app("pages/train.py"), 0)
    assert at.dataframe[0].value["run"].tolist() == [run_id]
    shutil.copytree(runs_dir / run_id, runs_dir / "newer-run")  # a visitor's training lands meanwhile
    meta = json.loads((runs_dir / "newer-run" / "run.json").read_text())
    (runs_dir / "newer-run" / "run.json").write_text(json.dumps({**meta, "created": "2099-01-01T00:00:00+00:00"}))
    at.run()
    assert "select again" in shown(at.caption)
    assert at.button(key="delete_runs").disabled  # nothing is selected any more
    assert (runs_dir / run_id).is_dir() and (runs_dir / "newer-run").is_dir()


def test_a_pin_of_a_run_a_visitor_cannot_see_is_not_announced_to_them(with_run):
    runs_dir, host_run = with_run
    alice = open_app("pages/biases.py", host=False)
    add_visitor_run(runs_dir, host_run, "alices-run", alice)
    RunStore(runs_dir).share_visitor_runs(False)
    bob = open_app("pages/biases.py", host=False)
    host = open_app("pages/train.py")
    host = select_rows(host, host.dataframe[0].value["run"].tolist().index("alices-run"))
    host.button(key="pin_run").click().run()
    assert RunStore(runs_dir).pinned() == "alices-run"
    bob.run()
    assert "pinned" not in shown(bob.info) and "alices-run" not in shown(bob.info)
