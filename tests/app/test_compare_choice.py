"""Compare never opens on a dead end: its default run B is the newest run it can compare with A, and a B it
cannot compare (from a link, or when no run can) gets plain words on what to pick or train, not an error."""
from __future__ import annotations

import json
import shutil

import pytest

from .conftest import no_exceptions, open_app, shown


def dated(root, days: dict[str, int]) -> None:
    """Set each run's creation day (January 2026): the run list, and so Compare's preference, is newest first."""
    for run_id, day in days.items():
        meta = json.loads((root / run_id / "run.json").read_text())
        (root / run_id / "run.json").write_text(json.dumps({**meta, "created": f"2026-01-{day:02d}T00:00:00+00:00"}))


@pytest.fixture(scope="module")
def elsewhere(tmp_path_factory):
    """A tiny run whose items (ids 'x0'..'x29') no MovieLens run has: the newest run, and never comparable."""
    from collab_core.data.ratings import Ratings, random_split
    from collab_core.model.config import default_config
    from collab_core.model.training import fit
    from collab_core.runs.store import RunStore
    from tests.planted import planted_ratings

    planted, _ = planted_ratings(n_users=20, n_items=30, n_ratings=400, n_factors=2, seed=3)
    frame = planted.to_frame().assign(item=lambda f: "x" + f["item"])
    ratings = Ratings.from_frame(frame, name="elsewhere.csv")
    store = RunStore(tmp_path_factory.mktemp("elsewhere") / "runs")
    store.save(fit(ratings, random_split(ratings, 0.2, 0), default_config(epochs=1, n_factors=4)), "elsewhere")
    return store.root / "elsewhere"


@pytest.fixture()
def runs(movie_run, elsewhere, tmp_path, monkeypatch):
    """The movie run (conftest), two copies of it under other names (older), and 'elsewhere' (newest)."""
    from collab_core.runs.store import RunStore

    root, run_id = movie_run
    copy = tmp_path / "runs"
    shutil.copytree(root, copy)
    shutil.copytree(elsewhere, copy / "elsewhere")
    store = RunStore(copy)
    for other in ("copy-newer", "copy-older"):
        store.save(store.load(run_id), other)
    dated(copy, {"elsewhere": 9, run_id: 5, "copy-newer": 4, "copy-older": 3})
    monkeypatch.setenv("COLLAB_RUNS_DIR", str(copy))
    return copy, run_id


def compared(at) -> bool:
    """Whether the page went on to compare (its headline figures are drawn)."""
    return any(m.label == "Same neighbours" for m in at.metric)


def test_compare_opens_on_the_newest_run_it_can_compare(runs):
    _, run_id = runs
    at = open_app("pages/compare.py", {"run": run_id})
    assert no_exceptions(at), [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert at.selectbox(key="p_cmp_b").value == "copy-newer"  # 'elsewhere' is newer, but shares no item with A
    assert compared(at)


def test_the_newest_run_stays_the_default_when_it_can_be_compared(runs):
    from collab_core.runs.store import RunStore

    root, run_id = runs
    store = RunStore(root)
    store.save(store.load(run_id), "newest-copy")
    dated(root, {"newest-copy": 20})
    at = open_app("pages/compare.py", {"run": run_id})
    assert no_exceptions(at) and not at.error
    assert at.selectbox(key="p_cmp_b").value == "newest-copy" and compared(at)


def test_a_link_to_a_run_b_it_cannot_compare_says_what_to_pick(runs):
    from collab_app.run_labels import run_labels
    from collab_core.runs.store import RunStore

    root, run_id = runs
    at = open_app("pages/compare.py", {"run": run_id, "a": run_id, "b": "elsewhere"})
    assert no_exceptions(at), [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    advice = shown(at.info)
    assert "cannot be compared with run A" in advice and "share 0 item(s)" in advice
    newer = run_labels(RunStore(root).list())["copy-newer"]  # named as the run selectors show it
    assert f"Pick {newer} for B" in advice
    assert not compared(at)
    at.selectbox(key="p_cmp_b").set_value("copy-older").run()  # taking the advice
    assert not at.error and compared(at)


def test_with_only_runs_it_cannot_compare_it_says_what_to_train(movie_run, elsewhere, tmp_path, monkeypatch):
    root, run_id = movie_run
    copy = tmp_path / "runs"
    shutil.copytree(root, copy)
    shutil.copytree(elsewhere, copy / "elsewhere")
    dated(copy, {"elsewhere": 9, run_id: 5})
    monkeypatch.setenv("COLLAB_RUNS_DIR", str(copy))

    at = open_app("pages/compare.py", {"run": run_id})
    assert no_exceptions(at), [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert at.selectbox(key="p_cmp_b").value == run_id  # A beside itself: a page that works, and says why
    note = shown(at.info)
    assert "No other run can be compared with run A" in note and "elsewhere" in note
    assert "Train another run on MovieLens 100K" in note
    assert compared(at)

    linked = open_app("pages/compare.py", {"run": run_id, "b": "elsewhere"})
    assert no_exceptions(linked) and not linked.error, [e.value for e in linked.error]
    advice = shown(linked.info)
    assert "cannot be compared with run A" in advice and "Train another run on MovieLens 100K" in advice
    assert not compared(linked)


def test_a_minimum_no_item_reaches_says_to_lower_it(runs):
    _, run_id = runs
    at = open_app("pages/compare.py", {"run": run_id, "b": "copy-newer", "min": "100000"})
    assert no_exceptions(at), [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert "lower the minimum" in shown(at.info) and not compared(at)
