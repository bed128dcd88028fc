"""Neighbours: the exact k nearest items in embedding space (KD-tree), shown as a table and on a 2D map.
Clicking a point on the map makes it the new query; a box or lasso selects a region (collab_app.selection_panel)."""
import time

import numpy as np
import streamlit as st

from collab_app import cached, charts, options, picker, progress, selection_panel, state
from collab_app.text import MISSING, md

active = progress.page_run()
catalog = active.trained.catalog
ids = catalog.vocab.ids
noun = active.trained.item_noun
st.title("Neighbours")

star_wars = catalog.vocab.knows("50") and "Star Wars" in catalog.titles[catalog.vocab.to_index("50")]
MOVIE = options.Choice("p_nb_movie", "movie", "50" if star_wars else str(ids[catalog.top_items(1)[0]]),
                       allowed=catalog.vocab.knows)
K = options.Number("p_nb_k", "k", min(10, active.trained.n_items - 1), low=1, high=min(100, active.trained.n_items - 1))
METRIC = options.Choice("p_nb_metric", "metric", "cosine", choices=("cosine", "euclidean"))
# an imported run without a count column has no rating counts to filter by: all of its items are candidates
MIN = options.Number("p_nb_min", "min", 20 if active.trained.has_counts else 0, low=0,
                     high=100_000 if active.trained.has_counts else 0)
SELVIEW = selection_panel.view_option("nb")
options.apply(MOVIE, K, METRIC, MIN, SELVIEW)
selection_panel.start("nb", catalog, active.run_id)
view = st.session_state[SELVIEW.key]


movie = picker.movie_picker(st, md(noun.One), MOVIE.key, catalog, noun,
                            help=f"The best matches of the search, most rated first (the 100 most rated "
                                 f"{md(noun.many)} when the search is empty).")
k_col, metric_col, min_col = st.columns([0.8, 1.5, 1.2], vertical_alignment="bottom")
k = options.number_input(k_col, "k", K, help=f"How many neighbours: the k nearest {md(noun.many)}.")
metric = options.segmented(metric_col, "Distance", METRIC, help="cosine: the angle between two vectors (their "
                           "length ignored); euclidean: the straight-line distance.")
min_ratings = options.number_input(min_col, "Ratings, at least", MIN, disabled=not active.trained.has_counts,
                                   help=f"Only {md(noun.many)} rated at least this often are candidates. Weight "
                                        f"decay pulls rarely rated {md(noun.many)} towards the centre, where they "
                                        f"crowd every neighbourhood."
                                        if active.trained.has_counts else
                                        f"This imported run has no rating counts: every {md(noun.one)} is a "
                                        f"candidate.")
state.to_url(movie=movie, k=k, metric=metric, min=min_ratings, sel=selection_panel.url_value("nb"),
             selview=None if view == SELVIEW.default else view)

query = int(catalog.vocab.to_index(movie))
index = cached.neighbour_index(active.run_id, metric, int(min_ratings))
if len(index) < 2:
    st.warning(f"Only {md(noun.count(len(index)))} rated at least {min_ratings} times: lower the minimum.")
    st.stop()
start = time.perf_counter()
found, distances = index.query_index(query, int(k))
query_ms = (time.perf_counter() - start) * 1000
dims = active.trained.item_factors().shape[1]
st.caption(f"The {k} {md(noun.of(k))} whose vectors lie nearest ({metric} distance), found among "
           f"{md(noun.count(len(index)))} in {query_ms:.1f} ms: what the model sees as most alike.",
           help=f"An exact search with a KD-tree over {dims} dimensions. Above about 20 dimensions a KD-tree is "
                f"no faster than comparing with every candidate, but it is exact either way; the project's "
                f"benchmarks measure both (docs/performance.md).")

table = cached.item_table(active.run_id)
result = table.loc[found, ["title", "genres", "bias", "count"]].assign(
    distance=distances, rank=np.arange(1, len(found) + 1))
# the key columns (rank, title, distance, bias, count) fit a 1024 px window with the sidebar open; genres may scroll
shown_columns = ["rank", "title", "distance", *(["bias"] if active.trained.has_bias else []),
                 *(["count"] if active.trained.has_counts else []), "genres"]  # what the run has: no empty column
st.dataframe(result[shown_columns], hide_index=True, placeholder=MISSING, key="nb_table",
             column_config={"rank": st.column_config.NumberColumn("#", width=36),
                            "title": st.column_config.TextColumn(noun.one, width=300),
                            "distance": st.column_config.NumberColumn(format="%.4f", width=80),
                            "bias": st.column_config.NumberColumn(format="%.3f", width=64),
                            "count": st.column_config.NumberColumn("ratings", width=70)})

coords = cached.pca_map_all_items(active.run_id, int(min_ratings))
shown = np.union1d(index.candidates, [query, *found])  # every candidate: the chart draws the most rated as points
points = table.loc[shown, ["title", "genres", "bias", "count"]].assign(
    x=coords[shown, 0], y=coords[shown, 1], index=shown)
selected = selection_panel.shown_selection("nb", catalog, index.candidates)
figure = charts.projection(points, 2, None, highlight=points.loc[[query]], neighbours=points.loc[found],
                           axis_names=("PC1", "PC2"), height=560, selected=selected, selection_view=view,
                           dragmode=selection_panel.tool("nb"), what=noun.many)
note = charts.coverage_note(figure, md(noun.many), active.trained.has_counts)
st.subheader("On the map")
st.caption(f"The {md(noun.many)} on the two directions along which their vectors differ most (the first two "
           f"principal components). Red: the query; orange: its neighbours. **Click any point** to make it the query; "
           f"pick the box or lasso in the chart's toolbar to select a region." + (f" {note}" if note else ""))


def select_region_or_query():
    """on_select callback: runs before the rerun, so it may set the selection and the picker's state. A box or lasso
    selects every candidate inside it, drawn as a point or not; a click makes the item the query."""
    event = st.session_state["nb_map"].selection
    candidates = np.asarray(index.candidates)
    if selection_panel.take_event("nb", event, candidates, coords[candidates, 0], coords[candidates, 1], catalog,
                                  view):
        return
    clicked = charts.clicked_item(event.points)
    if clicked is not None and 0 <= clicked < len(ids):
        st.session_state[MOVIE.key] = str(ids[clicked])


st.plotly_chart(figure, key="nb_map", on_select=select_region_or_query, selection_mode=("points", "box", "lasso"))
selection_panel.panel("nb", table.loc[np.asarray(index.candidates)], selected, noun, active.run_id)
