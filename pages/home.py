"""Home, the landing page at "/": what the tool is, in three lines, and the next step: train the default run
when there is none, else explore the active run."""
import streamlit as st

from collab_app import cached, navigation, progress, state
from collab_app.run_labels import run_label
from collab_app.text import md

navigation.ensure_frame()
st.title("CF Embedding Explorer")
st.markdown("Train a collaborative-filtering model (the fast.ai lesson's dot product with biases, or an MLP) on "
            "movie ratings, then look inside it.  \n"
            "See which movies it rates above their average, maps and neighbours of the movie embeddings, what it "
            "recommends to you, how two runs differ, and why it predicts what it predicts.  \n"
            "Every view is in its link: share it and a study group sees the same run and movie.")

active = state.active_run()
job = progress.current_training()
progress.show_training()  # this browser's training, live while it runs
if active is None:
    st.subheader("Start here")
    if job is None or not job.active:
        st.caption("No trained run yet. The default run (EmbeddingDotBias on the built-in MovieLens 100K) trains in a "
                   "few seconds on a CPU; the Train page has every setting, and the fast.ai lesson's preset.")
        progress.default_run_button("Train the default run", "default_run", type="primary",
                                    icon=":material/model_training:")
    st.page_link(navigation.page_path("train"), label="Train with your own settings", icon=":material/tune:")
    st.stop()

info = next((i for i in cached.list_runs() if i.run_id == active.run_id), None)
st.subheader("Explore the active run")
st.caption(md(run_label(info)) if info is not None else md(active.run_id))
links = [("biases", "Biases: the movies it rates above their average", ":material/leaderboard:"),
         ("projections", "Projections: maps of the movie embeddings", ":material/scatter_plot:"),
         ("neighbours", "Neighbours: the movies nearest to one", ":material/hub:"),
         ("you", "You: rate a few movies and get recommendations", ":material/person:"),
         ("compare", "Compare: this run against another", ":material/compare_arrows:"),
         ("diagnostics", "Diagnostics: why it predicts what it predicts", ":material/troubleshoot:"),
         ("train", "Train another run (the lesson's preset is there)", ":material/model_training:")]
left, right = st.columns(2)
for i, (url, text, icon) in enumerate(links):
    (left if i % 2 == 0 else right).page_link(navigation.page_path(url), label=text, icon=icon)
