"""Biases: the learned item bias as an "unbiased score" of each item (the lesson's "unbiased movie score"), next to
the mean rating it corrects."""
import streamlit as st

from collab_app import cached, charts, options, progress, state
from collab_app.text import MISSING, md

active = progress.page_run()
trained = active.trained
noun = trained.item_noun
st.title("Biases")
if not trained.has_bias and trained.imported:
    st.warning(f"This imported run has no biases for its {md(noun.many)}. Import its vectors again with a metadata "
               f"file that has a 'bias' column to rank them here.")
    state.to_url()  # no options here: the address keeps the run alone
    st.stop()
if not trained.has_bias:
    st.warning(f"This run is a {md(trained.config.model)} model, which learns no biases. Train an EmbeddingDotBias "
               f"model to rank {md(noun.many)} by what it learned about each.")
    state.to_url()
    st.stop()

n_items = trained.n_items
MODE = options.Choice("p_bias_mode", "among", "most rated", choices=("most rated", "min ratings"))
TOP = options.Number("p_bias_top", "top", min(1000, n_items), low=min(10, n_items - 1), high=n_items)
MIN = options.Number("p_bias_min", "min", 50, low=0, high=100_000)
ROWS = options.Number("p_bias_n", "n", 15, low=1, high=100)
options.apply(MODE, TOP, MIN, ROWS)

left, middle, right = st.columns([1.5, 1.7, 0.8])
mode = options.segmented(left, "Rank among", MODE) if trained.has_counts else None
if mode is None:  # an imported run without a count column: "most rated" has no meaning
    middle.caption(f"This imported run has no rating counts, so all its {md(noun.count(n_items))} are ranked.")
    top_n, min_ratings = None, None
elif mode == "most rated":
    top_n = options.slider(middle, f"The N most rated {md(noun.many)}", TOP,
                           help=f"Rarely rated {md(noun.many)} have noisy biases: the lesson ranks the 1,000 most "
                                f"rated.")
    min_ratings = None
else:
    min_ratings = options.number_input(middle, f"Ratings per {md(noun.one)}, at least", MIN)
    top_n = None
n_rows = options.number_input(right, "Rows", ROWS)
state.to_url(among=mode, top=top_n, min=min_ratings, n=n_rows)

top, bottom = cached.bias_ranking(active.run_id, int(n_rows), top_n, min_ratings)
# the key columns (rank, title, bias, mean, count) fit a 1024 px window with the sidebar open; genres may scroll
columns = {"rank": st.column_config.NumberColumn("#", width=36),
           "title": st.column_config.TextColumn(noun.one, width=320),
           "bias": st.column_config.NumberColumn("bias", format="%.3f", width=64),
           "mean_rating": st.column_config.NumberColumn("mean rating", format="%.2f", width=92),
           "count": st.column_config.NumberColumn("ratings", width=70)}
order = ["rank", "title", "bias", "mean_rating", "count", "genres"]  # genres last: long, least compared
st.caption(f"A high bias means people rate the {md(noun.one)} higher than its factors alone predict: liked even "
           f"by those who do not usually like that kind of {md(noun.one)}. Compare it with the plain mean rating.")
# one above the other: side by side, two tables of six columns cut the titles in a 1,400 px window
st.subheader("Highest bias")
st.dataframe(top[order], hide_index=True, placeholder=MISSING, column_config=columns, key="bias_top_table")
st.subheader("Lowest bias")
st.dataframe(bottom[order], hide_index=True, placeholder=MISSING, column_config=columns, key="bias_bottom_table")

table = cached.item_table(active.run_id)
eligible = table.loc[trained.catalog.top_items(top_n)] if min_ratings is None else table[table["count"] >= min_ratings]
if eligible["mean_rating"].notna().any():
    figure = charts.bias_vs_mean(eligible, noun.one, many=noun.many)  # every ranked item, the most rated as points
    note = charts.coverage_note(figure, f"{md(noun.many)} ranked", trained.has_counts, chart="chart")
    if note:
        st.caption(note)
    st.plotly_chart(figure, key="bias_scatter")
else:
    st.caption("This imported run has no mean ratings, so its biases are not set against them.")
if trained.user_biases() is not None:
    st.plotly_chart(charts.user_bias_histogram(cached.user_biases(active.run_id)["bias"].to_numpy()),
                    key="user_bias_hist")
elif trained.imported:
    st.caption("This imported run has no user biases.")
