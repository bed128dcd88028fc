"""Words for a room (class: text that makes sense only to whoever built it).

Every page is opened on runs of several kinds and everything it would show is read: what is on the page itself
(titles, captions, alerts, labels, buttons, table headers and cells) must hold no build jargon and no missing value
written out as "None" or "nan" (a dash, or nothing), and nothing at all, tooltips and charts included, may call
the items "movies" unless they are MovieLens movies (collab_core.data.nouns)."""
import re

import numpy as np
import pandas as pd
import pytest
from google.protobuf.json_format import MessageToDict

from collab_app.apptest import message

from .conftest import PAGES, no_exceptions, open_app

# written for whoever built the app, not for the room: commands, settings, code, solver internals
JARGON = re.compile(r"`|\bmake (bench|test|run)|\bbench(-scale)?\b|COLLAB_[A-Z]|\b\w+\.py\b|\bridge\b|\bnewton\b|"
                    r"refinement step", re.IGNORECASE)
MISSING = re.compile(r"\bNone\b|\bnan\b|\bNaN\b|<NA>")  # a missing value written out (the word "none" is fine)
MOVIES = re.compile(r"\bmovies?\b", re.IGNORECASE)
SKIPPED_FIELDS = {"id", "formId", "jsContent", "cssContent", "data", "arrowData", "styles", "body_html"}
# the fields of an element's message that hold what a person reads (the rest are settings and enum names)
READ_FIELDS = {"body", "label", "options", "text", "value", "default", "help", "placeholder", "spec", "caption",
               "title", "displayValue", "formattedValue"}


def texts(at, *, shown_only: bool) -> list[str]:
    """Every string of every element of the page (`shown_only`: those on the page itself, not in a tooltip or a
    closed panel, and not in charts, whose text is checked apart), with table headers and cells."""
    found: list[str] = []

    def strings(value, key=""):
        if isinstance(value, dict):
            for k, v in value.items():
                if k not in SKIPPED_FIELDS and not (shown_only and k in ("help", "placeholder", "spec")):
                    strings(v, k)
        elif isinstance(value, list):
            for v in value:
                strings(v, key)
        elif isinstance(value, str) and key in READ_FIELDS:
            found.append(value)

    in_expanders = {id(node) for expander in at.expander for node in expander}  # each one and all inside it
    for node in at:  # every block and element of the page, the sidebar's included
        kind = getattr(node, "type", None)
        if kind == "html" or kind == "bidi_component":
            continue  # the app's own style and script
        if shown_only and id(node) in in_expanders:
            continue
        sent = message(node)
        if sent is not None and kind != "dataframe":
            strings(MessageToDict(sent))
        if kind == "dataframe":
            frame = node.value
            found.extend(str(c) for c in frame.columns)
            for column in frame.columns:
                if frame[column].dtype == object:  # a missing cell shows the table's placeholder: checked apart
                    found.extend(str(v) for v in frame[column].dropna().tolist())
    return found


def jargon(at) -> list[str]:
    """What the page shows that is build jargon or a missing value written out. (Reads every element's whole
    message, collab_app.apptest.message: AppTest has no public accessor for all of an element's fields.)"""
    return [t for t in texts(at, shown_only=True) if JARGON.search(t) or MISSING.search(t)]


def open_each(page: str, run: str):
    at = open_app(page, {"run": run})
    if page == "pages/you.py":
        at.button(key="you_demo").click().run()
    assert no_exceptions(at), [e.value for e in at.exception]
    return at


@pytest.fixture()
def foods(imported_runs, movie_run, tmp_path, monkeypatch):
    """Runs folders: 'foods', an import that names its items, beside the imports of conftest ('bare', 'full')
    (`imports`), and the same with the tiny MovieLens run (`mixed`). Run ids say nothing about movies."""
    import shutil

    from collab_core.runs.importer import import_embeddings
    from collab_core.runs.store import RunStore

    runs_dir = tmp_path / "runs"
    shutil.copytree(imported_runs, runs_dir)
    rng = np.random.default_rng(0)
    names = ["Apple", "Bread", "Cheese", "Dates", "Eggs", "Figs", "Grapes", "Honey", "Ice cream", "Jam", "Kale",
             "Lentils", "Mango", "Noodles", "Olives", "Pears", "Quinoa", "Rice", "Soup", "Tofu"]
    pd.DataFrame({"id": [f"f{i}" for i in range(20)], "title": names, "count": rng.integers(5, 500, 20),
                  "bias": rng.normal(size=20)}).to_csv(tmp_path / "foods.csv", index=False)
    np.save(tmp_path / "foods.npy", rng.normal(size=(20, 6)).astype(np.float32))
    np.save(tmp_path / "eaters.npy", rng.normal(size=(15, 6)).astype(np.float32))
    trained, _ = import_embeddings(tmp_path / "foods.npy", tmp_path / "foods.csv", user_vectors=tmp_path / "eaters.npy",
                                   item_noun="foods")
    RunStore(runs_dir).save(trained, "foods")
    shutil.rmtree(runs_dir / "hostile")
    monkeypatch.setenv("COLLAB_RUNS_DIR", str(runs_dir))
    return runs_dir


@pytest.fixture()
def mixed(foods, movie_run):
    import shutil

    root, run_id = movie_run
    shutil.copytree(root / run_id, foods / "ml-run")
    return foods


@pytest.mark.parametrize("page", PAGES)
def test_no_page_calls_foods_movies(foods, page):
    at = open_each(page, "foods")
    # what is said about MovieLens itself (the Train page's training data, say) may speak of its movies
    said = [t for t in texts(at, shown_only=False) if MOVIES.search(t) and "MovieLens" not in t]
    assert not said, said[:5]


@pytest.mark.parametrize("run", ["ml-run", "bare", "foods"])
@pytest.mark.parametrize("page", PAGES)
def test_no_page_shows_build_jargon_or_a_missing_value_as_text(mixed, page, run):
    from collab_app.text import MISSING

    at = open_each(page, run)
    assert not jargon(at), jargon(at)[:5]
    # a missing cell reads as a dash: Streamlit writes "None" in a table without a placeholder
    assert [d.placeholder for d in at.dataframe] == [MISSING] * len(at.dataframe)
