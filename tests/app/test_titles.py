"""Same title, different item: on every page that shows items, two items that share a title are told apart by
their id, in every table, chart label, hover text and caption (ItemCatalog.display_titles).

The run is made for it: all its items but two share one title, so any table, chart or sentence that shows the
raw title instead shows a bare "Kull the Conqueror (1997)", and any list of two of them shows it twice."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from collab_app import services
from collab_app.apptest import chart_spec
from collab_core.data.catalog import ID_MARK

from .conftest import ROOT, no_exceptions, owner_of, shown, use_dataset

SHARED = "Kull the Conqueror (1997)"
BARE = re.compile(re.escape(SHARED) + "(?!" + re.escape(ID_MARK) + ")")  # the shared title without its id
ONE_TITLE = re.compile(re.escape(SHARED) + "(" + re.escape(ID_MARK) + r"\S+)?")  # a cell that is one such title
UNIQUE = {"0": "Air Bud (1997)", "1": "Fargo (1996)"}
YOUR_RATINGS = {"0": 5.0, "1": 1.0, "2": 5.0, "3": 1.0, "4": 4.0, "5": 2.0}  # two unique titles, four shared


def write_ratings(path: Path, seed: int, items: int) -> Path:
    """A ratings file (user, item, rating, title) on planted structure, ids "0".."items-1", titles as above."""
    from tests.planted import planted_ratings

    ratings, _ = planted_ratings(n_users=60, n_items=items, n_ratings=60 * items, n_factors=3, seed=seed)
    frame = ratings.to_frame()
    frame["title"] = frame["item"].map(lambda i: UNIQUE.get(i, SHARED))
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def twin_runs(tmp_path_factory):
    """Runs 'twins' (40 items) and 'twins-b' (30 of them, another seed), each trained on its ratings file."""
    from collab_core.data.datasets import load_table
    from collab_core.data.ratings import random_split
    from collab_core.model.config import default_config
    from collab_core.model.training import fit
    from collab_core.runs.store import RunStore

    folder = tmp_path_factory.mktemp("twins")
    store = RunStore(folder / "runs")
    for run_id, items, seed in (("twins", 40, 0), ("twins-b", 30, 1)):
        ratings = load_table(write_ratings(folder / f"{run_id}.csv", seed, items))
        store.save(fit(ratings, random_split(ratings, 0.1, 0), default_config(epochs=1, n_factors=4, seed=seed)),
                   run_id)
    return store.root, folder / "twins.csv"


def open_with(twin_runs, monkeypatch, page: str, query: dict) -> AppTest:
    """`page` of the app on run 'twins', in a session that works on its ratings file and has rated six movies."""
    from collab_app.cached import DatasetSpec

    runs, ratings_file = twin_runs
    monkeypatch.setenv("COLLAB_RUNS_DIR", str(runs))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    for key, value in {"run": "twins", **query}.items():
        at.query_params[key] = value
    use_dataset(at, DatasetSpec(kind="upload", path=str(ratings_file), label=ratings_file.name))
    services.owner_memory().put(owner_of(at), "your_ratings", dict(YOUR_RATINGS))
    at.switch_page(page)
    return at.run()


def strings(value) -> list[str]:
    """Every string inside a chart's JSON."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


def chart_labels(spec: dict) -> list[tuple[str, list[str], list]]:
    """(where, labels, ids) of each list of item labels in a chart: point labels and the first line of each
    hover text per trace (with the points' customdata, which names the item or row, when it has one), and the
    annotation labels of the layout (ids unknown: None)."""
    found = []
    for i, trace in enumerate(spec["data"]):
        for field in ("text", "hovertext"):
            values = trace.get(field)
            if isinstance(values, list) and values:
                ids = trace.get("customdata") if isinstance(trace.get("customdata"), list) else None
                found.append((f"trace {i} {field}", [str(v).split("<br>")[0] for v in values], ids))
    notes = [a.get("text", "") for a in spec.get("layout", {}).get("annotations", [])]
    found.append(("annotations", notes, None))
    return found


def shared_duplicates(labels: list[str], ids: list | None) -> set[str]:
    """Labels of the shared title that name two different points (or appear twice, ids unknown)."""
    seen: dict[str, set] = {}
    for position, label in enumerate(labels):
        if SHARED in label:
            seen.setdefault(label, set()).add(repr(ids[position]) if ids is not None else position)
    return {label for label, points in seen.items() if len(points) > 1}


PAGES = [("pages/biases.py", {"n": "40"}), ("pages/projections.py", {"labels": "40"}),
         ("pages/projections.py", {"dims": "3", "labels": "40"}), ("pages/neighbours.py", {"movie": "0"}),
         ("pages/you.py", {}), ("pages/compare.py", {"a": "twins", "b": "twins-b", "min": "0", "item": "2"}),
         ("pages/diagnostics.py", {"user": "0", "movie": "5", "worst": "200"})]


@pytest.mark.parametrize(("page", "query"), PAGES, ids=[f"{p[6:-3]}-{'-'.join(q)}" for p, q in PAGES])
def test_no_page_shows_two_items_under_one_name(twin_runs, monkeypatch, page, query):
    at = open_with(twin_runs, monkeypatch, page, query)
    assert no_exceptions(at), [e.value for e in at.exception]
    bare, duplicated, with_ids = [], [], 0

    for table in at.dataframe:
        frame = table.value
        for column in frame.columns:
            cells = [str(v) for v in frame[column] if isinstance(v, str)]
            bare += [f"table column {column!r}: {c!r}" for c in cells if BARE.search(c)]
            with_ids += sum(ID_MARK in c for c in cells)
            if cells and all(ONE_TITLE.fullmatch(c) or c in UNIQUE.values() or c == "item bias" for c in cells):
                ids = list(frame["item"]) if "item" in frame.columns else None  # else: one item per row
                duplicated += [f"table column {column!r}: {c!r}" for c in shared_duplicates(cells, ids)]
    for chart in at.get("plotly_chart"):
        spec = chart_spec(chart)
        bare += [f"chart: {s!r}" for s in strings(spec) if BARE.search(s)]
        for where, labels, ids in chart_labels(spec):
            duplicated += [f"chart {where}: {c!r}" for c in shared_duplicates(labels, ids)]
    for kind in ("markdown", "caption", "info", "warning", "subheader"):
        bare += [f"{kind}: {e.value!r}" for e in at.get(kind) if BARE.search(shown([e]))]

    assert not bare, bare
    assert not duplicated, duplicated
    assert with_ids >= 2, "no table showed the shared title: the check above would pass on any page"
    assert not at.error, [e.value for e in at.error]


def test_the_run_really_has_one_title_for_many_items(twin_runs):
    from collab_core.runs.store import RunStore

    runs, _ = twin_runs
    catalog = RunStore(runs).load("twins").catalog
    assert (catalog.titles == SHARED).sum() == len(catalog.vocab) - len(UNIQUE)
    assert np.array_equal(catalog.display_titles[:2], [UNIQUE["0"], UNIQUE["1"]])  # told apart already: no id
