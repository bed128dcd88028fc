"""The Train page's run history: every run this session sees (its own first), with what may be done to them:
make active, delete, pin as the default, rename, and for the host whether visitors see each other's runs. A
visitor sees the buttons of what they may do; what they may not is hidden or disabled with its reason
(collab_app.access), and the actions check again (collab_app.run_actions)."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from collab_core.errors import CollabError
from collab_core.model.presets import LESSON
from collab_core.model.verdict import VERDICT_HELP, baseline_verdict
from collab_core.runs.store import RunInfo

from . import access, cached, charts, progress, run_actions, state
from .messages import clean, said
from .run_labels import preset_note, reported_by_preset, run_label
from .text import MISSING, md

NDCG_HELP = ("How good the top of each user's list is: the held-out items in their top 10, the higher the better "
             "(1 = all at the top). Judged on the run's validation split, at most 5,000 users; Diagnostics has the "
             "rest of the ranking lens.")
_TABLE_KEY = "runs_table"
_SHOWN_IDS = "_history_ids"  # the run ids of the table as last drawn, in its order


def draw() -> None:
    st.subheader("Run history")
    infos = access.visible_runs(cached.list_runs())  # this browser's own runs first
    if not infos:
        st.info("No runs yet.")
        progress.default_run_button("Train the default run (a few seconds on CPU)", "default_run_train")
        return
    pinned = cached.pinned_run()
    chosen = _table(infos, pinned)
    single = chosen[0] if len(chosen) == 1 and chosen[0].ok else None
    _buttons(chosen, single, pinned)
    if single is not None and access.refusal(access.RENAME, single.owner) is None:
        _rename(single)
    if access.refusal(access.SHARING) is None:
        _sharing()
    _active_run(infos)


def _reported_mse(info: RunInfo) -> str | None:
    """'0.813 (lesson)' for a run trained with a preset that reported a validation MSE."""
    reported = reported_by_preset(info)
    return f"{reported[1]} ({reported[0]})" if reported else None


def _table(infos: list[RunInfo], pinned: str | None) -> list[RunInfo]:
    """The history table; returns the runs selected in it.

    A selection is a list of row positions. When the list of runs changed since the table was last drawn (another
    tab or a visitor's training saved, deleted or renamed one), the same positions are other runs: the selection is
    dropped, and said, so that a button never acts on a run nobody selected."""
    ids = [info.run_id for info in infos]
    if st.session_state.get(_SHOWN_IDS) not in (None, ids) and st.session_state.get(_TABLE_KEY) is not None:
        del st.session_state[_TABLE_KEY]
        st.caption("The list of runs changed since you selected: select again.")
    st.session_state[_SHOWN_IDS] = ids
    who = access.caller()
    rows = []
    for info in infos:
        cfg, m = info.config or {}, info.metrics or {}
        verdict = baseline_verdict(m, cfg) if info.ok else None
        # the key columns first, the verdict beside the RMSE it judges: all seen without scrolling at 1024 px
        rows.append({"run": info.run_id, "model": info.model if info.ok else "unreadable", "RMSE": m.get("rmse"),
                     "vs baselines": verdict.short if verdict else "",
                     "nDCG@10": m.get("ndcg10"), "most popular": m.get("baseline_popular_ndcg10"),
                     "R@10": m.get("recall10"), "coverage": m.get("coverage10"),
                     "name": info.name,
                     "objective": cfg.get("objective", "rating") if info.ok and cfg else None,
                     "split": m.get("split"),
                     "owner": access.owner_word(info, who),
                     "factors": cfg.get("n_factors"), "epochs": cfg.get("epochs"), "lr": cfg.get("lr"),
                     "wd": cfg.get("weight_decay"), "batch": cfg.get("batch_size"),
                     "MSE": m.get("mse"), "reported MSE": _reported_mse(info),
                     "bias baseline": m.get("baseline_bias_rmse"),
                     "mean baseline": m.get("baseline_global_mean_rmse"), "fit s": m.get("fit_seconds"),
                     "device": m.get("device"), "dataset": info.dataset, "created": info.created,
                     "default": "📌" if info.run_id == pinned else "", "problem": clean(info.reason) or None})
    event = st.dataframe(pd.DataFrame(rows), hide_index=True, placeholder=MISSING,
                         key=_TABLE_KEY, on_select="rerun", selection_mode="multi-row",
                         column_config={c: st.column_config.NumberColumn(format="%.4f") for c in
                                        ("RMSE", "MSE", "bias baseline", "mean baseline")} | {
                             "nDCG@10": st.column_config.NumberColumn(format="%.3f", help=NDCG_HELP),
                             "most popular": st.column_config.NumberColumn(
                                 format="%.3f", help="nDCG@10 of recommending the most rated items to everyone, on "
                                                     "the same split: the baseline a ranking must beat."),
                             "R@10": st.column_config.NumberColumn(format="%.3f", help="Share of each user's "
                                                                   "held-out items in their top 10, averaged."),
                             "coverage": st.column_config.NumberColumn(format="percent", help="Share of the "
                                                                       "catalogue in anyone's top 10."),
                             "fit s": st.column_config.NumberColumn(format="%.2f"),
                             "vs baselines": st.column_config.TextColumn(help=VERDICT_HELP),
                             "lr": st.column_config.NumberColumn(format="%.4g")})
    return [infos[i] for i in event.selection.rows if i < len(infos)]


def _buttons(chosen: list[RunInfo], single: RunInfo | None, pinned: str | None) -> None:
    who = access.caller()
    not_allowed = [reason for reason in (access.refusal(access.DELETE, info.owner, who) for info in chosen)
                   if reason]
    pin_refused = access.refusal(access.PIN, who=who)
    b1, b2, b3 = st.columns([1, 1.1, 1.3])
    if b1.button("Make active", key="make_active", disabled=single is None):
        state.request_active_run(single.run_id)
        st.rerun()
    if b2.button(f"Delete {len(chosen)} selected" if chosen else "Delete selected", key="delete_runs",
                 disabled=not chosen or bool(not_allowed), help=not_allowed[0] if not_allowed else None):
        deleted, failures = run_actions.delete(chosen)
        if deleted:
            state.notice_success(f"Deleted {len(deleted)} run(s).")
        for failure in failures:  # kept for the next run: a success notice must not hide a failure
            state.notice(f"Could not delete {failure}", "error")
        st.rerun()
    if pin_refused is None and b3.button(
            "Unpin the default" if single is not None and single.run_id == pinned else "Pin as the default",
            key="pin_run", disabled=single is None,
            help="The run new visitors see first (an operator's COLLAB_DEFAULT_RUN takes precedence)."):
        try:
            run_actions.pin(None if single.run_id == pinned else single.run_id)
            state.notice_success(f"New visitors now see {md(run_label(single))} first." if single.run_id != pinned
                                 else "No run is pinned now: new visitors see the best run on the built-in data.")
        except CollabError as exc:
            state.notice(f"Could not pin the run: {said(exc)}", "error")
        st.rerun()
    reason = not_allowed[0] if not_allowed else pin_refused
    if reason:
        st.caption(md(reason))


def _rename(single: RunInfo) -> None:
    with st.form("rename_run", border=False):
        n1, n2 = st.columns([3, 1], vertical_alignment="bottom")
        name = n1.text_input("Name of the selected run", value=single.name, max_chars=80, key="run_name")
        if n2.form_submit_button("Rename"):
            try:
                run_actions.rename(single, name)
                state.notice_success(f"Run {md(single.run_id)} is now called {md(name) or 'nothing'}.")
            except CollabError as exc:
                state.notice(f"Could not rename the run: {said(exc)}", "error")
            st.rerun()


def _sharing() -> None:
    """The host's switch: whether visitors see each other's runs."""
    shared = cached.visitor_runs_shared()
    if st.toggle("Visitors see each other's runs", value=shared, key="share_visitor_runs",
                 help="Off: a visitor sees the host's runs and their own only.") != shared:
        try:
            run_actions.share_visitor_runs(not shared)
        except CollabError as exc:
            state.notice(f"Could not change what visitors see: {said(exc)}", "error")
        st.rerun()


def _active_run(infos: list[RunInfo]) -> None:
    """The active run's loss curves, and the lesson's figure beside its own when it was trained with the lesson's
    settings."""
    active = state.active_run()
    if active is not None and active.trained.imported:
        st.caption(f"Active run {md(active.run_id)} is imported (from {md(active.trained.dataset)}): it has no "
                   f"training settings, no loss history and no validation score.")
        return
    if active is None:
        return
    note = preset_note(next((info for info in infos if info.run_id == active.run_id), None))
    if note and active.trained.metrics.get("mse") is not None:
        s1, s2, s3 = st.columns([1, 1, 3])
        s1.metric("Validation MSE", f"{active.trained.metrics['mse']:.4f}",
                  delta=f"{active.trained.metrics['mse'] - LESSON.reported_valid_mse:+.4f} vs the lesson",
                  delta_color="inverse")
        s2.metric("The lesson reported", f"{LESSON.reported_valid_mse}")
        s3.caption("The lesson indexes movies by title (1,664 titles for 1,682 ids) and its random split is not "
                   "this one, so expect a few hundredths either way, not the same figure.")
    st.caption(f"Active run {md(active.run_id)}: train vs validation loss per epoch")
    st.plotly_chart(charts.loss_curves([], active.trained.history), key="active_history")
