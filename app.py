"""CF Embedding Explorer: the entry file is the picture frame.

It sets the page config, defines the navigation over pages/ (collab_app.navigation), draws the shared sidebar
(active run, downloads) and runs the page, which gets the active run from collab_app.state. Pages stay thin.
"""
import streamlit as st

from collab_app import access, browser, navigation, sidebar, state, style, work
from collab_app.messages import said
from collab_core import settings
from collab_core.errors import CollabError
from collab_server import timing, workers

st.set_page_config(page_title="CF Embedding Explorer", page_icon=":material/scatter_plot:", layout="wide")
try:
    settings.check_all()
except settings.SettingError as exc:
    st.error(f"The server is misconfigured: {said(exc)}")
    st.stop()
state.keep_widget_state()
state.session_id()
page = st.navigation(navigation.pages())
page_name = page.url_path or navigation.DEFAULT_PAGE
if browser.ready():  # the history rule is in place: the address may change without a new entry
    access.claim_host(page_name)  # a host link's key: read, out of the address, a pass for the browser
browser.connect()  # who this browser is, its host pass, and its history rule (collab_app.browser)
style.apply()
if not browser.ready():
    st.stop()  # a fresh page: the component reruns the app at once, before anything is drawn or written
# timed for the benchmarks; training workers pause between batches while it runs (collab_server.workers)
with timing.script_run(page_name), workers.rendering():
    work.announce()  # how this browser's background work ended: a finished training becomes the active run
    sidebar.sidebar()
    state.show_notices(access.welcome(page_name))
    state.mark_frame()
    state.keep_run_in_url()
    try:
        page.run()
    except CollabError as exc:  # a problem with the data or a setting, met while drawing: a message, not a traceback
        st.error(said(exc), icon=":material/error:")
