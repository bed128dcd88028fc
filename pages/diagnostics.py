"""Diagnostics: one prediction taken apart, embedding norms against popularity, and where on the validation set
the model is wrong (collab_core.analysis.diagnostics). The last needs the run's own ratings and split, which are rebuilt
when this session can load the run's dataset."""
import numpy as np
import streamlit as st

from collab_app import cached, charts, options, picker, progress, ranking_view, state, work
from collab_app.text import MISSING, md
from collab_core.analysis import interpret

MOST_WORST = 200  # worst predictions kept; the page shows the first `worst`
active = progress.page_run()
run_id, trained = active.run_id, active.trained
catalog, users, kind = trained.catalog, trained.users, trained.model_kind
noun = trained.item_noun
st.title("Diagnostics")
if trained.imported:
    st.info(f"This run is imported vectors only (from {md(trained.dataset)}): explaining a prediction and finding "
            f"where the model is wrong need a trained model that predicts ratings. The embedding norms are below.",
            icon=":material/info:")
    if not trained.has_counts:
        st.caption("It has no rating counts either (no count column was imported), so norms cannot be set against "
                   "popularity.")
        state.to_url()  # a trained run's user and item do not apply here: the address keeps the run alone
        st.stop()
    PCA_MIN = options.Number("p_dg_pcamin", "pcamin", 20, low=0, high=100_000)
    options.apply(PCA_MIN)
    state.to_url(pcamin=st.session_state[PCA_MIN.key])
    data = None
else:

    most_active = str(users.ids[int(np.argmax(trained.user_counts))])  # argmax: the first of any tie
    star_wars = catalog.vocab.knows("50") and "Star Wars" in catalog.titles[catalog.vocab.to_index("50")]
    MOVIE_DEFAULT = "50" if star_wars else str(catalog.vocab.ids[catalog.top_items(1)[0]])
    USER = options.Choice("p_dg_user", "user", most_active, allowed=users.knows)
    MOVIE = options.Choice("p_dg_movie", "movie", MOVIE_DEFAULT, allowed=catalog.vocab.knows)
    PCA_MIN = options.Number("p_dg_pcamin", "pcamin", 20, low=0, high=100_000)
    WORST = options.Number("p_dg_worst", "worst", 20, low=5, high=MOST_WORST)
    options.apply(USER, MOVIE, PCA_MIN, WORST)

    data, why_not = cached.run_data(run_id, work.dataset())
    if data is not None:
        st.caption(f"The run's own ratings are loaded ({md(data.label)}) and its validation split rebuilt "
                   f"({md(trained.metrics.get('split'))}): actual ratings and errors below are real.")
    else:
        st.caption(f"The run's ratings ({md(trained.dataset)}) are not available in this session: {md(why_not)}. "
                   f"Explaining a prediction works without them; the actual rating and where the model is wrong "
                   f"need them.")

    # ---------------------------------------------------------------------- one prediction
    st.subheader("Explain a prediction")
    user = picker.user_picker(st, "User", USER.key, users, trained.user_counts,
                              help="Most active users first; the search finds any of them by id.")
    movie = picker.movie_picker(st, md(noun.One), MOVIE.key, catalog, noun)
    state.to_url(user=user, movie=movie, pcamin=st.session_state[PCA_MIN.key], worst=st.session_state[WORST.key])
    why = cached.explain_prediction(run_id, user, movie, data)
    p1, p2, p3 = st.columns(3)
    p1.metric("Predicted rating", f"{why.prediction:.3f}")
    if why.actual is not None:
        p2.metric("Actual rating", f"{why.actual:g}")
        p3.metric("Error (predicted − actual)", f"{why.error:+.3f}")
    else:
        p2.metric("Actual rating", "–", help=f"This user did not rate this {md(noun.one)}" if data is not None
                  else "The run's ratings are not loaded in this session")
    if why.factors is not None:
        sums = [f"{why.dot:+.3f} (sum of {len(why.factors)} factor products)"]
        if why.user_bias is not None:
            sums += [f"{why.user_bias:+.3f} (user bias)", f"{why.item_bias:+.3f} ({md(noun.one)} bias)"]
        line = " ".join(sums) + f" = **{why.raw_score:+.3f}**"
    else:
        line = f"the MLP's output **{why.raw_score:+.3f}**"
    if why.y_range is not None:
        low, high = why.y_range
        line += (f", squashed by the sigmoid into y_range ({low:g}, {high:g}): {low:g} + {high - low:g} × "
                 f"σ({why.raw_score:.3f}) = **{why.from_parts:.3f}**")
    else:
        line += ": the prediction itself (no sigmoid)"
    st.markdown(f"{md(why.title)}: " + line + f". The model's own prediction: {why.prediction:.3f}.")
    for part, reason in why.not_applicable.items():
        st.caption(f"{md(part.capitalize())}: does not apply, {md(reason)}.")
    if why.factors is not None:
        parts_col, table_col = st.columns([3, 2])
        parts_col.plotly_chart(charts.prediction_parts(why.factors, why.user_bias, why.item_bias, why.raw_score,
                                                                what=noun.one),
                               key="dg_parts")
        table_col.caption(f"Per factor: the user's value × the {md(noun.one)}'s value; largest in size first. "
                          f"Factor numbers are "
                          "arbitrary (a factor space is only defined up to rotation).")
        table_col.dataframe(why.factors, hide_index=True, placeholder=MISSING,
                            key="dg_factors", height=320, column_config={
            "factor": st.column_config.NumberColumn("factor", width=60),
            "user_value": st.column_config.NumberColumn("user", format="%+.3f"),
            "item_value": st.column_config.NumberColumn(noun.one, format="%+.3f"),
            "product": st.column_config.NumberColumn("product", format="%+.3f")})

# ---------------------------------------------------------------------- norms
st.subheader("Embedding norms and popularity")
norms = cached.norms_vs_popularity(run_id, int(st.session_state[PCA_MIN.key]))
st.markdown(md(norms.summary))
colour = "bias" if trained.has_bias else None
if colour is None:
    st.caption(f"A {md(kind)} model has no biases: the points are not coloured by bias.")
drawn = norms.items.iloc[interpret.sample(len(norms.items))]
if len(drawn) < len(norms.items):
    st.caption(f"The charts draw a random {len(drawn):,} of the {md(noun.count(len(norms.items)))} (the same ones "
               f"each time); the correlations use all of them.")
n1, n2 = st.columns(2)
n1.caption(f"Each {md(noun.one)}'s embedding length against how often it was rated. Weight decay shrinks every "
           f"vector; only ratings push back, so rarely rated {md(noun.many)} stay near the centre, where they crowd "
           f"every neighbourhood.")
n1.plotly_chart(charts.norms_vs_count(drawn, "norm", "embedding norm", colour), key="dg_norms")
n2.caption(f"Each {md(noun.one)}'s place on the map's first direction (PC1) against how often it was rated: a PC1 "
           f"that follows popularity is a popularity axis, not a taste axis.")
n2.plotly_chart(charts.norms_vs_count(drawn, "pc1", "PC1", colour), key="dg_pc1")
options.number_input(n2, "Ratings, at least", PCA_MIN, help=f"The first principal component is fitted on the "
                                                            f"{md(noun.many)} rated at least this often.")
r1, r2, r3 = st.columns(3)
for column, name, what, value in ((r1, "Length follows popularity", "embedding length",
                                   norms.spearman_norm_log_count),
                                  (r2, "PC1 follows popularity", "place on PC1", norms.spearman_pc1_log_count),
                                  (r3, "Bias follows popularity", "learned bias", norms.spearman_bias_log_count)):
    column.metric(name, f"{value:+.2f}" if value is not None else "–",
                  help=f"How closely each {md(noun.one)}'s {what} follows how often it was rated (Spearman's rank "
                       f"correlation with the log count): +1 in step, 0 unrelated, -1 the opposite.")

# ---------------------------------------------------------------------- errors
if trained.imported:
    st.stop()
if data is None:
    st.subheader("The ranking lens and where the model is wrong")
    st.info(f"This needs the ratings and the validation split the run was trained on, and the run's data "
            f"({md(trained.dataset)}) is not loaded in this session: {md(why_not)}.", icon=":material/info:")
    st.stop()
st.subheader("The ranking lens: the top of each user's list")
ranking_view.draw(run_id, data, noun)
st.subheader("Where the model is wrong")
if trained.kind.ranking:
    st.caption("A run trained for ranking scores items for a list, not ratings: its errors on rating values mean "
               "nothing. The ranking lens above is how it is judged.")
    st.stop()
errors = cached.where_wrong(run_id, data, MOST_WORST)
recorded = trained.metrics.get("rmse")
agrees = recorded is not None and abs(errors.rmse - recorded) < 1e-4
st.caption(f"Every one of the {len(errors.errors):,} validation ratings, scored again: RMSE {errors.rmse:.4f}"
           + (f", as the run recorded ({recorded:.4f})." if agrees else
              f"; the run recorded {recorded:.4f}: these are not quite its data." if recorded is not None else ".")
           + f" Binned by how many training ratings the {md(noun.one)} and the user had: the model is least sure "
             f"where it saw little.")
st.plotly_chart(charts.error_by_count(errors.by_item_count, errors.by_user_count, noun.one), key="dg_errors")
worst = int(options.number_input(st, "Worst predictions shown", WORST))
st.dataframe(errors.worst.head(worst), hide_index=True, placeholder=MISSING, key="dg_worst", column_config={
    "user": st.column_config.TextColumn("user", width=70), "item": None,
    "title": st.column_config.TextColumn(noun.one, width=300),
    "rating": st.column_config.NumberColumn("actual", format="%g", width=70),
    "prediction": st.column_config.NumberColumn("predicted", format="%.2f", width=86),
    "error": st.column_config.NumberColumn("error", format="%+.2f", width=70)})
