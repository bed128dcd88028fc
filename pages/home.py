"""Home, the landing page at "/": what the tool is, in three lines, and the next step: train the default run
when there is none, else explore the active run."""
import streamlit as st

from collab_app import cached, navigation, progress, state
from collab_app.run_labels import run_description, run_label
from collab_app.text import md

navigation.ensure_frame()
st.title("CF Embedding Explorer")
st.markdown("Train a collaborative-filtering model (the fast.ai lesson's dot product with biases, or an MLP) on "
            "ratings, MovieLens built in or your own, then look inside it.  \n"
            "See what it rates above average, maps and neighbours of what it learned, what it recommends to you, how "
            "two runs differ, and why it predicts what it predicts.  \n"
            "Every view is in its link: share it and a study group sees the same run and the same choice.")

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
noun = active.trained.item_noun
st.subheader("Explore the active run")
st.caption(md(f"{run_label(info)} ({run_description(info)})") if info is not None else md(active.run_id))
links = [("biases", f"Biases: the {noun.many} it rates above their average", ":material/leaderboard:"),
         ("projections", f"Projections: maps of the {noun.one} embeddings", ":material/scatter_plot:"),
         ("neighbours", f"Neighbours: the {noun.many} nearest to one", ":material/hub:"),
         ("you", f"You: rate a few {noun.many} and get recommendations", ":material/person:"),
         ("compare", "Compare: this run against another", ":material/compare_arrows:"),
         ("diagnostics", "Diagnostics: why it predicts what it predicts", ":material/troubleshoot:"),
         ("train", "Train another run (the lesson's preset is there)", ":material/model_training:")]
for url, text, icon in links:  # one column: each link reads whole at projector size
    st.page_link(navigation.page_path(url), label=md(text), icon=icon)
