"""The ranking lens on a page: a run judged the way recommenders are used, by the top of each user's list
(collab_core.analysis.ranking), beside "most popular" and "random" on the same split, with what the numbers mean
in words. Diagnostics draws the whole section; Compare and the run history use the table and the verdict."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from collab_core.analysis.ranking import RECORDED_USERS, RankingReport, long_tail
from collab_core.data.nouns import Noun
from collab_core.errors import CollabError

from . import cached, charts
from .messages import said
from .text import MISSING, md

FAILED_SHOWN = 15  # users the model fails, listed


def table(reports: dict[str, RankingReport]) -> pd.DataFrame:
    """One row per scorer (name -> report): the headline metrics at its k."""
    k = next(iter(reports.values())).k
    return pd.DataFrame([{"model": name, f"nDCG@{k}": r.ndcg, f"P@{k}": r.precision, f"R@{k}": r.recall,
                          f"MAP@{k}": r.map, "hit rate": r.hit_rate, "MRR": r.mrr, "coverage": r.coverage,
                          "mean popularity": r.mean_popularity, "Gini": r.gini, "novelty": r.novelty}
                         for name, r in reports.items()])


def column_config(k: int) -> dict:
    share = {name: st.column_config.NumberColumn(format="%.3f") for name in (
        f"nDCG@{k}", f"P@{k}", f"R@{k}", f"MAP@{k}", "hit rate", "MRR", "Gini")}
    return share | {"coverage": st.column_config.NumberColumn(format="percent", help="Share of the catalogue that is "
                                                                                     "in at least one user's list."),
                    "mean popularity": st.column_config.NumberColumn(
                        format="%.0f", help="Mean training ratings of the recommended items (each recommendation "
                                            "counted): how far into the popular head the lists stay."),
                    "novelty": st.column_config.NumberColumn(
                        format="%.2f", help="Mean -log2 of the share of users who rated each recommended item: "
                                            "higher is less obvious.")}


def verdict(run: RankingReport, popular: RankingReport) -> str:
    """The run's nDCG against most popular, in words (plain text)."""
    if run.ndcg < popular.ndcg:
        return (f"This run's top-{run.k} lists (nDCG@{run.k} {run.ndcg:.3f}) are worse than recommending the most "
                f"rated items to everyone ({popular.ndcg:.3f}). A model fitted to rating values learns how much "
                f"people like what they rated, not which items they choose to rate, and that choice carries most of "
                f"what a ranking needs: try the ranking objective on Train.")
    return (f"This run's top-{run.k} lists (nDCG@{run.k} {run.ndcg:.3f}) beat recommending the most rated items to "
            f"everyone ({popular.ndcg:.3f}) by {run.ndcg / max(popular.ndcg, 1e-9):.1f}x.")


def _judged(report: RankingReport) -> str:
    """"943 users judged", or, at the size where the figures come from a sample, that they do."""
    if report.n_users >= RECORDED_USERS:
        return f"a seeded sample of {report.n_users:,} users judged"
    return f"{report.n_users:,} users judged"


def draw(run_id: str, data, noun: Noun, k: int = 10) -> None:
    """The Diagnostics section: metrics beside the baselines, the long tail, the spread over users, the failures."""
    run, baselines = cached.ranking(run_id, data, k)
    st.caption(f"Each user's top {k} {md(noun.many)} (those they rated in training left out) against the "
               f"{md(noun.many)} they held out ({md(run.split)}; every held-out {md(noun.one)} counts, whatever its "
               f"rating): {_judged(run)} in {run.seconds:.2f} s.")
    st.markdown(md(verdict(run, baselines["most popular"])))
    st.dataframe(table({"this run": run, **baselines}), hide_index=True, placeholder=MISSING, key="dg_ranking",
                 column_config=column_config(k))
    c1, c2 = st.columns(2)
    c1.caption(f"Where the recommendations fall in the catalogue, most rated {md(noun.many)} first, against where "
               f"the users' held-out {md(noun.many)} are: a first bar far above its twin is popularity bias.")
    c1.plotly_chart(charts.long_tail_spread(long_tail(run), noun.one), key="dg_long_tail")
    c2.caption(f"nDCG@{k} of each user: the bar at 0 is the users none of whose held-out {md(noun.many)} made "
               f"their list.")
    c2.plotly_chart(charts.ndcg_distribution(run.user_ndcg, k), key="dg_ndcg_users")
    failed = pd.DataFrame({"user": run.user_ids, "held out": run.user_relevant, f"nDCG@{k}": run.user_ndcg})
    failed = failed[failed[f"nDCG@{k}"] == 0].sort_values("held out", ascending=False, kind="stable")
    st.caption(f"The users it fails: {len(failed):,} of {run.n_users:,} got none of their held-out "
               f"{md(noun.many)} in their top {k}; those with the most held out first (pick one above to explain a "
               f"prediction for them).")
    st.dataframe(failed.head(FAILED_SHOWN), hide_index=True, placeholder=MISSING, key="dg_failed_users")


def draw_compare(run_a: str, run_b: str, a, b, session_data, k: int = 10) -> None:
    """Compare's section: A and B judged on A's split beside the baselines, and how alike their lists are."""
    noun = a.item_noun
    data, why_not = cached.run_data(run_a, session_data)
    if data is None:
        st.caption(f"Needs A's ratings ({md(a.dataset)}), not available in this session: {md(why_not)}.")
        return
    if b.dataset != a.dataset:
        st.caption(f"B was trained on other data ({md(b.dataset)}): its lists cannot be judged on A's held-out "
                   f"{md(noun.many)}.")
        return
    try:
        report_a, report_b, baselines, (_, overlap) = cached.ranking_pair(run_a, run_b, data, k)
    except CollabError as exc:
        st.caption(f"The runs' lists cannot be compared: {said(exc)}.")
        return
    st.caption(f"Both runs' top {k} for A's users with held-out {md(noun.many)} ({_judged(report_a)}), judged on "
               f"A's split ({md(report_a.split)}).")
    split_b = b.metrics.get("split")
    if split_b != a.metrics.get("split"):
        st.warning(f"B was trained with another split ({md(split_b or 'unknown')}): some of A's held-out "
                   f"{md(noun.many)} may be in B's training data, which flatters B.", icon=":material/warning:")
    st.dataframe(table({"A": report_a, "B": report_b, **baselines}), hide_index=True, placeholder=MISSING,
                 key="cmp_ranking", column_config=column_config(k))
    o1, o2 = st.columns([1, 2])
    o1.metric("Same top-k items", f"{overlap.mean():.2f}",
              help=f"Of each user's top {k} in A, the share also in B's top {k}, averaged over users: 1 = the same "
                   f"lists, 0 = nothing shared.")
    o1.caption("A rating run and a ranking run on the same data often agree on few items: they answer different "
               "questions (how much you would like it, against whether you would pick it).")
    o2.plotly_chart(charts.overlap_histogram(overlap, k), key="cmp_overlap")
