"""Which run a new visitor sees: the operator's (COLLAB_DEFAULT_RUN), else the one pinned in the run history,
else the most accurate dot_bias run on the built-in data, never merely the newest (a 20-item upload run, an
MLP without biases). The sidebar names the run's own dataset."""
import json
import shutil

import pytest

from collab_core.runs.store import RunInfo, choose_default

from .conftest import no_exceptions, open_app, shown


def info(run_id, model="dot_bias", dataset="MovieLens 100K (built-in)", rmse=0.9, created="2026-01-01", ok=True):
    return RunInfo(run_id, ok, created=created, model=model, dataset=dataset, metrics={"rmse": rmse})


def test_the_choice_order():
    runs = [info("newest-upload", dataset="mine.csv", rmse=0.5, created="2026-03-01"),
            info("mlp", model="nn", rmse=0.85, created="2026-02-01"),
            info("good", rmse=0.89), info("better", rmse=0.88), info("broken", ok=False)]
    assert choose_default(runs, None, None) == "better"
    assert choose_default(runs, None, "good") == "good"
    assert choose_default(runs, "mlp", "good") == "mlp"
    assert choose_default(runs, "broken", "gone") == "better"  # unreadable or missing: fall through
    assert choose_default(runs[:2], None, None) == "newest-upload"  # no built-in run: the newest
    assert choose_default([], None, None) is None


@pytest.fixture()
def upload_run_is_newest(with_run, tiny_run):
    runs_dir, built_in = with_run
    shutil.copytree(tiny_run, runs_dir / "zz-upload-run")
    meta = json.loads((runs_dir / "zz-upload-run" / "run.json").read_text())
    meta.update(created="2099-01-01T00:00:00+00:00", dataset="my-20-items.csv")
    (runs_dir / "zz-upload-run" / "run.json").write_text(json.dumps(meta))
    return runs_dir, built_in, "zz-upload-run"


def test_a_new_visitor_sees_the_built_in_run_not_the_newest_upload(upload_run_is_newest):
    _, built_in, _ = upload_run_is_newest
    at = open_app("pages/biases.py")
    assert no_exceptions(at) and at.sidebar.selectbox(key="p_run").value == built_in
    assert "Trained on: MovieLens 100K (built-in)" in shown(at.sidebar.caption)


def test_an_operator_or_the_run_history_can_pin_the_default(upload_run_is_newest, monkeypatch):
    runs_dir, built_in, upload = upload_run_is_newest
    at = open_app("pages/train.py")
    history = at.dataframe[0].value
    at.session_state["runs_table"] = {"selection": {"rows": [list(history["run"]).index(upload)], "columns": [],
                                                    "cells": []}}
    at.run()
    at.button(key="pin_run").click().run()
    assert no_exceptions(at) and "New visitors now see" in shown(at.success)
    visitor = open_app("pages/biases.py")
    assert visitor.sidebar.selectbox(key="p_run").value == upload
    assert "Trained on: my-20-items.csv" in shown(visitor.sidebar.caption)
    monkeypatch.setenv("COLLAB_DEFAULT_RUN", built_in)  # the operator's choice wins
    assert open_app("pages/biases.py").sidebar.selectbox(key="p_run").value == built_in


def test_a_run_can_be_renamed_from_the_history_and_the_sidebar_shows_the_name(with_run):
    _, run_id = with_run
    at = open_app("pages/train.py")
    at.session_state["runs_table"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    at.text_input(key="run_name").set_value("Lesson 5 baseline, take two")
    at.button(key="FormSubmitter:rename_run-Rename").click().run()
    assert no_exceptions(at), [e.value for e in at.exception]
    assert "Lesson 5 baseline, take two" in shown(at.sidebar.markdown)
