"""Training from a page: starting one for this browser, its live progress with Cancel, and the "no run yet" offer of
a one-click default run. How a training ended is announced by collab_app.work, in whichever tab is open."""
from __future__ import annotations

import streamlit as st

from collab_core.data.ratings import Ratings, Split, random_split
from collab_core.errors import CollabError
from collab_core.model.config import defaults_for_data
from collab_core.model.memory import check_fits
from collab_core.model.training import resolve_device
from collab_server import timing, workers
from collab_server.jobs import Job

from . import access, browser, cached, charts, navigation, services, state, work
from .messages import said
from .run_labels import model_name
from .text import md
from .work import TRAINING


def submit_training(ratings: Ratings, split: Split, config) -> None:
    """Queue a training for this browser, after the checks that would otherwise fail in the worker (the first: that
    this session may train at all, collab_app.access)."""
    access.require(access.TRAIN)
    check_fits(config, ratings.n_users, ratings.n_items, ratings.n_ratings, resolve_device(config.device))
    cached.store().check_writable()
    job = services.training_service().train(ratings, split, config, str(cached.store().root), browser.owner(),
                                            access.caller().run_owner)
    work.file(TRAINING, f"{model_name(config.model)} on {ratings.name}", job)


def submit_lr_find(ratings: Ratings, split: Split, config) -> None:
    """Queue a learning-rate sweep for this browser (it trains a throw-away copy: a training, as the rules see it)."""
    access.require(access.TRAIN)
    found = services.training_service().find_lr(ratings, split, config, browser.owner())
    work.file(work.LR_FINDER, f"{model_name(config.model)} on {ratings.name}", found)


def current_training() -> Job | None:
    """This browser's training: the one running or queued, else the last one that ended (half an hour at most)."""
    found = work.latest(TRAINING)
    return found.task if found is not None else None


def start_default_run() -> None:
    ratings, _ = cached.load_dataset(cached.DatasetSpec())
    chosen = defaults_for_data(ratings)
    submit_training(ratings, random_split(ratings, 0.1, 42), chosen.config)  # the Train page's defaults


def default_run_button(label: str, key: str, **kwargs) -> None:
    """A button that trains the default run; on success the app reruns (the job's progress shows), on a
    refusal (memory, runs folder) the reason shows and the page stops. A session that may not train (a visitor of a
    demo) reads why instead of the button."""
    refused = access.refusal(access.TRAIN)
    if refused is not None:
        st.caption(md(refused))
        return
    if st.button(label, key=key, **kwargs):
        try:
            start_default_run()
        except CollabError as exc:
            st.error(f"Cannot train: {said(exc)}")
            st.stop()
        st.rerun()


def page_run() -> state.ActiveRun:
    """The active run, for a page that needs one; otherwise offers a one-click default run and stops the page."""
    navigation.ensure_frame()
    active = state.active_run()
    if active is not None:
        return active
    st.info("No trained run yet. Train the default EmbeddingDotBias on the built-in MovieLens 100K: it takes "
            "a few seconds on a CPU.", icon=":material/model_training:")
    job = current_training()
    if job is None or not job.active:
        default_run_button("Train the default run", "default_run", type="primary")
    else:
        show_training()
    st.stop()


def show_training() -> None:
    """This browser's training, live (progress, loss curves, Cancel) while it runs; nothing once it has ended (the
    frame announces how, collab_app.work, and the run history shows it)."""
    job = current_training()
    if job is not None and job.active:
        _live_training()


@st.fragment(run_every=1.0)  # at least one update a second; each poll costs server CPU
def _live_training() -> None:
    """Progress bar, live loss curves and Cancel for this browser's training; reruns the app when it ends."""
    with timing.script_run("progress-fragment"), workers.rendering():  # paid every second by every trainer
        _draw_training()


def _draw_training() -> None:
    service = services.training_service()
    job = current_training()
    if job is None:
        return
    if not job.active:  # it ended: the app reruns once, its frame announces how, and this view is not drawn again
        st.rerun(scope="app")
    if job.status == "queued":
        st.info(f"Queued: position {service.queue_position(job)} (at most {service.slots} training(s) run at once "
                f"on this machine).", icon=":material/hourglass:")
    fraction = job.fraction()
    st.progress(fraction or 0.0, text=md(f"Training {model_name(job.config.model)} on {job.dataset}: "
                                         f"{job.describe()}"))
    # on_click, not `if st.button(...)`: the fragment redraws every second, and a callback runs when the click
    # arrives, whichever rerun picks it up (a returned True was sometimes lost in between)
    st.button("Cancel", key="cancel_training", icon=":material/stop:", on_click=service.cancel, args=(job,))
    if job.progress:
        st.plotly_chart(charts.loss_curves(list(job.progress)), key="live_loss")
