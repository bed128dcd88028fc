"""UI pieces shared by several pages: the sidebar, the "no run yet" offer, and live job progress."""
from __future__ import annotations

import streamlit as st

from collab_core.config import default_config
from collab_core.errors import CollabError
from collab_core.ratings import random_split
from collab_core.runs import RunInfo
from collab_core.trained import TrainedModel

from . import cached, charts, services, state, timing, workers


def run_label(info: RunInfo) -> str:
    if not info.ok:
        return f"{info.run_id} (unreadable)"
    rmse = (info.metrics or {}).get("rmse")
    return f"{info.model} · RMSE {rmse:.4f} · {info.run_id}" if rmse is not None else info.run_id


# ---------------------------------------------------------------------- sidebar
def sidebar() -> TrainedModel | None:
    """The shared sidebar: active run selector, dataset, running job, downloads. Returns the active run."""
    infos = [info for info in cached.list_runs() if info.ok]
    by_id = {info.run_id: info for info in infos}
    pending = st.session_state.pop(state.PENDING_RUN, None)
    if pending is not None:
        st.session_state[state.ACTIVE_RUN] = pending if pending in by_id else None
    state.from_url(state.ACTIVE_RUN, "run", str, infos[0].run_id if infos else None, valid=lambda r: r in by_id)
    if st.session_state.get(state.ACTIVE_RUN) not in by_id:
        st.session_state[state.ACTIVE_RUN] = infos[0].run_id if infos else None
    with st.sidebar:
        st.selectbox("Active run", list(by_id), key=state.ACTIVE_RUN, format_func=lambda r: run_label(by_id[r]),
                     placeholder="no run yet: train one", help="The run every page shows. Newest first.")
        spec = st.session_state.get(state.DATASET, cached.DatasetSpec())
        st.caption(f"Dataset: **{spec.label}**" + (
            f" (≥{spec.min_user_ratings} per user, ≥{spec.min_item_ratings} per item)"
            if spec.min_user_ratings or spec.min_item_ratings else ""))
        job = services.training_queue().get(st.session_state.get(state.JOB_ID))
        if job is not None and job.active:
            st.caption(f"Training {job.config.model}: {job.status}"
                       + (f" ({job.last.fraction:.0%})" if job.last else ""))
        run_id = st.session_state.get(state.ACTIVE_RUN)
        trained = None
        if run_id:
            try:
                trained = cached.load_run(run_id)
            except CollabError as exc:
                st.error(f"Run {run_id} cannot be read: {exc}")
                return None
            services.prewarm_umap(run_id)
            with st.expander("Download embeddings"):
                st.download_button("Item embeddings (CSV)", lambda: cached.embeddings_csv(run_id),
                                   file_name=f"{run_id}-item-embeddings.csv", mime="text/csv", key="dl_csv",
                                   on_click="ignore")
                st.download_button("vectors.tsv (Embedding Projector)", lambda: cached.projector_files(run_id)[0],
                                   file_name="vectors.tsv", mime="text/tab-separated-values", key="dl_vectors",
                                   on_click="ignore")
                st.download_button("metadata.tsv (Embedding Projector)", lambda: cached.projector_files(run_id)[1],
                                   file_name="metadata.tsv", mime="text/tab-separated-values", key="dl_meta",
                                   on_click="ignore")
                st.caption("Load both TSV files at projector.tensorflow.org (Load → choose files).")
    return trained


# ---------------------------------------------------------------------- no run yet
def require_run(trained: TrainedModel | None) -> TrainedModel:
    """Return the active run, or offer a one-click default run and stop the page."""
    if trained is not None:
        return trained
    st.info("No trained run yet. Train the default EmbeddingDotBias on the built-in MovieLens 100K: it takes "
            "a few seconds on a CPU.", icon=":material/model_training:")
    job = services.training_queue().get(st.session_state.get(state.JOB_ID))
    if job is None or not job.active:
        if st.button("Train the default run", type="primary", key="default_run"):
            start_default_run()
            st.rerun()
    else:
        job_progress()
    st.stop()


def start_default_run() -> None:
    spec = cached.DatasetSpec()
    ratings, _ = cached.load_dataset(spec)
    submit(ratings, random_split(ratings, 0.1, 42), default_config())


def submit(ratings, split, config) -> None:
    job = services.training_queue().submit(ratings, split, config, str(cached.store().root), state.session_id())
    st.session_state[state.JOB_ID] = job.job_id


# ---------------------------------------------------------------------- live progress
@st.fragment(run_every=1.0)  # the issue asks for at least one update a second; each poll costs server CPU
def job_progress() -> None:
    """Progress bar, live loss curves and Cancel for this session's job; reruns the app when it ends."""
    # its cost is paid every second by every training session
    with timing.script_run("progress-fragment"), workers.rendering():
        _job_progress()


def _job_progress() -> None:
    queue = services.training_queue()
    job = queue.get(st.session_state.get(state.JOB_ID))
    if job is None:
        return
    if job.status == "queued":
        st.info(f"Queued: position {queue.queue_position(job)} (at most {queue.max_concurrent} training(s) run "
                f"at once on this machine).", icon=":material/hourglass:")
    last = job.last
    if job.active:
        text = (f"Training {job.config.model} on {job.dataset}: epoch {last.epoch}/{last.epochs}, "
                f"train loss {last.train_loss:.4f}" + (f", valid RMSE {last.valid_rmse:.4f}" if last.valid_rmse else "")
                + f", {last.elapsed:.1f}s") if last else f"Starting {job.config.model} ..."
        st.progress(last.fraction if last else 0.0, text=text)
        # on_click, not `if st.button(...)`: the fragment redraws every second, and a callback runs when the
        # click arrives, whichever rerun picks it up (a returned True was sometimes lost in between)
        st.button("Cancel", key="cancel_training", icon=":material/stop:", on_click=job.cancel)
        if job.progress:
            st.plotly_chart(charts.loss_curves(list(job.progress)), key="live_loss")
        return
    # finished: tell the app once, then leave the result to the run history
    if st.session_state.get("_job_seen") != job.job_id:
        st.session_state["_job_seen"] = job.job_id
        if job.status == "done":
            state.request_active_run(job.run_id)
            services.prewarm_umap(job.run_id)
            state.notice_success(f"Run {job.run_id} trained: validation RMSE "
                                 f"{job.last.valid_rmse:.4f}. It is now the active run.")
        elif job.status == "failed":
            state.notice(f"Training failed: {job.error}")
        else:
            state.notice("Training cancelled; nothing was saved.")
        st.rerun(scope="app")


def ensure_frame() -> None:
    """Make sure app.py (the frame) ran before this page.

    Streamlit keeps a process-wide flag for the legacy "pages/ directory" mode: while it is set (a fresh
    server process, or every AppTest run), a request for /neighbours executes pages/neighbours.py directly,
    without app.py and its sidebar. Our own st.navigation call clears the flag, so flipping it here and
    rerunning sends the same request through app.py; the page lands where it was asked for because each
    st.Page's url_path equals its file name. (Streamlit internals: re-check on upgrades; the AppTests and
    the browser test exercise this path.)
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def current_run() -> TrainedModel:
    """The active run for a page that needs one (drawn by the sidebar); offers a default run otherwise."""
    ensure_frame()
    return require_run(st.session_state.get("_trained"))
