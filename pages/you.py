"""You: rate a few items and the run folds you in as a new user, without retraining (collab_core.analysis.foldin: a
ridge regression through the sigmoid against the frozen item factors, in milliseconds). Then: what it
recommends and why, how well your one vector fits your own ratings, where you sit on the item map, and the
existing users most like you. Clicking an item on the map explains its predicted rating.

A run trained for ranking (collab_core.analysis.foldin_ranking) learned which items people rate, not their stars:
it folds you in by that softmax, predicts no ratings, and this page speaks of its scores and ranks instead."""
import numpy as np
import pandas as pd
import streamlit as st

from collab_app import cached, charts, options, picker, progress, state, work
from collab_app.messages import said
from collab_app.text import MISSING, md
from collab_core.analysis import foldin_ranking
from collab_core.errors import CollabError

MAX_RATINGS = 20
active = progress.page_run()
run_id, trained = active.run_id, active.trained
catalog, n_items = trained.catalog, trained.n_items
ids = catalog.vocab.ids
noun = trained.item_noun
scale = cached.rating_scale(run_id)
stars = scale.values()
MANY_STARS = 6  # more values than this (half stars, a finer scale) go on a slider: buttons would not fit
RANKING = trained.kind.ranking  # its scores are logits of a softmax over items: no predicted ratings to show
ITEM_BIAS = " + its bias" if trained.kind.biases else ""  # a `dot` run has no item biases
SCORE = "score" if RANKING else "predicted rating"  # what the model says of you and an item
st.title("You")
if RANKING:
    st.caption(f"Rate a few {md(noun.many)} you know. This run was trained for ranking: it learned which "
               f"{md(noun.many)} people choose to rate, not their stars, so it finds the one user vector under which "
               f"the {md(noun.many)} you rated are the likeliest choices among all {n_items:,}, against the "
               f"{md(noun.one)} factors it already learned: no retraining, a few milliseconds. Your stars are kept "
               f"but change nothing here; every {md(noun.one)} you rate counts the same.")
else:
    st.caption(f"Rate a few {md(noun.many)} you know. The model then finds the one user vector (and bias) that best "
               f"explains your ratings, against the {md(noun.one)} factors it already learned: no retraining, a few "
               f"milliseconds. That is how a recommender handles a new user (the cold start).")

N = options.Number("p_you_n", "n", min(10, n_items - 1), low=1, high=max(1, min(50, n_items - 1)))
MIN = options.Number("p_you_min", "min", int(min(20, np.median(catalog.counts))), low=0, high=100_000)
EXPLAIN = options.Choice("p_you_explain", None, None, allowed=catalog.vocab.knows)  # personal: not in the URL
options.apply(N, MIN, EXPLAIN)


def star_label(value: float) -> str:
    return f"{value:g} ★"


def stars_widget(where, label: str, key: str, **kwargs):
    """Buttons for a few rating values, a slider for many (half stars): either fits a projector-sized window."""
    if len(stars) <= MANY_STARS:
        return where.segmented_control(label, stars, key=key, format_func=star_label, **kwargs)
    kwargs.pop("required", None)
    if st.session_state.get(key) is None:  # a slider always has a value: it starts in the middle of the scale
        st.session_state[key] = stars[len(stars) // 2]
    return where.select_slider(label, stars, key=key, format_func=star_label, **kwargs)


def row_key(item: str) -> str:
    return f"you_r_{item}"


def replace_ratings(ratings: dict[str, float]) -> None:
    """on_click: the whole set at once (the demo, Clear); the row widgets start again from it."""
    for item in work.your_ratings():
        st.session_state.pop(row_key(item), None)
    work.set_your_ratings(ratings)
    st.session_state[EXPLAIN.key] = None


def add_rating() -> None:
    item, value = st.session_state.get("you_pick"), st.session_state.get("you_stars")
    if item is not None and value is not None:
        work.set_your_rating(item, value)
        st.session_state[row_key(item)] = value
        st.session_state["you_pick"] = None
        st.session_state["you_stars"] = None
        st.session_state[picker.search_key("you_pick")] = ""  # the next search starts afresh


def change_rating(item: str) -> None:
    work.set_your_rating(item, st.session_state[row_key(item)])


def remove_rating(item: str) -> None:
    work.remove_your_rating(item)
    st.session_state.pop(row_key(item), None)


mine = work.your_ratings()
usable = {item: scale.nearest(value) for item, value in mine.items() if catalog.vocab.knows(item)}
full = len(mine) >= MAX_RATINGS
pick = picker.movie_picker(st, f"{md(noun.One)} to rate", "you_pick", catalog, noun, optional=True,
                           exclude=mine, excluded_as="you rated already",
                           search_label=f"Find {md(noun.a)} to rate",
                           disabled=full, placeholder=f"choose {noun.a}",
                           help=f"Most rated first: the model knows popular {md(noun.many)} best."
                           if trained.has_counts else None)
stars_col, add_col = st.columns([4, 1], vertical_alignment="bottom")
chosen = stars_widget(stars_col, "Your rating", "you_stars", disabled=full,
                      help=md(scale.note) if scale.assumed else f"The ratings this run's data holds: "
                                                                f"{md(scale.describe())}.")
add_col.button("Rate", key="you_add", type="primary", on_click=add_rating, disabled=full or None in (pick, chosen))
if scale.assumed:  # imported vectors, or a run saved before runs recorded their rating values
    st.caption(md(scale.note))
demo_col, clear_col = st.columns([1.5, 1])
popular = "popular " if trained.has_counts else ""  # an import without counts knows nothing of popularity
demo_col.button(f"Start with 5 {popular}{md(noun.many)}", key="you_demo", icon=":material/bolt:",
                on_click=lambda: replace_ratings(cached.demo_ratings(run_id, int(st.session_state[MIN.key]))),
                help=f"A made-up taste for a demo: five {popular}{md(noun.many)} from one end of the map (this run "
                     f"learns which {md(noun.many)} you chose, not your stars). Add or remove some to make it yours."
                if RANKING else
                f"A made-up taste for a demo: five {popular}{md(noun.many)}, those at one end of the map rated "
                f"high and those at the other end low. Change the stars to make it yours.")
clear_col.button("Clear my ratings", key="you_clear", on_click=lambda: replace_ratings({}), disabled=not mine)
if full:
    st.caption(f"{MAX_RATINGS} ratings is the most this page takes; remove one to rate another.")

if mine:
    st.subheader(f"Your ratings ({len(usable)})")
    for item in mine:
        title, rating, remove = st.columns([2.6, 3.2, 0.5], vertical_alignment="center")
        if item not in usable:
            title.markdown(f"~~id {md(item)}~~: rated under another run, which had it; this one does not, so it is "
                           f"not used")
        else:
            title.markdown(md(catalog.display_title(item)))
            if st.session_state.get(row_key(item)) != usable[item]:  # changed in another tab, or another run's scale
                st.session_state[row_key(item)] = usable[item]
            stars_widget(rating, "rating", row_key(item), required=True, on_change=change_rating, args=(item,),
                         label_visibility="collapsed")
        remove.button("", key=f"you_rm_{item}", icon=":material/close:", help="Remove this rating",
                      on_click=remove_rating, args=(item,))
state.to_url(n=st.session_state[N.key], min=st.session_state[MIN.key])

if not usable:
    st.info(f"Rate at least one {md(noun.one)} to see what the model makes of you: pick a title above and give it "
            f"stars, or **start with 5 popular {md(noun.many)}**. Five to twenty ratings give recommendations worth "
            f"reading.", icon=":material/star:")
    st.stop()

yours = tuple(usable.items())
try:
    fold = cached.fold_in(run_id, yours)
except CollabError as exc:
    st.error(said(exc), icon=":material/error:")
    st.stop()
penalty = f"penalty {fold.ridge:.2f}" + (f", {fold.ridge_bias:.2f} on the bias" if fold.ridge_bias else "")
how = (f"How: Newton's method, {fold.iterations} step(s), on the softmax over all {n_items:,} {md(noun.many)} the "
       f"run trained, with the {penalty} ({foldin_ranking.penalty_rule(trained)}); no user bias, which a softmax over "
       f"{md(noun.many)} ignores (collab_core.analysis.foldin_ranking)." if RANKING else
       f"How: {md(fold.method)} with {fold.iterations} refinement step(s), {penalty}, derived from the "
       f"training's weight decay (collab_core.analysis.foldin).")
st.caption(f"Your vector, from your {fold.n_rated} rating(s), took {fold.seconds * 1000:.1f} ms; the run itself is "
           f"unchanged.", help=how)
if fold.n_rated < 5:
    pull = (f"the penalty keeps your vector short, so the {md(noun.many)} with the largest biases (the most "
            f"popular) lead" if RANKING and trained.kind.biases else
            "the penalty keeps your vector short, so it says little about you yet" if RANKING else
            "your vector is mostly a pull towards the average user")
    st.info(f"With {fold.n_rated} rating(s), {pull}; rate 5 to 20 "
            f"{md(noun.many)} for recommendations that are about you.", icon=":material/info:")

st.subheader("Recommended for you")
c1, c2 = st.columns(2)
n = options.number_input(c1, "How many", N)
min_ratings = options.number_input(c2, "Ratings, at least", MIN,
                                   help=f"Only {md(noun.many)} rated at least this often are recommended: rarely "
                                        f"rated ones have noisy factors (weight decay pulls them to the centre). The "
                                        f"{md(noun.many)} you rated are never recommended.")
try:
    found = cached.recommendations(run_id, yours, int(n), int(min_ratings))
except CollabError as exc:
    st.warning(said(exc))
    found = None


def because_text(parts: list[dict]) -> str:
    """'Fargo (1996) +0.09; Contact (1997) +0.08' ('nn': the most similar rated items, no amounts). A semicolon
    between them: a display title may itself hold ' · ' before an id."""
    return "; ".join(p["title"] + (f" {p['contribution']:+.2f}" if p["contribution"] is not None else "")
                     for p in parts)


if found is not None:
    shown = found.assign(because=found["because"].map(because_text))
    before = "the model's score: no sigmoid" if RANKING else "before the sigmoid"
    because_help = (f"The two rated {md(noun.many)} that add most to this one's score ({before}): your "
                    f"vector is a sum of one share per rated {md(noun.one)}, so each score splits exactly into "
                    f"their parts (all of them under 'Why this {'score' if RANKING else 'rating'}?')."
                    if fold.shares is not None else f"An MLP's score does not split per rated {md(noun.one)}: these "
                    f"are the rated {md(noun.many)} whose embeddings are most similar to this one.")
    st.dataframe(shown[["rank", "title", "score", "count", "because"]], hide_index=True, placeholder=MISSING,
                 key="you_recs",
                 column_config={
                     "rank": st.column_config.NumberColumn("#", width=36),
                     "title": st.column_config.TextColumn(noun.one, width=300),
                     "score": st.column_config.NumberColumn("score" if RANKING else "predicted", format="%.2f",
                                                            width=80,
                                                            help=f"The model's score for you (your vector . its "
                                                                 f"factors{ITEM_BIAS}): higher ranks first. Not a "
                                                                 f"rating." if RANKING else None),
                     "count": st.column_config.NumberColumn("ratings", width=70),
                     "because": st.column_config.TextColumn("because you rated ...", width=390, help=because_help)})

if RANKING:
    st.subheader("Your choices, as the model ranks them")
    st.caption(f"This run predicts no ratings, so there is no fitted rating to set beside your stars. Instead: where "
               f"each {md(noun.one)} you rated ranks among all {n_items:,} for your vector (1 = the model's first "
               f"choice for you), and its score. The penalty keeps your vector short, so popular {md(noun.many)} "
               f"can still outrank the ones you chose: that is how much of your choice the run's factors express.")
    st.dataframe(cached.ranked_items(run_id, yours)[["title", "rank", "score"]], hide_index=True,
                 placeholder=MISSING, key="you_ranked", column_config={
        "title": st.column_config.TextColumn(noun.one, width=300),
        "rank": st.column_config.NumberColumn(f"rank of {n_items:,}", format="%d", width=100),
        "score": st.column_config.NumberColumn("score", format="%.2f", width=70)})
else:
    st.subheader("Your ratings, as the model sees them")
    fit = cached.fitted(run_id, yours)
    st.caption(f"Your rating next to what your vector predicts for the same {md(noun.one)}. One vector of "
               f"{fold.vector.shape[0]} factors and a bias cannot say everything you said, and the penalty keeps it "
               "modest: the gaps are how much of your taste the run's factors cannot express.")
    st.dataframe(fit[["title", "rating", "prediction", "error"]], hide_index=True, placeholder=MISSING,
                 key="you_fitted", column_config={
        "title": st.column_config.TextColumn(noun.one, width=300),
        "rating": st.column_config.NumberColumn("your rating", format="%g", width=90),
        "prediction": st.column_config.NumberColumn("fitted", format="%.2f", width=70),
        "error": st.column_config.NumberColumn("fitted − yours", format="%+.2f", width=110)})

st.subheader("You on the map")
table = cached.item_table(run_id)
coords = cached.pca_map_all_items(run_id, int(min_ratings))
recommended = found["item_index"].to_numpy() if found is not None else np.array([], dtype=np.int64)
rated_indices = catalog.vocab.to_index(list(usable))
explain_id = st.session_state[EXPLAIN.key] or (str(ids[recommended[0]]) if len(recommended) else None)
explain_index = catalog.vocab.to_index(explain_id) if explain_id is not None else None


def frame_of(indices, predicted=None) -> pd.DataFrame:
    frame = table.loc[indices, ["title", "genres", "bias", "count"]].assign(
        x=coords[indices, 0], y=coords[indices, 1], index=indices)
    return frame if predicted is None else frame.assign(
        predicted=predicted, hover_extra=[f"<br>your {SCORE}: {p:.2f}" for p in predicted])


def explain_clicked_point():
    """on_select callback: runs before the rerun, so it may set the explained movie."""
    index = charts.clicked_item(st.session_state["you_map"].selection.points)
    if index is not None and 0 <= index < n_items:
        st.session_state[EXPLAIN.key] = str(ids[index])


try:
    where, candidates, predicted = cached.you_on_map(run_id, yours, int(min_ratings))
except CollabError as exc:  # 'nn': user and item embeddings share no space
    st.info(f"Not for this model: {said(exc)}.", icon=":material/info:")
else:
    # every candidate: the chart draws the most rated as points, the whole set as density
    figure = charts.you_map(frame_of(candidates, predicted), (where.x, where.y), frame_of(rated_indices),
                            frame_of(recommended), frame_of([explain_index]) if explain_index is not None else None,
                            (f"PC1 ({where.explained[0]:.0%})", f"PC2 ({where.explained[1]:.0%})"),
                            colour_title=f"your {SCORE}", what=noun.many)
    note = charts.coverage_note(figure, md(noun.many), active.trained.has_counts)
    st.caption(f"The {md(noun.many)} rated at least {min_ratings} times, on the same map as Projections, "
               f"coloured by your {SCORE}. Your star is your vector on the map: {md(noun.many)} lying "
               f"farther from the centre in the direction of the arrow score higher. **Click {md(noun.a)}** to "
               f"see why it gets its {'score' if RANKING else 'rating'}." + (f" {note}" if note else ""),
               help=f"The map is the first two principal components of the {md(noun.one)} factors. It shows "
                    f"{where.share:.0%} of your vector (its axes hold {where.explained.sum():.0%} of their "
                    f"variance): the rest of your taste points along other directions.")
    st.plotly_chart(figure, key="you_map", on_select=explain_clicked_point, selection_mode="points")

st.subheader("Why this score?" if RANKING else "Why this rating?")
picker.movie_picker(st, f"Explain {md(noun.a)}", EXPLAIN.key, catalog, noun, optional=True,
                    search_label=f"Find {md(noun.a)} to explain",
                    placeholder="the top recommendation; search to choose another")
if explain_index is not None:
    score, parts = cached.explain_for_you(run_id, yours, int(explain_index))
    st.markdown(f"**{md(catalog.display_titles[explain_index])}**: your {SCORE} **{score:.2f}**"
                + (f" (you rated it {usable[explain_id]:g})" if explain_id in usable else ""))
    if parts is None:
        st.caption(f"An MLP's prediction does not split into one part per rated {md(noun.one)}.")
    elif RANKING:
        st.caption(f"What each {md(noun.one)} you rated adds to this {md(noun.one)}'s score, largest first"
                   + (f", then the {md(noun.one)}'s own bias (its popularity)" if trained.kind.biases else "")
                   + ". They sum to the score exactly.")
        st.dataframe(parts, hide_index=True, placeholder=MISSING, key="you_explain_table", column_config={
            "item": None, "title": st.column_config.TextColumn(f"your rated {noun.one}", width=300),
            "rating": None, "contribution": st.column_config.NumberColumn("adds", format="%+.3f")})
    else:
        st.caption(f"What each of your ratings adds to this {md(noun.one)}'s score before the sigmoid, largest first, "
                   f"then the {md(noun.one)}'s own bias. They sum to the score exactly.")
        st.dataframe(parts, hide_index=True, placeholder=MISSING, key="you_explain_table", column_config={
            "item": None, "title": st.column_config.TextColumn(f"your rated {noun.one}", width=300),
            "rating": st.column_config.NumberColumn("your rating", format="%g"),
            "contribution": st.column_config.NumberColumn("adds", format="%+.3f")})

st.subheader("Users most like you")
st.caption("The existing users whose factor vectors point most nearly the way yours does (cosine similarity; "
           "biases left out): people whose taste the model sees as yours, whatever their average rating.")
st.dataframe(cached.nearest_users(run_id, yours, 10), hide_index=True, placeholder=MISSING,
             key="you_users", column_config={
    "rank": st.column_config.NumberColumn("#", width=40),
    "similarity": st.column_config.NumberColumn("similarity", format="%.3f"),
    "count": st.column_config.NumberColumn("their ratings"),
    "mean_rating": st.column_config.NumberColumn("their mean rating", format="%.2f")})
