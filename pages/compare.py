"""Compare: two runs side by side over the items they share (collab_core.analysis.compare): settings, scores, loss
curves, bias rankings, neighbour stability, and B's map aligned onto A's. Clicking an item on the aligned map shows its
neighbours in both runs."""
import pandas as pd
import streamlit as st

from collab_app import access, cached, charts, compare_choice, options, progress, ranking_view, state, work
from collab_app.messages import said
from collab_app.run_labels import run_labels
from collab_app.text import MISSING, md
from collab_core.errors import CollabError

ROWS = 10  # rows of each ranking table
active = progress.page_run()
infos = {info.run_id: info for info in access.visible_runs(cached.list_runs()) if info.ok}
run_ids = list(infos)
st.title("Compare")
st.info("Two runs, even with the same settings and another seed, learn the same structure along arbitrarily turned "
        "axes: factor 3 of run A has nothing to do with factor 3 of run B. So this page never compares raw "
        "coordinates. It compares what does not depend on the axes (neighbours, biases, scores), and draws B only "
        "after turning it to line up with A.", icon=":material/360:")

A = options.Choice("p_cmp_a", "a", active.run_id, choices=run_ids)
K = options.Number("p_cmp_k", "k", 10, low=1, high=50)
MOVED = options.Number("p_cmp_moved", "moved", 10, low=0, high=100)
options.apply(A, K, MOVED)
run_a = st.session_state[A.key]
# a run without rating counts (an import without a count column) has no item with 20 ratings: its minimum is 0
MIN = options.Number("p_cmp_min", "min", 20 if cached.load_run(run_a).has_counts else 0, low=0, high=100_000)
options.apply(MIN)
# the newest other run that can be compared with A (A itself when none can): never a dead end by default
B = options.Choice("p_cmp_b", "b", compare_choice.default_b(run_a, run_ids, int(st.session_state[MIN.key])),
                   choices=run_ids)
options.apply(B)
run_b = st.session_state[B.key]
a, b = cached.load_run(run_a), cached.load_run(run_b)
noun = a.item_noun
ITEM = options.Choice("p_cmp_item", "item", None, allowed=a.catalog.vocab.knows)
options.apply(ITEM)


def select_clicked_item():
    """on_select callback: the clicked row of the compared items becomes the selected item. It runs before the
    next script run, in this run's namespace: `compared_ids` is the list the clicked map was drawn from."""
    row = charts.clicked_item(st.session_state["cmp_map"].selection.points)
    if row is not None and 0 <= row < len(compared_ids):
        st.session_state[ITEM.key] = str(compared_ids[row])


labels = run_labels(list(infos.values()))


def name(run_id: str) -> str:
    return labels[run_id]


left, right = st.columns(2)
options.selectbox(left, "Run A", A, format_func=name)
options.selectbox(right, "Run B", B, format_func=name, help=f"Runs are compared over the {md(noun.many)} they share "
                                                            f"by id; by default the newest run that can be compared "
                                                            f"with A.")
c1, c2, c3 = st.columns([1, 1, 1.3])
k = options.number_input(c1, "Neighbours (k)", K, help=f"The k nearest {md(noun.many)} (cosine) of each one, in A and "
                                                       f"in B: how much the two sets overlap measures how stable the "
                                                       f"neighbours are.")
min_ratings = options.number_input(c2, "Ratings, at least", MIN,
                                   help=f"Only {md(noun.many)} rated at least this often in both runs are compared: "
                                        f"rarely rated ones sit near the centre, where any neighbourhood is noise.")
n_moved = options.slider(c3, "Marked on the map", MOVED, help=f"How many of the {md(noun.many)} that moved most are "
                                                              f"marked on the aligned map.")
state.to_url(a=run_a, b=run_b, k=k, min=min_ratings, moved=n_moved, item=st.session_state[ITEM.key])
dead_end = compare_choice.advice(run_a, run_b, run_ids, int(min_ratings), name)
if dead_end is not None:  # plain words and what to pick, not an error: nothing went wrong, the choice does not fit
    st.info(dead_end, icon=":material/compare_arrows:")
    st.stop()
if len(run_ids) < 2:
    st.caption("There is only one run, so A and B are the same: every figure below shows perfect agreement. Train "
               "another (the same settings with another seed shows how much of a run is chance) to compare.")
elif run_a == run_b and compare_choice.comparable_partner(run_a, run_ids, int(min_ratings)) is None:
    st.info(compare_choice.no_partner(run_a, run_ids, int(min_ratings), name), icon=":material/compare_arrows:")
elif run_a == run_b:
    st.caption("A and B are the same run: every figure below shows perfect agreement. Pick another run for B.")

try:
    result = cached.compare_runs(run_a, run_b, int(k), int(min_ratings))
except CollabError as exc:  # what the cheap check cannot foresee, e.g. a run whose factors are all identical
    st.error(f"These runs cannot be compared: {said(exc)}", icon=":material/error:")
    st.stop()
summary = result.summary()
compared_ids = result.match.raw_ids[result.positions]

st.subheader(f"Which {md(noun.many)}")
if summary["n_only_a"] or summary["n_only_b"]:
    st.warning(f"The runs share {md(noun.count(summary['n_shared_items']))} by id (A: {a.n_items:,} from "
               f"{md(a.dataset)}; B: {b.n_items:,} from {md(b.dataset)}); {summary['n_only_a']:,} are only in A and "
               f"{summary['n_only_b']:,} only in B. Everything below is about the {summary['n_compared_items']:,} "
               f"shared {md(noun.many)} rated at least {min_ratings} times in both.", icon=":material/join_inner:")
    with st.expander(f"{md(noun.Many)} only one run has"):
        only_a = a.catalog.display_titles[a.catalog.vocab.to_index(list(result.match.only_a[:200]))]
        only_b = b.catalog.display_titles[b.catalog.vocab.to_index(list(result.match.only_b[:200]))]
        o1, o2 = st.columns(2)
        o1.dataframe(pd.DataFrame({"only in A": only_a}), hide_index=True, placeholder=MISSING, key="cmp_only_a")
        o2.dataframe(pd.DataFrame({"only in B": only_b}), hide_index=True, placeholder=MISSING, key="cmp_only_b")
else:
    st.caption(f"Both runs have the same {md(noun.count(summary['n_shared_items']))}; compared: the "
               f"{summary['n_compared_items']:,} rated at least {min_ratings} times in both.")

st.subheader("Settings and scores")
if result.settings.empty:
    st.caption("Same settings and dataset.")
else:
    st.dataframe(result.settings.astype(str), hide_index=True, placeholder=MISSING, key="cmp_settings",
                 column_config={"setting": st.column_config.TextColumn(width=200), "a": "A", "b": "B"})
m = st.columns(4)
scores = [("A: validation RMSE", summary["rmse_a"], None),
          ("B: validation RMSE", summary["rmse_b"], summary["rmse_a"]),
          ("A: validation MSE", summary["mse_a"], None), ("B: validation MSE", summary["mse_b"], summary["mse_a"])]
for column, (name, value, base) in zip(m, scores):
    delta = f"{value - base:+.4f} vs A" if value is not None and base is not None and round(value - base, 4) else None
    column.metric(name, f"{value:.4f}" if value is not None else "–", delta=delta, delta_color="inverse")
if a.dataset != b.dataset:
    st.caption("The runs were scored on different data, so their scores are not directly comparable.")
n1, n2, n3 = st.columns(3)
n1.metric("Same neighbours", f"{summary['jaccard_mean']:.2f}",
          help=f"Of each {md(noun.one)}'s {result.k} nearest neighbours in A and in B, the share they have in common "
               f"(Jaccard overlap), averaged: 1 = the same sets, 0 = none shared.")
n2.metric("Shape difference", f"{summary['procrustes_disparity']:.3f}",
          help="How different the two maps of all factors are once B is turned (and scaled) to line up with A: "
               "0 = the same shape, only turned; 1 = nothing in common. (The Procrustes disparity.)")
n3.metric("Same bias order", f"{summary['bias_spearman']:.2f}" if summary["bias_spearman"] is not None else "–",
          help=f"How alike the two runs rank the {md(noun.many)} by bias: 1 = the same order, 0 = unrelated, -1 = "
               f"reversed (Spearman's rank correlation).")
if not result.histories.empty:
    st.caption("Loss curves: train loss dashed, validation MSE solid.")
    st.plotly_chart(charts.loss_overlay(result.histories, {"a": "A", "b": "B"}), key="cmp_loss")

st.subheader("The top of each user's list")
ranking_view.draw_compare(run_a, run_b, a, b, work.dataset())

st.subheader("Bias rankings")
if result.biases is None:
    lacking = " and ".join(f"{side} ({run.model_kind})" for side, run in (("A", a), ("B", b)) if not run.has_bias)
    st.info(f"Does not apply: run {lacking} has no biases.", icon=":material/info:")
else:
    by_b = result.biases.sort_values("rank_b", kind="stable").head(ROWS)
    by_a = result.biases.head(ROWS)
    side_by_side = pd.DataFrame({
        "#": range(1, len(by_a) + 1),
        "top in A": by_a["title"].to_numpy(), "A's rank in B": [f"{r} ({c:+d})" for r, c in
                                                                 zip(by_a["rank_b"], -by_a["rank_change"])],
        "top in B": by_b["title"].to_numpy(), "B's rank in A": [f"{r} ({c:+d})" for r, c in
                                                                 zip(by_b["rank_a"], by_b["rank_change"])]})
    st.caption(f"The {ROWS} {md(noun.many)} with the highest learned bias in each run, and where each stands in "
               "the other (its rank there, and the change in places: + is lower down).")
    st.dataframe(side_by_side, hide_index=True, placeholder=MISSING, key="cmp_bias_ranks", column_config={
        "#": st.column_config.NumberColumn(width=40), "top in A": st.column_config.TextColumn(width=320),
        "A's rank in B": st.column_config.TextColumn(width=110), "top in B": st.column_config.TextColumn(width=320),
        "B's rank in A": st.column_config.TextColumn(width=110)})

st.subheader("Neighbour stability")
st.caption(f"For each compared {md(noun.one)}, the share of its {result.k} nearest neighbours that A and B have in "
           f"common. Neighbour lists change even between two seeds of one model (Wendlandt et al., 2018), so look at "
           f"the whole spread: mean {summary['jaccard_mean']:.2f}, median {summary['jaccard_median']:.2f}.")
st.plotly_chart(charts.jaccard_histogram(result.neighbours["jaccard"].to_numpy(), result.k), key="cmp_jaccard")
stability = {"title": st.column_config.TextColumn(noun.one, width=280),
             "jaccard": st.column_config.NumberColumn("Jaccard", format="%.2f"),
             "count_a": st.column_config.NumberColumn("ratings")}
s1, s2 = st.columns(2)
s1.markdown("**Least stable**")
s1.dataframe(result.least_stable(ROWS)[["title", "jaccard", "count_a"]], hide_index=True, placeholder=MISSING,
             key="cmp_least",
             column_config=stability)
s2.markdown("**Most stable**")
s2.dataframe(result.most_stable(ROWS)[["title", "jaccard", "count_a"]], hide_index=True, placeholder=MISSING,
             key="cmp_most",
             column_config=stability)

st.subheader("Aligned maps")
alignment = result.alignment
moved = result.moved_most(int(n_moved))
moved_rows = pd.Index(compared_ids).get_indexer(moved["item"])
selected_id = st.session_state[ITEM.key] or (str(moved["item"].iloc[0]) if len(moved) else None)
selected_row = int(pd.Index(compared_ids).get_indexer([selected_id])[0]) if selected_id is not None else -1
ratios = alignment.explained_variance_ratio
st.caption(f"B turned (and scaled) to line up with A, both drawn on A's map. Red: the {len(moved)} "
           f"{md(noun.of(len(moved)))} that moved most, joined from their place in A to their place in B (they moved "
           f"in all factors: the map shows two, so a big move can look short here). **Click {md(noun.a)}** to "
           f"see its neighbours in both runs." + (f" Note: {md(alignment.padding)}." if alignment.padding else ""),
           help=f"B's factors are rotated onto A's by orthogonal Procrustes (shape difference left: "
                f"{alignment.disparity:.3f}), then both are drawn on the first two principal components of A.")
row_counts = a.catalog.counts[result.match.index_a[result.positions]]  # (n_compared,) A's count of each row
figure = charts.aligned_maps(alignment.map_a, alignment.map_b, result.titles, moved_rows,
                             tuple(f"PC{c + 1} of A ({r:.0%})" for c, r in enumerate(ratios[:2])),
                             selected=selected_row if selected_row >= 0 else None, counts=row_counts, what=noun.many)
note = charts.coverage_note(figure, f"compared {md(noun.many)} of each run", a.has_counts)
if note:  # every compared item is on the map, the most rated of them as points
    st.caption(note)
st.plotly_chart(figure, key="cmp_map", on_select=select_clicked_item, selection_mode="points")
if selected_id is not None and selected_row < 0:
    st.caption(f"{md(a.catalog.display_title(selected_id))} is not among the compared {md(noun.many)}.")
elif selected_id is not None:
    both = cached.neighbours_in_both(run_a, run_b, int(k), int(min_ratings), selected_id)
    shared = int(both["in_b"].sum())
    st.markdown(f"**{md(result.titles[selected_row])}**: {shared} of its {len(both)} nearest neighbours are the same "
                f"in both runs (Jaccard {shared / (2 * len(both) - shared):.2f}).")
    st.dataframe(both, hide_index=True, placeholder=MISSING, key="cmp_item_neighbours", column_config={
        "rank": st.column_config.NumberColumn("#", width=40),
        "title_a": st.column_config.TextColumn("in A", width=260),
        "similarity_a": st.column_config.NumberColumn("cos", format="%.2f", width=55),
        "in_b": st.column_config.CheckboxColumn("also in B", width=70),
        "title_b": st.column_config.TextColumn("in B", width=260),
        "similarity_b": st.column_config.NumberColumn("cos", format="%.2f", width=55),
        "in_a": st.column_config.CheckboxColumn("also in A", width=70)})

st.subheader("What changed most")
w1, w2 = st.columns(2)
w1.markdown("**Position** (distance after alignment, in A's units)")
w1.dataframe(result.moved_most(ROWS)[["title", "displacement", "count_a"]], hide_index=True, placeholder=MISSING,
             key="cmp_moved",
             column_config={"title": st.column_config.TextColumn(noun.one, width=280),
                            "displacement": st.column_config.NumberColumn("moved", format="%.3f"),
                            "count_a": st.column_config.NumberColumn("ratings")})
w2.markdown("**Bias** (each run's biases centred on their median)")
changed = result.bias_changed_most(ROWS)
if changed is None:
    w2.caption("Does not apply: a run without biases.")
else:
    w2.dataframe(changed[["title", "bias_a", "bias_b", "bias_change"]], hide_index=True, placeholder=MISSING,
                 key="cmp_bias_changed",
                 column_config={"title": st.column_config.TextColumn(noun.one, width=240),
                                "bias_a": st.column_config.NumberColumn("A", format="%.2f", width=55),
                                "bias_b": st.column_config.NumberColumn("B", format="%.2f", width=55),
                                "bias_change": st.column_config.NumberColumn("change", format="%+.2f", width=65)})
