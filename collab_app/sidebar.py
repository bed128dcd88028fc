"""The shared sidebar: the active run (selector, name, dataset), this session's training, and the downloads.

It is drawn by app.py on every page, before the page, and leaves the loaded active run in
`state.active_run()` for the page.
"""
from __future__ import annotations

import streamlit as st

from collab_core import settings
from collab_core.data.nouns import Noun
from collab_core.errors import CollabError
from collab_core.model.kinds import IMPORTED
from collab_core.runs import store as runs
from collab_core.runs.store import RunInfo

from . import access, announce, cached, options, services, state, work
from .messages import said
from .run_labels import run_description, run_labels
from .text import md


def default_run(readable: list[RunInfo]) -> str | None:
    return runs.choose_default(readable, settings.get("COLLAB_DEFAULT_RUN"), cached.pinned_run())


def sidebar() -> None:
    """Draw the sidebar and set the active run for this script run."""
    state.set_active(None)  # not known until the selector is drawn (options.apply reads it: see there)
    readable = access.visible_runs([info for info in cached.list_runs() if info.ok])  # this session's first
    by_id = {info.run_id: info for info in readable}
    pending = state.take_pending_run()
    if pending is not None:
        st.session_state[state.ACTIVE_RUN] = pending if pending in by_id else None
    options.apply(options.Choice(state.ACTIVE_RUN, "run", default_run(readable), choices=list(by_id)))
    active = None
    labels = run_labels(readable)
    with st.sidebar:
        run_id = st.selectbox("Active run", list(by_id), key=state.ACTIVE_RUN, placeholder="no run yet: train one",
                              format_func=labels.get,
                              help="The run every page shows. A new visitor sees the pinned run, else the most "
                                   "accurate run on the built-in data.")
        announce.check(by_id, labels, run_id)
        if run_id:
            active = _load_active(run_id)
            _describe(by_id[run_id])
        st.caption(access.role_line())
        work.panel()
        if active is not None:
            services.prewarm_umap(run_id)
            _downloads(run_id, active.trained.item_noun)
    state.set_active(active)


def _load_active(run_id: str) -> state.ActiveRun | None:
    try:
        return state.ActiveRun(run_id, cached.load_run(run_id))
    except CollabError as exc:
        # the run list now shows it as unreadable (cached.list_runs); the next run picks another
        state.notice(f"Run {md(run_id)} cannot be used: {said(exc)}", "error")
        st.session_state[state.ACTIVE_RUN] = None
        st.rerun()


def _describe(info: RunInfo) -> None:
    if info.name:
        st.markdown(f"**{md(info.name)}**")
    if info.model == IMPORTED.name:
        st.caption(f"Imported from: {md(info.dataset)}  \n{md(run_description(info))}")
    else:
        st.caption(f"Trained on: {md(info.dataset or 'unknown data')}  \n{md(run_description(info))}")


def _downloads(run_id: str, noun: Noun) -> None:
    with st.expander("Download embeddings"):
        st.download_button(f"{md(noun.One)} embeddings (CSV)", lambda: cached.embeddings_csv(run_id),
                           file_name=f"{run_id}-item-embeddings.csv", mime="text/csv", key="dl_csv", on_click="ignore")
        st.download_button("vectors.tsv (Embedding Projector)", lambda: cached.projector_files(run_id)[0],
                           file_name="vectors.tsv", mime="text/tab-separated-values", key="dl_vectors",
                           on_click="ignore")
        st.download_button("metadata.tsv (Embedding Projector)", lambda: cached.projector_files(run_id)[1],
                           file_name="metadata.tsv", mime="text/tab-separated-values", key="dl_meta",
                           on_click="ignore")
        st.caption("Load both TSV files at projector.tensorflow.org (Load → choose files).")
