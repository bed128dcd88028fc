"""Neighbours: exact k-nearest movies in embedding space (KD-tree), shown as a table and on a 2D map.
Clicking a point on the map makes it the new query."""
import time

import numpy as np
import streamlit as st

from collab_app import cached, charts, options, picker, progress, state
from collab_core import interpret

active = progress.page_run()
catalog = active.trained.catalog
ids = catalog.vocab.ids
st.title("Neighbours")

star_wars = catalog.vocab.knows("50") and "Star Wars" in catalog.titles[catalog.vocab.to_index("50")]
MOVIE = options.Choice("p_nb_movie", "movie", "50" if star_wars else str(ids[catalog.top_items(1)[0]]),
                       allowed=catalog.vocab.knows)
K = options.Number("p_nb_k", "k", min(10, active.trained.n_items - 1), low=1, high=min(100, active.trained.n_items - 1))
METRIC = options.Choice("p_nb_metric", "metric", "cosine", choices=("cosine", "euclidean"))
# an imported run without a count column has no rating counts to filter by: all of its items are candidates
MIN = options.Number("p_nb_min", "min", 20 if active.trained.has_counts else 0, low=0,
                     high=100_000 if active.trained.has_counts else 0)
options.apply(MOVIE, K, METRIC, MIN)


def select_clicked_point():
    """on_select callback: runs before the rerun, so it may set the picker's state."""
    index = charts.clicked_item(st.session_state["nb_map"].selection.points)
    if index is not None and 0 <= index < len(ids):
        st.session_state[MOVIE.key] = str(ids[index])


left, k_col, metric_col, min_col = st.columns([4, 0.8, 1.3, 1.1], vertical_alignment="bottom")
movie = picker.movie_picker(left, "Movie", MOVIE.key, catalog, active.trained.item_noun,
                            help="The best matches of the search, most rated first (the 100 most rated when the "
                                 "search is empty).")
k = options.number_input(k_col, "k", K)
metric = options.segmented(metric_col, "Metric", METRIC)
min_ratings = options.number_input(min_col, "Min ratings", MIN, disabled=not active.trained.has_counts,
                                   help="Answer among items with at least this many ratings. Weight decay pulls "
                                        "rarely-rated items towards the origin, where they crowd every neighbourhood."
                                        if active.trained.has_counts else
                                        "This imported run has no rating counts: every item is a candidate.")
state.to_url(movie=movie, k=k, metric=metric, min=min_ratings)

query = int(catalog.vocab.to_index(movie))
index = cached.neighbour_index(active.run_id, metric, int(min_ratings))
if len(index) < 2:
    st.warning(f"Only {len(index)} item(s) have at least {min_ratings} ratings; lower the minimum.")
    st.stop()
start = time.perf_counter()
found, distances = index.query_index(query, int(k))
query_ms = (time.perf_counter() - start) * 1000
dims = active.trained.item_factors().shape[1]
st.caption(f"Exact KD-tree search ({metric}) among {len(index):,} items in {dims} dimensions: {query_ms:.2f} ms. "
           f"Above ~20 dimensions a KD-tree is no faster than brute force (`make bench` and `make bench-scale` "
           f"measure both: about 0.15 ms each for MovieLens 100K's 1,682 items, 13-23 ms for 25M's 59,047), but it "
           f"is exact either way.")

table = cached.item_table(active.run_id)
result = table.loc[found, ["title", "genres", "bias", "count"]].assign(
    distance=distances, rank=np.arange(1, len(found) + 1))
st.dataframe(result[["rank", "title", "distance", "genres", "bias", "count"]], hide_index=True, key="nb_table",
             column_config={"distance": st.column_config.NumberColumn(format="%.4f"),
                            "bias": st.column_config.NumberColumn(format="%.3f"),
                            "rank": st.column_config.NumberColumn("#", width="small"),
                            "title": st.column_config.TextColumn(width="large")})

coords = cached.pca_map_all_items(active.run_id, int(min_ratings))
shown = interpret.most_rated(index.candidates, catalog.counts, always=[query, *found])
points = table.loc[shown, ["title", "genres", "bias", "count"]].assign(
    x=coords[shown, 0], y=coords[shown, 1], index=shown)
st.subheader("On the map (first two principal components)")
st.caption("Click any point to make it the query. Red: the query; orange: its neighbours."
           + (f" The map draws the {interpret.MAP_POINTS:,} most rated of the {len(index):,} candidates (and the "
              f"query and its neighbours); the search above finds any of them." if len(index) > len(shown) else ""))
st.plotly_chart(
    charts.projection(points, 2, None, highlight=points.loc[[query]], neighbours=points.loc[found],
                      axis_names=("PC1", "PC2"), height=560),
    key="nb_map", on_select=select_clicked_point, selection_mode="points")
