"""Projections: the item embeddings in 2D or 3D, by PCA (with the lesson's component tables) or UMAP."""
import numpy as np
import pandas as pd
import streamlit as st

from collab_app import cached, charts, services, state, ui

trained = ui.current_run()
run_id = st.session_state[state.ACTIVE_RUN]
catalog = trained.catalog
n_items = trained.n_items
st.title("Projections")

COLOURS = {"genre": "first genre", "year": "release year", "bias": "learned bias", "mean_rating": "mean rating",
           "log_count": "log ratings count", "none": "none"}
state.from_url("p_pj_method", "method", str, "PCA", valid=lambda v: v in ("PCA", "UMAP"))
state.from_url("p_pj_dims", "dims", int, 2, valid=lambda v: v in (2, 3))
state.from_url("p_pj_top", "items", int, min(1000, n_items), valid=lambda v: 0 <= v <= n_items)
state.from_url("p_pj_colour", "color", str, "genre", valid=lambda v: v in COLOURS)
state.from_url("p_pj_labels", "labels", int, 30, valid=lambda v: 0 <= v <= 200)
state.from_url("p_pj_highlight", "highlight", str, None, valid=catalog.vocab.knows)
state.from_url("p_pj_axes", "axes", str, "1-2", valid=lambda v: v in ("1-2", "1-3", "2-3"))

c1, c2, c3, c4 = st.columns([1, 0.8, 1.6, 1.4])
method = c1.segmented_control("Method", ["PCA", "UMAP"], key="p_pj_method", required=True)
dims = c2.segmented_control("Dimensions", [2, 3], key="p_pj_dims", required=True, format_func=lambda d: f"{d}D")
top_n = c3.slider("Items: top-N most rated (0 = all)", 0, n_items, key="p_pj_top", step=50 if n_items > 500 else 1,
                  help="Structure only shows where the data is dense: the lesson plots the 1,000 most-rated.")
colour = c4.selectbox("Colour by", list(COLOURS), key="p_pj_colour", format_func=COLOURS.get)
c5, c6, c7 = st.columns([1, 2.4, 1])
n_labels = c5.number_input("Label the K most rated", 0, 200, key="p_pj_labels")
title_of = dict(zip(catalog.vocab.ids, catalog.titles))
highlight = c6.selectbox("Highlight a movie (type to search)", [str(ids) for ids in catalog.vocab.ids[catalog.top_items(None)]],
                         key="p_pj_highlight", index=None, format_func=title_of.get, placeholder="type part of a title")
axes = "1-2"
if method == "PCA" and dims == 2:
    axes = c7.selectbox("Components", ["1-2", "1-3", "2-3"], key="p_pj_axes", format_func=lambda a: "PC" + a.replace("-", " × PC"))
top = int(top_n) or None

if method == "UMAP":
    u1, u2, u3 = st.columns(3)
    state.from_url("p_pj_nn", "nn", int, services.UMAP_DEFAULTS["n_neighbors"], valid=lambda v: 2 <= v <= 200)
    state.from_url("p_pj_md", "md", float, services.UMAP_DEFAULTS["min_dist"], valid=lambda v: 0 <= v <= 1)
    state.from_url("p_pj_um", "um", str, services.UMAP_DEFAULTS["metric"], valid=lambda v: v in ("euclidean", "cosine"))
    n_neighbors = u1.slider("n_neighbors", 2, 200, key="p_pj_nn", help="Larger: more global structure.")
    min_dist = u2.slider("min_dist", 0.0, 1.0, key="p_pj_md", step=0.05, help="Smaller: tighter clusters.")
    umap_metric = u3.segmented_control("UMAP metric", ["euclidean", "cosine"], key="p_pj_um", required=True)
    state.to_url(method=method, dims=dims, items=top_n, color=colour, labels=n_labels, highlight=highlight,
                 nn=n_neighbors, md=min_dist, um=umap_metric)
else:
    state.to_url(method=method, dims=dims, items=top_n, color=colour, labels=n_labels, highlight=highlight,
                 axes=axes if dims == 2 else None)


@st.fragment(run_every=1.0)
def wait_for_umap(job):
    """Poll the background UMAP; rerun the page once it is ready."""
    if job.status != "running":
        st.rerun(scope="app")
    st.info("Computing UMAP in the background ... (the first UMAP in a server process also compiles numba, "
            "about 20 s; later ones take a few seconds and are cached per run and parameters)",
            icon=":material/hourglass_top:")


if method == "UMAP":
    indices, job = services.umap_layout(run_id, top, int(dims), int(n_neighbors), float(min_dist), umap_metric)
    if job.status == "running":
        wait_for_umap(job)
        st.stop()
    if job.status == "failed":
        st.error(f"UMAP failed: {job.error}")
        st.stop()
    coords, axis_names = job.result, ("UMAP 1", "UMAP 2", "UMAP 3")
    st.caption(f"UMAP of {len(indices):,} items (n_neighbors {n_neighbors}, min_dist {min_dist}, {umap_metric}, "
               f"seed 42), computed in {job.seconds:.1f} s.")
else:
    indices, pca_coords, ratios, extremes = cached.pca_projection(run_id, top, 3)
    if dims == 3:
        chosen = [0, 1, 2]
    else:
        chosen = [int(c) - 1 for c in axes.split("-")]
    chosen = [c for c in chosen if c < pca_coords.shape[1]]
    coords, axis_names = pca_coords[:, chosen], tuple(f"PC{c + 1} ({ratios[c]:.0%})" for c in chosen)

table = cached.item_table(run_id).loc[indices]
points = table[["item", "title", "genres", "bias", "count", "mean_rating", "year"]].assign(
    x=coords[:, 0], y=coords[:, 1], index=indices)
if coords.shape[1] > 2:
    points["z"] = coords[:, 2]
points["genre"] = points["genres"].str.split(", ").str[0].replace("", "(none)")
points["log_count"] = np.log10(points["count"].clip(lower=1))
colour_column = None if colour == "none" else colour
label_rows = points.sort_values("count", ascending=False).head(int(n_labels))
highlight_rows = points[points["item"] == highlight] if highlight else None
if highlight and (highlight_rows is None or highlight_rows.empty):
    st.caption(f"{title_of[highlight]} is not among the items shown; raise the number of items to see it.")
st.plotly_chart(charts.projection(points, int(dims) if coords.shape[1] >= int(dims) else 2, colour_column,
                                  labels=label_rows, highlight=highlight_rows, axis_names=axis_names), key="pj_plot")

if method == "PCA":
    st.plotly_chart(charts.explained_variance(ratios), key="pj_variance")
    st.subheader("What each component means")
    st.caption("The titles at the top and bottom of a component name it (the lesson's fac0 / fac1 / fac2 tables).")
    for column, component in zip(st.columns(len(extremes)), extremes):
        column.markdown(f"**PC{component['component'] + 1}** ({component['explained_variance_ratio']:.1%} of variance)")
        column.dataframe(pd.DataFrame(component["top"], columns=["top titles", "score"]), hide_index=True,
                         key=f"pj_top_{component['component']}")
        column.dataframe(pd.DataFrame(component["bottom"], columns=["bottom titles", "score"]), hide_index=True,
                         key=f"pj_bottom_{component['component']}")
    with st.expander("Transposed view: PCA fitted on factors.T (how much each movie weighs in each component)"):
        loading_indices, loadings = cached.transposed_loadings(run_id, top, 3)
        weights = cached.item_table(run_id).loc[loading_indices, ["title", "count"]]
        for c in range(loadings.shape[1]):
            weights[f"component {c + 1}"] = loadings[:, c]
        st.caption("`PCA().fit(item_factors.T).components_` has one weight per movie and component: the movies "
                   "with the largest weights define the component.")
        pick = st.selectbox("Sort by", [f"component {c + 1}" for c in range(loadings.shape[1])], key="p_pj_tcomp")
        st.dataframe(weights.sort_values(pick, ascending=False, key=abs).head(20), hide_index=True, key="pj_transposed")
