"""CF Embedding Explorer: the entry file is the picture frame.

It sets the page config, defines the navigation over pages/, draws the shared sidebar (active run,
dataset, downloads) and hands the page the active run through `st.session_state`. Pages stay thin.
"""
import streamlit as st

from collab_app import state, timing, ui, workers
from collab_core import settings

st.set_page_config(page_title="CF Embedding Explorer", page_icon=":material/scatter_plot:", layout="wide")
try:
    settings.check_all()
except settings.SettingError as exc:
    st.error(f"The server is misconfigured: {exc}")
    st.stop()
state.keep_widget_state()
state.session_id()

pages = [
    st.Page("pages/data.py", title="Data", icon=":material/table_view:", url_path="data"),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:", url_path="train"),
    st.Page("pages/biases.py", title="Biases", icon=":material/leaderboard:", url_path="biases", default=True),
    st.Page("pages/projections.py", title="Projections", icon=":material/scatter_plot:", url_path="projections"),
    st.Page("pages/neighbours.py", title="Neighbours", icon=":material/hub:", url_path="neighbours"),
]
page = st.navigation(pages)
# timed for the benchmarks; training workers pause between batches while it runs (collab_app.workers)
with timing.script_run(page.url_path or "biases"), workers.rendering():
    st.session_state["_trained"] = ui.sidebar()
    state.show_notices()
    page.run()
