"""Train: every TrainConfig setting (drawn from its Bounds), a learning-rate finder, background training with
live loss curves and Cancel, and the run history."""
import time
from dataclasses import replace

import pandas as pd
import streamlit as st

from collab_app import browser, cached, charts, navigation, progress, services, state, train_form, work
from collab_app.messages import clean
from collab_app.run_labels import model_name, preset_note, reported_by_preset, run_label
from collab_app.text import MISSING, md
from collab_core.data.nouns import item_noun
from collab_core.errors import CollabError
from collab_core.model.config import defaults_for_data
from collab_core.model.kinds import MODEL_KINDS, kind_named
from collab_core.model.presets import LESSON
from collab_core.model.training import cuda_summary
from collab_core.model.verdict import VERDICT_HELP, baseline_verdict

DOUBLE_CLICK_SECONDS = 3  # a second press of Train with the same settings this soon is the same press
navigation.ensure_frame()
st.title("Train")


def remember_form() -> None:
    """Keep the form's values for this browser (collab_app.work): when the person changes them, not on every run."""
    work.remember("train_form", train_form.values())


spec = work.dataset()
try:
    ratings, _ = cached.load_dataset(spec)
except CollabError as exc:
    st.error(f"The dataset chosen for training cannot be read: {md(exc)}. Choose another on the Data page.")
    st.stop()
st.caption(f"Training data: **{md(ratings.name)}**: {ratings.n_users:,} users, "
           f"{md(item_noun(ratings.name).count(ratings.n_items))}, {ratings.n_ratings:,} ratings (change it on the "
           f"Data page).")

with st.container(border=True):  # study groups: the fast.ai lesson's run, one click away
    st.markdown(
        f"**The fast.ai lesson's settings**: {LESSON.config.n_factors} factors, y_range "
        f"({LESSON.config.y_range[0]:g}, {LESSON.config.y_range[1]:g}), weight decay {LESSON.config.weight_decay:g} "
        f"on everything, {LESSON.config.epochs} epochs of one-cycle at lr {LESSON.config.lr:g}, batch "
        f"{LESSON.config.batch_size}, {LESSON.valid_frac:.0%} held out. The lesson "
        f"reported a validation MSE of {LESSON.reported_valid_mse}; a run trained with exactly these settings on "
        f"{md(LESSON.dataset)} shows it beside its own.")
    st.button("Use the lesson's settings", key="lesson_preset", icon=":material/school:",
              on_click=lambda: (train_form.fill(LESSON.config, LESSON.valid_frac, 42), remember_form()))
    if ratings.name != LESSON.dataset:
        st.caption(f"Training data here is {md(ratings.name)}: the lesson's figure is for {md(LESSON.dataset)}.")
train_form.restore(work.recall("train_form", {}))  # what this browser typed before a reload
st.session_state.setdefault("p_tr_model", "dot_bias")
model = st.segmented_control("Model", list(MODEL_KINDS), key="p_tr_model", required=True,
                             format_func=model_name, on_change=remember_form)
# The measured defaults for this data's size (collab_core.model.config.defaults_for_data), said with the reason
sized = defaults_for_data(ratings, model)
defaults = sized.config
if kind_named(model).bounded:
    defaults = replace(defaults, y_range=ratings.suggested_y_range())
if train_form.init(model, defaults):
    st.info("The settings below were reset to the defaults for this training data.", icon=":material/restart_alt:")
st.caption(f"The settings below start from the defaults measured for data of this size ({ratings.n_ratings:,} "
           f"ratings).", help=f"{md(sized.reason)}.")
gpu = cuda_summary()
device_help = (f"CUDA available: {', '.join(gpu['gpus'])}" if gpu["cuda_available"]
               else "No CUDA GPU here: training runs on the CPU.")
st.caption(("🟢 " if gpu["cuda_available"] else "⚪ ") + md(device_help))
submitted = train_form.draw(model, device_help)


def form_config():
    config = train_form.config(model, defaults)
    if config.device.startswith("cuda") and not gpu["cuda_available"]:
        st.warning("CUDA was chosen but no GPU is available: training on the CPU instead.", icon=":material/memory:")
        config = replace(config, device="cpu")
    return config


def split():
    return cached.split_for(spec, *train_form.split_settings(model))


job = progress.current_training()
if submitted:
    remember_form()  # what the person sent, for a reload: a tab merely showing the form does not overwrite it
    try:
        if job is not None and job.active and time.time() - job.created < DOUBLE_CLICK_SECONDS \
                and job.config == form_config():
            pass  # the same Train pressed twice: one training, and nothing to say about it
        elif job is not None and job.active:
            st.warning("A training of yours is still running (in this tab or another); cancel it or wait for it "
                       "to finish.")
        else:
            progress.submit_training(ratings, split(), form_config())
    except CollabError as exc:
        st.error(f"Cannot train: {md(exc)}", icon=":material/error:")
progress.show_training()
job = progress.current_training()
if job is not None and job.status == "failed" and job.device_failure:
    st.error(f"Training on {md(job.config.device)} failed: {md(clean(job.error))}", icon=":material/memory:")
    if st.button("Train the same settings on the CPU", key="retry_cpu", type="primary"):
        progress.submit_training(ratings, split(), replace(job.config, device="cpu"))
        st.rerun()

with st.expander("Learning-rate finder", expanded=False):
    st.caption("Trains a throw-away copy of the model for 100 batches while the learning rate grows from 1e-6 to 1; "
               "the suggestion is a tenth of the rate at the lowest loss. It runs in the background, like training.")
    if st.button("Find a learning rate", key="lr_find"):
        try:
            config = form_config()
            found = services.training_service().find_lr(ratings, split(), config, browser.owner())
            work.file(work.LR_FINDER, f"{model_name(config.model)} on {ratings.name}", found)
        except CollabError as exc:
            st.error(f"Cannot run the lr finder: {md(exc)}")

    @st.fragment(run_every=1.0)
    def sweeping():
        """Polls while the sweep runs; redraws the page once it has ended (the result is drawn outside)."""
        sweep = work.latest(work.LR_FINDER)
        if sweep is None or not sweep.active:
            st.rerun(scope="app")
        st.info("Sweeping learning rates ..." if sweep.task.status == "running" else "Queued behind a training ...",
                icon=":material/hourglass_top:")

    # drawn outside the fragment once done: the "Use suggested lr" button then reruns the whole page, the form
    # included, in the run that follows its click
    sweep = work.latest(work.LR_FINDER)
    if sweep is not None and sweep.active:
        sweeping()
    elif sweep is not None and sweep.task.status == "failed":
        st.error(f"The lr finder failed: {md(clean(sweep.task.error))}")
    elif sweep is not None and sweep.task.status == "done":
        found = sweep.task.result
        st.plotly_chart(charts.lr_finder(found.lrs, found.losses, found.suggested_lr), key="lr_plot")

        def use_suggested():
            st.session_state[train_form.key(sweep.task.config.model, "lr")] = float(found.suggested_lr)
            remember_form()

        st.button(f"Use suggested lr {found.suggested_lr:.2g}", key="use_lr", on_click=use_suggested)

st.subheader("Run history")
infos = cached.list_runs()
if not infos:
    st.info("No runs yet.")
    progress.default_run_button("Train the default run (a few seconds on CPU)", "default_run_train")
    st.stop()
pinned = cached.store().pinned()


def reported_mse(info) -> str | None:
    """'0.813 (lesson)' for a run trained with a preset that reported a validation MSE."""
    reported = reported_by_preset(info)
    return f"{reported[1]} ({reported[0]})" if reported else None


rows = []
for info in infos:
    cfg, m = info.config or {}, info.metrics or {}
    verdict = baseline_verdict(m, cfg) if info.ok else None
    # the key columns first, the verdict beside the RMSE it judges: all seen without scrolling at 1024 px
    rows.append({"run": info.run_id, "model": info.model if info.ok else "unreadable", "RMSE": m.get("rmse"),
                 "vs baselines": verdict.short if verdict else "", "name": info.name,
                 "factors": cfg.get("n_factors"), "epochs": cfg.get("epochs"), "lr": cfg.get("lr"),
                 "wd": cfg.get("weight_decay"), "batch": cfg.get("batch_size"),
                 "MSE": m.get("mse"), "reported MSE": reported_mse(info), "bias baseline": m.get("baseline_bias_rmse"),
                 "mean baseline": m.get("baseline_global_mean_rmse"), "fit s": m.get("fit_seconds"),
                 "device": m.get("device"), "dataset": info.dataset, "created": info.created,
                 "default": "📌" if info.run_id == pinned else "", "problem": info.reason or None})
history = pd.DataFrame(rows)
event = st.dataframe(history, hide_index=True, placeholder=MISSING,
                     key="runs_table", on_select="rerun", selection_mode="multi-row",
                     column_config={c: st.column_config.NumberColumn(format="%.4f") for c in
                                    ("RMSE", "MSE", "bias baseline", "mean baseline")} | {
                         "fit s": st.column_config.NumberColumn(format="%.2f"),
                         "vs baselines": st.column_config.TextColumn(help=VERDICT_HELP),
                         "lr": st.column_config.NumberColumn(format="%.4g")})
chosen = [infos[i] for i in event.selection.rows if i < len(infos)]
single = chosen[0] if len(chosen) == 1 and chosen[0].ok else None
b1, b2, b3 = st.columns([1, 1.1, 1.3])
if b1.button("Make active", key="make_active", disabled=single is None):
    state.request_active_run(single.run_id)
    st.rerun()
if b2.button(f"Delete {len(chosen)} selected" if chosen else "Delete selected", key="delete_runs", disabled=not chosen):
    deleted, failures = [], []
    for info in chosen:
        try:
            cached.store().delete(info.run_id)
            deleted.append(info.run_id)
        except CollabError as exc:
            failures.append(f"{md(info.run_id)}: {md(exc)}")
    if deleted:
        state.notice_success(f"Deleted {len(deleted)} run(s).")
    for failure in failures:  # kept for the next run: a success notice must not hide a failure
        state.notice(f"Could not delete {failure}", "error")
    st.rerun()
if b3.button("Unpin the default" if single is not None and single.run_id == pinned else "Pin as the default",
             key="pin_run", disabled=single is None,
             help="The run new visitors see first (an operator's COLLAB_DEFAULT_RUN takes precedence)."):
    try:
        cached.store().pin(None if single.run_id == pinned else single.run_id)
        state.notice_success(f"New visitors now see {md(run_label(single))} first." if single.run_id != pinned
                             else "No run is pinned now: new visitors see the best run on the built-in data.")
    except CollabError as exc:
        state.notice(f"Could not pin the run: {md(exc)}", "error")
    st.rerun()
if single is not None:
    with st.form("rename_run", border=False):
        n1, n2 = st.columns([3, 1], vertical_alignment="bottom")
        name = n1.text_input("Name of the selected run", value=single.name, max_chars=80, key="run_name")
        if n2.form_submit_button("Rename"):
            try:
                cached.store().rename(single.run_id, name)
                state.notice_success(f"Run {md(single.run_id)} is now called {md(name) or 'nothing'}.")
            except CollabError as exc:
                state.notice(f"Could not rename the run: {md(exc)}", "error")
            st.rerun()
active = state.active_run()
if active is not None and active.trained.imported:
    st.caption(f"Active run {md(active.run_id)} is imported (from {md(active.trained.dataset)}): it has no training "
               f"settings, no loss history and no validation score.")
elif active is not None:
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
