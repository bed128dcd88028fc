"""Reliability in the app: bad uploads, bad settings, diverging or failing training, unreadable runs.
Each case must show a message naming the problem, no traceback, and leave the active dataset and run as
they were."""
import json

import pytest

from collab_app import cached
from tests.waiting import wait_until

from .conftest import job_of, no_exceptions, open_app, shown

GOOD = "user,item,rating\n" + "".join(f"u{u},m{i},{(u * i) % 5 + 1}\n" for u in range(8) for i in range(6))


def upload(at, name: str, content: bytes):
    at.segmented_control(key="p_data_source").set_value("upload").run()
    at.file_uploader(key="data_upload").set_value((name, content, "text/csv")).run()
    return at


def active_dataset(at) -> str:
    """The dataset training uses, as the Data page says it."""
    return next(c for c in shown(at.caption).split("Note:") if "Training uses:" in c).split("Training uses:")[1]


@pytest.mark.parametrize("name, content, message", [
    ("empty.csv", b"", "the file is empty"),
    ("header.csv", b"user,item,rating\n", "no ratings"),
    ("two.csv", b"user,item\n1,2\n", "found 2 column(s)"),
    ("text.csv", b"user,item,rating\n1,2,4\n2,1,great\n", "row 2: rating 'great' is not a finite number"),
    ("blank.csv", b"user,item,rating\n1,2,4\n2,1,\n", "row 2: rating '' is not a finite number"),
    ("nan.csv", b"user,item,rating\n1,2,NaN\n", "row 1: rating 'NaN' is not a finite number"),
    ("inf.csv", b"user,item,rating\n1,2,inf\n", "not a finite number"),
    ("junk.csv", bytes(range(256)) * 4, "binary"),
    ("ragged.csv", b"user,item,rating\n1,2,4\n1,3,4,9,9\n", "different numbers of fields"),
    ("one-user.csv", b"user,item,rating\n1,a,4\n1,b,3\n", "1 user(s) and 2 item(s)"),
    ("one-item.csv", b"user,item,rating\n1,a,4\n2,a,3\n", "2 user(s) and 1 item(s)"),
])
def test_bad_uploads_name_the_problem_and_keep_the_active_dataset(empty_runs, name, content, message):
    at = upload(open_app("pages/data.py"), name, content)
    assert no_exceptions(at), [e.value for e in at.exception]
    assert message in shown(at.error), shown(at.error)
    assert "MovieLens 100K" in active_dataset(at)
    assert not any(b.key == "use_dataset" for b in at.button)  # nothing to switch to


def test_latin1_duplicates_and_mixed_ids_load_with_notes(empty_runs):
    content = ("user,item,rating,title\n" + "".join(f"{u},{i},{(u + i) % 5 + 1},Caf\xe9 {i}\n" for u in range(6)
                                                 for i in range(5)) + "bob,1,3,Caf\xe9 1\n1,1,5,Caf\xe9 1\n")
    at = upload(open_app("pages/data.py"), "latin.csv", content.encode("latin-1"))
    assert no_exceptions(at) and not at.error
    notes = shown(at.caption)
    assert "averaged" in notes and "mix numbers and text" in notes
    preview = at.dataframe[0].value
    assert preview["title"].str.contains("Café").any()


def test_a_declared_scale_refuses_ratings_outside_it(empty_runs):
    at = upload(open_app("pages/data.py"), "scale.csv", (GOOD + "u1,m9,50\n").encode())
    assert not at.error  # undeclared: accepted as it is
    at.checkbox(key="p_data_scale_on").check().run()
    assert "rating 50 is outside the declared scale 1-5" in shown(at.error)


def test_an_upload_above_the_limit_is_refused(empty_runs, monkeypatch):
    monkeypatch.setattr(cached, "upload_limit_bytes", lambda: 100)
    at = upload(open_app("pages/data.py"), "big.csv", GOOD.encode())
    assert "is above the upload limit of 100 bytes" in shown(at.error)
    assert "MovieLens 100K" in active_dataset(at)


def test_inconsistent_settings_are_refused_in_the_form(with_run):
    runs_dir, run_id = with_run
    at = open_app("pages/train.py")
    at.number_input(key="p_tr_dot_bias_y_low").set_value(5.0)
    at.number_input(key="p_tr_dot_bias_y_high").set_value(1.0)
    at.button(key="FormSubmitter:train_form-Train").click().run()
    assert "y_range low must be below high" in shown(at.error)
    assert sorted(p.name for p in runs_dir.iterdir()) == [run_id]


def test_a_diverging_training_fails_with_advice_and_saves_nothing(with_run):

    runs_dir, run_id = with_run
    at = open_app("pages/train.py")
    at.segmented_control(key="p_tr_model").set_value("dot").run()
    at.number_input(key="p_tr_dot_lr").set_value(10.0)
    at.selectbox(key="p_tr_dot_optimizer").set_value("sgd")
    at.checkbox(key="p_tr_dot_one_cycle").uncheck()
    at.number_input(key="p_tr_dot_weight_decay").set_value(0.0)
    at.button(key="FormSubmitter:train_form-Train").click().run()
    job = job_of(at)
    wait_until(lambda: not job.active, timeout=120)
    assert job.status == "failed" and "Lower the learning rate" in job.error
    at.run()  # the progress fragment notices the end and reruns the app, which shows the notice once
    assert "Lower the learning rate" in shown(at.warning)
    assert sorted(p.name for p in runs_dir.iterdir() if not p.name.startswith(".")) == [run_id]
    assert at.sidebar.selectbox(key="p_run").value == run_id


def test_a_gpu_failure_offers_the_cpu(with_run, monkeypatch):
    from collab_core.errors import DeviceError
    from collab_server import workers

    real_fit = workers.fit  # AppTest has no worker processes: training runs in-thread through workers.fit
    monkeypatch.setattr(workers, "fit", lambda *a, **k: (_ for _ in ()).throw(DeviceError("the GPU ran out of memory")))
    at = open_app("pages/train.py")
    at.number_input(key="p_tr_dot_bias_epochs").set_value(1)
    at.button(key="FormSubmitter:train_form-Train").click().run()
    job = job_of(at)
    wait_until(lambda: not job.active)
    at.run()
    assert "ran out of memory" in shown(at.error)
    monkeypatch.setattr(workers, "fit", real_fit)
    at.button(key="retry_cpu").click().run()
    retry = job_of(at)
    wait_until(lambda: not retry.active, timeout=120)
    assert retry.status == "done" and retry.config.device == "cpu" and retry.config.epochs == 1


def test_unreadable_runs_never_crash_a_page_and_can_be_deleted(with_run):
    runs_dir, run_id = with_run
    (runs_dir / "half-written").mkdir()
    (runs_dir / "half-written" / "run.json").write_text("{")
    old = runs_dir / "old-format"
    old.mkdir()
    for name in ("vocab.json", "weights.safetensors", "stats.safetensors"):
        (old / name).write_bytes(b"x")
    (old / "run.json").write_text(json.dumps({"format_version": 0}))
    for page in ("pages/biases.py", "pages/projections.py", "pages/neighbours.py", "pages/data.py"):
        at = open_app(page)
        assert no_exceptions(at) and at.sidebar.selectbox(key="p_run").value == run_id
    at = open_app("pages/train.py", {"run": "half-written"})
    assert "half-written" in shown(at.warning)  # not selectable, said so
    history = at.dataframe[0].value
    problems = dict(zip(history["run"], history["problem"]))
    assert "missing" in problems["half-written"] and "format version" in problems["old-format"]
    row = list(history["run"]).index("half-written")
    at.session_state["runs_table"] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    at.run()
    at.button(key="delete_runs").click().run()
    assert not (runs_dir / "half-written").exists() and (runs_dir / run_id).exists()
