"""Projections: the item embeddings in 2D or 3D, by PCA (with the lesson's component tables) or UMAP, or in 2D along
a custom axis named by its two ends (collab_app.axis_panel). Clicking a point of a 2D map highlights that movie; a
box or lasso selects a region (collab_app.selection_panel), and so does a click on a region label
(collab_app.region_view)."""
import numpy as np
import pandas as pd
import streamlit as st

from collab_app import (
    axis_panel,
    cached,
    charts,
    options,
    picker,
    progress,
    region_view,
    selection_panel,
    services,
    state,
    work,
)
from collab_app.messages import clean
from collab_app.text import MISSING, md

active = progress.page_run()
run_id, catalog, n_items = active.run_id, active.trained.catalog, active.trained.n_items
st.title("Projections")

noun = active.trained.item_noun
COLOURS = {"genre": "first genre", "year": "release year", "bias": "learned bias", "mean_rating": "mean rating",
           "log_count": "number of ratings (log)", "none": "one colour"}
METHOD = options.Choice("p_pj_method", "method", "PCA", choices=("PCA", "UMAP", axis_panel.CUSTOM))
DIMS = options.Choice("p_pj_dims", "dims", 2, choices=(2, 3), parse=int)
TOP = options.Number("p_pj_top", "items", min(1000, n_items), low=min(2, n_items - 1), high=n_items)
COLOUR = options.Choice("p_pj_colour", "color", "genre", choices=tuple(COLOURS))
LABELS = options.Number("p_pj_labels", "labels", 30, low=0, high=200)
HIGHLIGHT = options.Choice("p_pj_highlight", "highlight", None, allowed=catalog.vocab.knows)
AXES = options.Choice("p_pj_axes", "axes", "1-2", choices=("1-2", "1-3", "2-3"))
NN = options.Number("p_pj_nn", "nn", services.UMAP_DEFAULTS["n_neighbors"], low=2, high=200)
MIN_DIST = options.Number("p_pj_md", "md", services.UMAP_DEFAULTS["min_dist"], low=0.0, high=1.0, whole=False)
UMAP_METRIC = options.Choice("p_pj_um", "um", services.UMAP_DEFAULTS["metric"], choices=("euclidean", "cosine"))
SELVIEW = selection_panel.view_option("pj")
options.apply(METHOD, DIMS, TOP, COLOUR, LABELS, HIGHLIGHT, AXES, NN, MIN_DIST, UMAP_METRIC, SELVIEW,
              region_view.REGIONS, *axis_panel.OPTIONS)
selection_panel.start("pj", catalog, run_id)  # the link's selection, or one another part of the page asked for
view = st.session_state[SELVIEW.key]
kept = dict(sel=selection_panel.url_value("pj"), selview=None if view == SELVIEW.default else view)


c1, c2, c3 = st.columns([1.5, 0.8, 1.7])
method = options.segmented(c1, "Method", METHOD)
custom = method == axis_panel.CUSTOM
dims = options.segmented(c2, "Dimensions", DIMS, format_func=lambda d: f"{d}D", disabled=custom,
                         help="A custom axis map is 2D." if custom else None)
dims = 2 if custom else dims
top_n = options.slider(c3, f"The N most rated {md(noun.many)}" if active.trained.has_counts
                       else f"The first N {md(noun.many)} of the file", TOP, step=50 if n_items > 500 else 1,
                       help="Structure only shows where the data is dense: the lesson plots the 1,000 most rated."
                       if active.trained.has_counts else "This imported run has no rating counts.")
c4, c5, c6 = st.columns([1.3, 1, 1.2])
colour = options.selectbox(c4, "Colour by", COLOUR, format_func=COLOURS.get)
n_labels = options.number_input(c5, "Labels", LABELS,
                                help=f"Label the most rated {md(noun.many)}, as many as fit without covering one "
                                     f"another (a 3D chart labels a few; hover shows every title).")
axes = options.selectbox(c6, "Components", AXES, format_func=lambda a: "PC" + a.replace("-", " × PC")) \
    if method == "PCA" and dims == 2 else "1-2"
pick_col, regions_col = st.columns([3.2, 1], vertical_alignment="bottom")
regions_on = region_view.toggle(regions_col) if dims == 2 else False
highlight = picker.movie_picker(pick_col, f"Highlight {md(noun.a)}", HIGHLIGHT.key, catalog, noun, optional=True,
                                placeholder="none")
top = int(top_n)

if method == "UMAP":
    u1, u2, u3 = st.columns(3)
    n_neighbors = options.slider(u1, "n_neighbors", NN, help="Larger: more global structure.")
    min_dist = options.slider(u2, "min_dist", MIN_DIST, step=0.05, help="Smaller: tighter clusters.")
    umap_metric = options.segmented(u3, "UMAP metric", UMAP_METRIC)
    state.to_url(method=method, dims=dims, items=top_n, color=colour, labels=n_labels, highlight=highlight,
                 nn=n_neighbors, md=min_dist, um=umap_metric, regions=region_view.url_value(regions_on), **kept)
elif custom:
    state.to_url(method=method, items=top_n, color=colour, labels=n_labels, highlight=highlight,
                 regions=region_view.url_value(regions_on), **axis_panel.controls(st), **kept)
else:
    state.to_url(method=method, dims=dims, items=top_n, color=colour, labels=n_labels, highlight=highlight,
                 axes=axes if dims == 2 else None, regions=region_view.url_value(regions_on), **kept)


@st.fragment(run_every=1.0)
def wait_for_umap(job, n_points: int):
    """Poll the background UMAP, with how long it has run against how long it should; rerun the page once ready."""
    if job.status != "running":
        st.rerun(scope="app")
    elapsed, expected = job.elapsed(), job.expected_seconds or services.umap_expected_seconds(n_points)
    late = " (longer than expected: the server is busy, or still getting UMAP ready)" if elapsed > expected else ""
    st.progress(job.fraction() or 0.0,
                text=f"Computing the UMAP map of {md(noun.count(n_points))}: {elapsed:.0f} s so far, about "
                     f"{expected:.0f} s expected here{late}.")
    st.caption("The first UMAP map after the server starts takes 15 to 20 s more. Each map is kept and shared, so "
               "it shows at once the next time, for everyone; PCA shows at once meanwhile.")


if method == "UMAP":
    indices, job = services.umap_layout(run_id, top, int(dims), int(n_neighbors), float(min_dist), umap_metric)
    if job.status == "running":  # filed under this browser: after a reload it is listed with its progress
        work.file(work.UMAP, f"{dims}D layout of {noun.count(len(indices))}", job)
        wait_for_umap(job, len(indices))
        st.stop()
    if job.status == "failed":
        st.error(f"UMAP failed: {md(clean(job.error))}")  # the server's words, without its paths
        st.stop()
    coords, axis_names = job.result, ("UMAP 1", "UMAP 2", "UMAP 3")
    st.caption(f"UMAP map of {md(noun.count(len(indices)))}, computed in {job.seconds:.1f} s. Nearby points are "
               f"{md(noun.many)} with similar factors; unlike PCA, distances between far-apart groups mean little.",
               help=f"n_neighbors {n_neighbors}, min_dist {min_dist}, {umap_metric} distance, seed "
                    f"{services.UMAP_SEED} (the same map for everyone who asks for these settings).")
elif custom:
    axis = axis_panel.view(run_id, top, noun)
    if axis is None:  # the error names the term that matched nothing
        st.stop()
    indices, coords, axis_names = axis.indices, axis.coords, axis.axis_names
    st.caption(f"x: each {md(noun.one)}'s place between the two ends' mean vectors; y: "
               + ("the same along a second axis." if st.session_state[axis_panel.Y_MODE.key] == "axis" else
                  f"the first principal component of the {md(noun.many)} drawn."))
else:
    indices, pca_coords, ratios, extremes = cached.pca_projection(run_id, top, 3)
    chosen = [0, 1, 2] if dims == 3 else [int(c) - 1 for c in axes.split("-")]
    chosen = [c for c in chosen if c < pca_coords.shape[1]]
    coords, axis_names = pca_coords[:, chosen], tuple(f"PC{c + 1} ({ratios[c]:.0%})" for c in chosen)

table = cached.item_table(run_id).loc[indices]
points = table[["item", "title", "genres", "bias", "count", "mean_rating", "year"]].assign(
    x=coords[:, 0], y=coords[:, 1], index=indices)
if coords.shape[1] > 2:
    points["z"] = coords[:, 2]
points["genre"] = points["genres"].str.split(", ").str[0].replace("", "(none)")
points["log_count"] = np.log10(points["count"].clip(lower=1))
label_rows = points.sort_values("count", ascending=False).head(int(n_labels))
highlight_rows = points[points["item"] == highlight] if highlight else None
if highlight and (highlight_rows is None or highlight_rows.empty):
    st.caption(f"{md(catalog.display_title(highlight))} is not among the {md(noun.many)} shown; draw more of them "
               f"to see it.")
shown_dims = int(dims) if coords.shape[1] >= int(dims) else 2
selected = selection_panel.shown_selection("pj", catalog, indices)
# region labels name the whole map: not drawn while the map shows only a selection
labelled_regions = regions_on and shown_dims == 2 and not (view == "only" and len(selected))
if regions_on and shown_dims == 2 and not labelled_regions:
    st.caption("Region labels name the whole map, so they are hidden while it shows only the selection.")
regions, clear = region_view.label_rows(run_id, points, noun) if labelled_regions else (None, None)
figure = charts.projection(points, shown_dims, None if colour == "none" else colour, label_rows=label_rows,
                           highlight=highlight_rows, axis_names=axis_names, colour_title=COLOURS.get(colour),
                           marks=axis_panel.marks(points, axis) if custom else None, selected=selected,
                           selection_view=view, dragmode=selection_panel.tool("pj"), keep_clear=clear,
                           what=noun.many)
n_regions = 0 if regions is None else len(regions)
if regions is not None:
    charts.add_region_labels(figure, regions, points)
else:
    region_view.forget()
labelled, asked = charts.labels_shown(figure)
note = charts.coverage_note(figure, md(noun.many), active.trained.has_counts)  # "" when every item is a point
said = ([f"Click a point to highlight that {md(noun.one)}; pick the box or lasso in the chart's toolbar to select a "
         f"region."] if shown_dims == 2 else []) + ([note] if note else [])
if asked:
    said.append(f"Labelled: {labelled} of the {asked} " + ("most rated" if active.trained.has_counts else "first") + (
        "; the rest would cover other labels (hover over any point for its title)." if labelled < asked else "."))
if n_regions:
    said.append(f"Region labels: {n_regions} regions (k-means on the map's coordinates), each named by the genres its "
                f"{md(noun.many)} have far more often than the map's, and its most rated titles; click a label's ◆ to "
                f"select its region.")
if said:
    st.caption(" ".join(said))


def select_region_or_highlight():
    """on_select callback: runs before the rerun, so it may set the selection and the highlight picker's state. A box
    or lasso selects every item of the map inside it; a click on a region label selects the region; a click on a
    point highlights the item."""
    event = st.session_state["pj_plot"].selection
    if region_view.on_click(event.points):  # the request is taken at the top of the rerun (selection_panel.start)
        return
    if selection_panel.take_event("pj", event, indices, coords[:, 0], coords[:, 1], catalog, view):  # every item
        return
    index = charts.clicked_item(event.points)
    if index is not None and 0 <= index < n_items:
        st.session_state[HIGHLIGHT.key] = str(catalog.vocab.ids[index])


if shown_dims == 2:
    st.plotly_chart(figure, key="pj_plot", on_select=select_region_or_highlight,
                    selection_mode=("points", "box", "lasso"))
else:
    st.plotly_chart(figure, key="pj_plot")
selection_panel.panel("pj", table, selected, noun, run_id)

if custom:
    axis_panel.ranked_tables(points, axis, noun)
if method == "PCA":
    st.plotly_chart(charts.explained_variance(ratios), key="pj_variance")
    st.subheader("What each component means")
    st.caption(f"The {md(noun.many)} at either end of a component name it: what those at the top share, and those at "
               f"the bottom lack (the lesson's fac0, fac1, fac2 tables).")
    scores = {"score": st.column_config.NumberColumn(format="%.2f", width=60)}  # titles get the rest: they name it
    for component in extremes:  # one row per component, top and bottom side by side: wide enough for the titles
        st.markdown(f"**PC{component['component'] + 1}** ({component['explained_variance_ratio']:.1%} of variance)")
        top_col, bottom_col = st.columns(2)
        top_col.dataframe(pd.DataFrame(component["top"], columns=["top", "score"]), hide_index=True,
                          placeholder=MISSING, key=f"pj_top_{component['component']}", column_config=scores)
        bottom_col.dataframe(pd.DataFrame(component["bottom"], columns=["bottom", "score"]), hide_index=True,
                             placeholder=MISSING, key=f"pj_bottom_{component['component']}", column_config=scores)
    with st.expander(f"How much each {md(noun.one)} weighs in each component (PCA of the transposed factors)"):
        loading_indices, loadings = cached.transposed_loadings(run_id, top, 3)
        weights = cached.item_table(run_id).loc[loading_indices, ["title", "count"]]
        for c in range(loadings.shape[1]):
            weights[f"component {c + 1}"] = loadings[:, c]
        st.caption(f"Fitted on the factors turned on their side (the lesson's PCA of the transposed matrix), its "
                   f"components give one weight per {md(noun.one)}: the {md(noun.many)} with the largest weights "
                   f"define the component.")
        components = tuple(f"component {c + 1}" for c in range(loadings.shape[1]))
        SORT_BY = options.Choice("p_pj_tcomp", None, components[0], choices=components)
        options.apply(SORT_BY)
        pick = options.selectbox(st, "Sort by", SORT_BY)
        st.dataframe(weights.sort_values(pick, ascending=False, key=abs).head(20), hide_index=True, placeholder=MISSING,
                     key="pj_transposed")
