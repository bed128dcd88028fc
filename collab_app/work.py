"""This browser's background work on screen, whichever page or tab it is on: what it started (collab_server.owners,
filed under collab_app.browser's owner id), listed in the sidebar with progress and Cancel; how each task ended,
announced once per session (a training, whatever its end, and a finished import, which become the active run; the
other kinds show how they ended in the list and on their own page); and the small things a browser keeps across
reloads (the Train form, the dataset, the uploads, the ratings given on You).

The frame calls `announce()` before it draws the sidebar, so a training that finished while the page was being
reloaded still becomes the active run, and `panel()` in the sidebar, which polls while anything runs.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import streamlit as st

from collab_core.model.verdict import baseline_verdict
from collab_server.owners import Tracked, Work

from . import access, browser, cached, services, state
from .messages import clean
from .run_labels import preset_note
from .text import md
from .uploads import BrowserUploads

# the kinds of work a browser starts, as the list names them
TRAINING, LR_FINDER, UMAP, DOWNLOAD, IMPORT = "training", "learning-rate finder", "UMAP", "download", "import"
POLL_SECONDS = 1.0
_SESSION_STARTED = "_session_started"
ICONS = {"done": ":material/check_circle:", "failed": ":material/error:", "cancelled": ":material/block:"}


def file(kind: str, label: str, task: Tracked) -> Work:
    """File a task this browser started (`label`: what it is, plain text) so every tab of it finds it again. A task
    filed for the first time reruns the app, so this tab's sidebar, drawn before the page, lists it too."""
    owner = browser.owner()
    new = all(listed.task is not task for listed in services.owner_work().of(owner))
    filed = services.owner_work().add(owner, kind, label, task)
    if new:
        st.rerun()
    return filed


def latest(kind: str) -> Work | None:
    """This browser's newest task of `kind` (running, or the last one that ended in the last half hour)."""
    return services.owner_work().latest(browser.owner(), kind)


def remember(name: str, value: Any) -> None:
    services.owner_memory().put(browser.owner(), name, value)


def recall(name: str, default: Any = None) -> Any:
    return services.owner_memory().get(browser.owner(), name, default)


def kept(name: str, factory) -> Any:
    """Something this browser keeps for as long as the server remembers it, made by `factory()` the first time."""
    return services.owner_memory().setdefault(browser.owner(), name, factory)


def dataset() -> cached.DatasetSpec:
    """The dataset this browser trains on (chosen on the Data page): the built-in data until it chooses another,
    and again if the file it chose is gone."""
    spec = recall("dataset")
    if spec is None or (spec.kind == "upload" and not Path(spec.path).is_file()):
        return cached.DatasetSpec()
    return spec


def set_dataset(spec: cached.DatasetSpec) -> None:
    """Train on `spec` from now on; a folder on the server or an upload only when this session may use one."""
    needs = access.SOURCE_NEEDS.get(spec.kind)
    if needs is not None:
        access.require(needs, what=spec.label)
    remember("dataset", spec)


def uploads() -> BrowserUploads:
    """This browser's private uploads folder (collab_app.uploads)."""
    return kept("uploads", lambda: BrowserUploads(cached.upload_limit_bytes()))


# ---------------------------------------------------------------------- the "You" page's ratings
def your_ratings() -> dict[str, float]:
    """This browser's ratings on the "You" page, {raw item id: rating} in the order they were given. Kept by raw
    id, so they survive a change of run (a run without the item simply does not use that rating), and per browser,
    so a reload keeps them; never put in the URL, so a shared link does not carry them."""
    return dict(recall("your_ratings", {}))


def set_your_rating(item_id: str, rating: float) -> None:
    services.owner_memory().update(browser.owner(), "your_ratings",
                                   lambda kept: {**kept, str(item_id): float(rating)}, {})


def remove_your_rating(item_id: str) -> None:
    services.owner_memory().update(browser.owner(), "your_ratings",
                                   lambda kept: {k: v for k, v in kept.items() if k != str(item_id)}, {})


def set_your_ratings(ratings: dict[str, float]) -> None:
    remember("your_ratings", {str(k): float(v) for k, v in ratings.items()})


def session_started() -> float:
    return st.session_state.setdefault(_SESSION_STARTED, time.time())


# ---------------------------------------------------------------------- how each task ended, said once
def announce() -> None:
    """Say how this browser's finished tasks ended (those this session has not said yet), and make a finished
    training or import the active run."""
    for done in services.owner_work().to_announce(browser.owner(), state.session_id(), session_started()):
        task = done.task
        if done.kind == TRAINING and task.status == "done":
            state.request_active_run(task.run_id)
            services.prewarm_umap(task.run_id)
            info = next((i for i in cached.list_runs() if i.run_id == task.run_id), None)
            state.notice_success(_trained_text(task.run_id, info))
            verdict = baseline_verdict(info.metrics, info.config) if info is not None else None
            if verdict is not None:  # a run that learned less than the baselines says so as it arrives
                state.notice(md(verdict.message))
        elif done.kind == TRAINING and task.status == "failed":
            state.notice(f"Training failed: {md(clean(task.error))}")
        elif done.kind == TRAINING and task.status == "cancelled":
            state.notice("Training cancelled; nothing was saved.", "info")
        elif done.kind == IMPORT and task.status == "done":
            imported = task.result  # collab_app.import_panel.Imported
            for note in imported.notes:
                state.notice(f"Note: {md(note)}", "info")
            state.notice_success(f"Imported {md(imported.what)} as run {md(imported.run_id)}. It is now the active "
                                 f"run.")
            state.request_active_run(imported.run_id)


def _trained_text(run_id: str, info) -> str:
    metrics = (info.metrics if info is not None else None) or {}
    if metrics.get("rmse") is not None and metrics.get("mse") is not None:
        score = f": validation RMSE {metrics['rmse']:.4f}, MSE {metrics['mse']:.4f}{md(preset_note(info))}"
    elif metrics.get("ndcg10") is not None:  # a ranking run predicts no ratings: the top of its lists instead
        score = f": validation nDCG@10 {metrics['ndcg10']:.3f}"
    else:
        score = ""
    return f"Run {md(run_id)} trained{score}. It is now the active run."


# ---------------------------------------------------------------------- the sidebar's list
def panel() -> None:
    """'Your work' in the sidebar: every task of this browser, live while any runs."""
    works = services.owner_work().of(browser.owner())
    if not works:
        return
    st.caption("**Your work** (this browser's, in every tab)")
    if any(w.active for w in works):
        _live_list()
    else:
        _draw(works)


@st.fragment(run_every=POLL_SECONDS)
def _live_list() -> None:
    works = services.owner_work().of(browser.owner())
    _draw(works)
    unsaid = any(not w.active and state.session_id() not in w.told for w in works)
    if unsaid or not any(w.active for w in works):
        st.rerun(scope="app")  # something ended: the frame announces it, and the list stops polling


def _draw(works: list[Work]) -> None:
    for work in works:
        task = work.task
        # clean: a failure's words without server paths or error numbers
        text = clean(f"{work.kind[:1].upper()}{work.kind[1:]}: {work.label} — {task.describe()}")
        if work.active:
            fraction = task.fraction()
            st.progress(fraction if fraction is not None else 0.0, text=md(text))
            if task.cancellable:
                st.button(f"Cancel {work.kind}", key=f"cancel_{work.work_id}", icon=":material/stop:",
                          on_click=task.cancel)
        else:
            st.caption(f"{ICONS.get(task.status, '')} {md(text)}")
