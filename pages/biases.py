"""Biases: the learned item bias as an "unbiased movie score", next to the mean rating it corrects."""
import streamlit as st

from collab_app import cached, charts, options, progress, state
from collab_core import interpret

active = progress.page_run()
trained = active.trained
st.title("Biases")
if not trained.has_bias and trained.imported:
    st.warning("This imported run has no item biases: import its vectors with a metadata file that has a 'bias' "
               "column to rank items by bias.")
    st.stop()
if not trained.has_bias:
    st.warning(f"This run is a {trained.config.model!r} model, which has no biases. Train a 'dot_bias' model to "
               f"rank items by learned bias.")
    st.stop()

n_items = trained.n_items
MODE = options.Choice("p_bias_mode", "among", "most rated", choices=("most rated", "min ratings"))
TOP = options.Number("p_bias_top", "top", min(1000, n_items), low=min(10, n_items - 1), high=n_items)
MIN = options.Number("p_bias_min", "min", 50, low=0, high=100_000)
ROWS = options.Number("p_bias_n", "n", 15, low=1, high=100)
options.apply(MODE, TOP, MIN, ROWS)

left, middle, right = st.columns([1.2, 2, 1])
mode = options.segmented(left, "Rank among", MODE) if trained.has_counts else None
if mode is None:  # an imported run without a count column: "most rated" has no meaning
    middle.caption("This imported run has no rating counts (no count column), so items are ranked among all "
                   f"{n_items:,}.")
    top_n, min_ratings = None, None
elif mode == "most rated":
    top_n = options.slider(middle, "Top-N most rated items", TOP,
                           help="The lesson ranks the 1,000 most-rated movies: rarely-rated items have noisy biases.")
    min_ratings = None
else:
    min_ratings = options.number_input(middle, "Minimum ratings per item", MIN)
    top_n = None
n_rows = options.number_input(right, "Rows", ROWS)
state.to_url(among=mode, top=top_n, min=min_ratings, n=n_rows)

top, bottom = cached.bias_ranking(active.run_id, int(n_rows), top_n, min_ratings)
columns = {"rank": st.column_config.NumberColumn("#", width=40),
           "title": st.column_config.TextColumn("title", width=380),
           "bias": st.column_config.NumberColumn("bias", format="%.3f"),
           "mean_rating": st.column_config.NumberColumn("mean rating", format="%.2f"),
           "count": st.column_config.NumberColumn("ratings")}
order = ["rank", "title", "bias", "mean_rating", "count", "genres"]  # genres last: long, least compared
st.caption("A high bias means people rate the film higher than its factors predict: liked even by those who "
           "do not usually like that kind of film. Compare with the plain mean rating.")
# one above the other: side by side, two tables of six columns cut the titles in a 1,400 px window
st.subheader("Highest bias")
st.dataframe(top[order], hide_index=True, column_config=columns, key="bias_top_table")
st.subheader("Lowest bias")
st.dataframe(bottom[order], hide_index=True, column_config=columns, key="bias_bottom_table")

table = cached.item_table(active.run_id)
eligible = table.loc[trained.catalog.top_items(top_n)] if min_ratings is None else table[table["count"] >= min_ratings]
if eligible["mean_rating"].notna().any():
    drawn = table.loc[interpret.most_rated(eligible.index, trained.catalog.counts)]
    if len(drawn) < len(eligible):
        st.caption(f"The scatter draws the {len(drawn):,} most rated of the {len(eligible):,} ranked items.")
    st.plotly_chart(charts.bias_vs_mean(drawn), key="bias_scatter")
else:
    st.caption("This imported run has no mean ratings (no mean_rating column), so bias is not plotted against them.")
if trained.user_biases() is not None:
    st.plotly_chart(charts.user_bias_histogram(cached.user_biases(active.run_id)["bias"].to_numpy()),
                    key="user_bias_hist")
elif trained.imported:
    st.caption("This imported run has no user biases.")
