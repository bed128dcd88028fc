"""The Data page's "Get a MovieLens dataset" panel: pick a GroupLens release, read its size and usage terms,
accept them, download it in the background with a progress bar (bytes, rate, time left) and Cancel, then
use it. The download itself is collab_core.data.fetch, run by the server-wide collab_server.fetches service, so
two sessions asking for the same set share one download."""
from __future__ import annotations

import streamlit as st

from collab_core.data import fetch

from . import access, services, work
from .messages import show_error
from .text import md


def panel(use_folder) -> None:
    """Draw the panel; `use_folder(path)` is called (as a button callback) to make a fetched folder the source.
    Only for the host (the page says why to a visitor): a download fills the server's disk."""
    if access.refusal(access.FETCH) is not None:
        return
    with st.expander("Get a MovieLens dataset", icon=":material/download:"):
        statuses = {s.name: s for s in fetch.list_datasets()}
        name = st.selectbox("Dataset", list(fetch.RELEASES), key="p_data_fetch_name", format_func=lambda n: (
            f"{n}: {fetch.RELEASES[n].ratings:,} ratings, about {fetch.RELEASES[n].approx_mb} MB to download"
            + (" (fetched)" if statuses[n].fetched else "")))
        status = statuses[name]
        if status.fetched:
            st.success(f"{md(name)} is in the data folder.", icon=":material/check:")
            st.button(f"Use {name}", key="fetch_use", type="primary", on_click=use_folder, args=(status.folder,))
            return
        st.caption("GroupLens' usage terms (the data is downloaded from GroupLens by you; this project does not "
                   "redistribute it):")
        st.code(fetch.terms_text(name), language=None, wrap_lines=True)
        if status.partial_bytes:
            st.caption(f"{status.partial_bytes / 1e6:,.1f} MB of an earlier download are kept and will be resumed.")
        accepted = st.checkbox("I accept these terms", key=f"fetch_accept_{name}")
        job = services.fetch_service().get(name)
        if job is not None and job.active:
            _progress(name)
            return
        if st.button("Download", key="fetch_start", disabled=not accepted, icon=":material/download:"):
            access.require(access.FETCH, what=name)
            already = services.fetch_service().get(name)
            started = services.fetch_service().start(name)
            if already is None or not already.active:  # this browser's own download: found again after a reload
                work.file(work.DOWNLOAD, name, started)
            st.rerun()
        if job is not None and job.status == "failed":  # right under the button that started it
            show_error(job.failure or RuntimeError(job.error), what=f"Downloading {name}")
        elif job is not None and job.status == "cancelled":
            st.info("Download cancelled; the part already downloaded is kept and resumed next time.")


@st.fragment(run_every=1.0)
def _progress(name: str) -> None:
    job = services.fetch_service().get(name)
    if job is None or not job.active:
        st.rerun(scope="app")  # finished: redraw the page, which now lists the dataset (or the failure)
    progress = job.progress
    fraction = progress.fraction if progress is not None and progress.fraction is not None else 0.0
    st.progress(fraction, text=md(progress.describe()) if progress is not None else f"Starting {md(name)} ...")
    st.button("Cancel", key="fetch_cancel", icon=":material/stop:", on_click=services.fetch_service().cancel,
              args=(job,))
