"""AppTest fixtures: the real app.py, with a runs directory holding a tiny trained run (no real training)."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from collab_app.apptest import navigation_only
from collab_core.runs import export
from collab_core.runs.importer import import_embeddings
from collab_core.runs.store import RunStore
from tests.conftest import HOST_KEY
from tests.hostile import HOSTILE

ROOT = Path(__file__).resolve().parents[2]
PAGES = ["pages/data.py", "pages/train.py", "pages/biases.py", "pages/projections.py", "pages/neighbours.py",
         "pages/home.py", "pages/you.py", "pages/compare.py", "pages/diagnostics.py"]


def open_app(page: str | None = None, query: dict | None = None, host: bool = True) -> AppTest:
    """The app opened on `page` (a path under pages/), as a browser opening /<page>?<query> would: with the host
    link unless `host` is False (a visitor)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    if host:
        at.query_params["host"] = HOST_KEY
    for key, value in (query or {}).items():
        at.query_params[key] = value
    if page:
        at.switch_page(page)  # before the first run: resolved by file name, which equals our url_path
    return at.run()


def shown(elements) -> str:
    """What a person reads in these Markdown elements (captions, alerts, ...): their text joined, without the
    backslash escapes and invisible word joiners that collab_app.text.md puts in."""
    return " ".join(re.sub(r"\\(.)", r"\1", e.value).replace("\u2060", "") for e in elements)


def owner_of(at: AppTest) -> str:
    """The owner id of the app's session: AppTest runs no JavaScript, so it is the one the server proposed (set
    here before the first run when a test needs it earlier)."""
    import secrets

    from collab_app import browser

    if browser._PROPOSED not in at.session_state:
        at.session_state[browser._PROPOSED] = secrets.token_hex(16)
    return at.session_state[browser._PROPOSED]


def use_dataset(at: AppTest, spec) -> None:
    """Make `spec` the dataset the app's browser trains on, as "Use this dataset" on the Data page does."""
    from collab_app import services

    services.owner_memory().put(owner_of(at), "dataset", spec)


def job_of(at: AppTest, kind: str = "training"):  # collab_app.work.TRAINING, LR_FINDER, UMAP, DOWNLOAD, IMPORT
    """The newest task of `kind` the app's browser started (collab_app.work), from the process-wide registry."""
    from collab_app import services

    found = services.owner_work().latest(owner_of(at), kind)
    return found.task if found is not None else None


def import_and_wait(at: AppTest) -> AppTest:
    """Press "Import as a run" and wait for the import, which runs in the background, to end; then run the app
    once more, as the panel's poll does in a browser."""
    from tests.waiting import wait_until

    at.button(key="imp_go").click().run()
    task = job_of(at, "import")
    if task is not None:
        wait_until(lambda: task.status not in ("queued", "running"), timeout=60)
    return at.run()


def no_exceptions(at: AppTest) -> bool:
    return len(at.exception) == 0


@pytest.fixture()
def empty_runs(tmp_path, monkeypatch):
    path = tmp_path / "runs"
    monkeypatch.setenv("COLLAB_RUNS_DIR", str(path))
    return path


@pytest.fixture(scope="session")
def movie_run(tmp_path_factory):
    """A small run on the built-in MovieLens 100K: 1 epoch, 8 factors (under a second), saved once."""
    from collab_core.data.datasets import load_builtin
    from collab_core.data.ratings import random_split
    from collab_core.model.config import default_config
    from collab_core.model.training import fit

    ratings = load_builtin()
    trained = fit(ratings, random_split(ratings, 0.1, 0), default_config(epochs=1, n_factors=8))
    root = tmp_path_factory.mktemp("app-runs") / "runs"
    run_id = RunStore(root).save(trained, "tiny-movie-run")
    return root, run_id


@pytest.fixture()
def with_run(movie_run, monkeypatch, tmp_path):
    """A fresh copy of the runs directory per test, so deleting runs cannot leak between tests."""
    root, run_id = movie_run
    return use_copy_of(root, tmp_path, monkeypatch), run_id


def use_copy_of(runs: Path, tmp_path: Path, monkeypatch) -> Path:
    """A private copy of the runs folder `runs`, made the app's runs folder (COLLAB_RUNS_DIR)."""
    import shutil

    copy = tmp_path / "runs"
    shutil.copytree(runs, copy)
    monkeypatch.setenv("COLLAB_RUNS_DIR", str(copy))
    return copy


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """The folder of a run on 30 items and 20 users (a typical small upload), saved once."""
    from collab_core.data.ratings import random_split
    from collab_core.model.config import default_config
    from collab_core.model.training import fit
    from tests.planted import planted_ratings

    ratings, _ = planted_ratings(n_users=20, n_items=30, n_ratings=400, n_factors=2, seed=3)
    root = tmp_path_factory.mktemp("tiny") / "runs"
    RunStore(root).save(fit(ratings, random_split(ratings, 0.2, 0), default_config(epochs=1, n_factors=4)), "tiny-run")
    return root / "tiny-run"


@pytest.fixture(scope="session")
def instrument_runs(tmp_path_factory, movie_run):
    """The tiny movie run (conftest), a second dot_bias with another weight seed, and an nn, all on the built-in
    MovieLens 100K with the same split (seed 0, 10%)."""
    from collab_core.data.datasets import load_builtin
    from collab_core.data.ratings import random_split
    from collab_core.model.config import default_config
    from collab_core.model.training import fit

    root, run_id = movie_run
    copy = tmp_path_factory.mktemp("instrument-runs") / "runs"
    shutil.copytree(root, copy)
    ratings = load_builtin()
    split = random_split(ratings, 0.1, 0)
    store = RunStore(copy)
    store.save(fit(ratings, split, default_config(epochs=1, n_factors=8, seed=7)), "other-seed-run")
    store.save(fit(ratings, split, default_config("nn", epochs=1, n_factors=8, nn_layers=(16,))), "nn-run")
    store.save(fit(ratings, split, default_config("dot", epochs=1, n_factors=8)), "dot-run")
    for day, name in ((4, run_id), (3, "other-seed-run"), (2, "nn-run"), (1, "dot-run")):  # newest first
        meta = json.loads((copy / name / "run.json").read_text())
        (copy / name / "run.json").write_text(json.dumps({**meta, "created": f"2026-01-0{day}T00:00:00+00:00"}))
    return copy, run_id


@pytest.fixture(scope="session")
def imported_runs(movie_run, tmp_path_factory):
    """Runs folder with three imported runs: 'bare' (vectors only: no metadata, biases, counts or users),
    'full' (the tiny MovieLens run's embeddings CSV with its user vectors and biases) and 'hostile'."""
    from tests.hostile import save_hostile_run

    root, run_id = movie_run
    folder = tmp_path_factory.mktemp("imports")
    runs = RunStore(folder / "runs")
    np.save(folder / "bare.npy", np.random.default_rng(0).normal(size=(40, 5)).astype(np.float32))
    runs.save(import_embeddings(folder / "bare.npy")[0], "bare")
    movies = RunStore(root).load(run_id)
    (folder / "items.csv").write_bytes(export.embeddings_csv(movies))
    np.save(folder / "users.npy", movies.user_factors())
    (folder / "users.tsv").write_text("user\tbias\n" + "".join(
        f"{u}\t{b!r}\n" for u, b in zip(movies.users.ids, movies.user_biases().tolist())))
    runs.save(import_embeddings(folder / "items.csv", user_vectors=folder / "users.npy",
                                user_metadata=folder / "users.tsv")[0], "full")
    save_hostile_run(folder / "trained")
    (folder / "hostile.csv").write_bytes(export.embeddings_csv(RunStore(folder / "trained").load("hostile-run")))
    runs.save(import_embeddings(folder / "hostile.csv", names={"vectors": HOSTILE[2]}, item_noun=HOSTILE[6])[0],
              "hostile", name=HOSTILE[0])  # its items are called "**bold** _it_ `code`": every page names them
    return runs.root


@pytest.fixture(scope="session")
def every_kind_of_run(instrument_runs, imported_runs, tmp_path_factory):
    """One runs folder with a run of every kind: dot_bias (the tiny movie run, and another seed), nn, dot, and the
    imports 'bare' and 'full' (see instrument_runs and imported_runs)."""
    root, run_id = instrument_runs
    copy = tmp_path_factory.mktemp("every-kind") / "runs"
    shutil.copytree(root, copy)
    for name in ("bare", "full"):
        shutil.copytree(imported_runs / name, copy / name)
    return copy, run_id


@pytest.fixture(autouse=True)
def navigation_mode(request):
    """Run AppTests the way a server runs after its first script run: st.navigation only.

    AppTest resets Streamlit's process-wide "pages/ directory" flag before every run (see
    collab_app.navigation), so without this each run would take ensure_frame's extra rerun, which drops
    one-shot button clicks. Tests marked `legacy_pages_mode` keep Streamlit's behaviour to check that hop.
    (No public setting does this: collab_app.apptest.navigation_only says why.)"""
    if request.node.get_closest_marker("legacy_pages_mode"):
        yield
        return
    with navigation_only():
        yield


def pick(at: AppTest, key: str, text: str) -> AppTest:
    """Type `text` into the search box of the picker whose selectbox has `key` (collab_app.picker), as a person
    pressing Enter does: its best match becomes the selection."""
    from collab_app.picker import search_key

    return at.text_input(key=search_key(key)).set_value(text).run()
