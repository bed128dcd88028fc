"""Train: every TrainConfig setting (drawn from its Bounds), a learning-rate finder, background training with
live loss curves and Cancel, and the run history."""
import time
from dataclasses import replace

import streamlit as st

from collab_app import access, cached, charts, navigation, progress, run_history, train_form, work
from collab_app.messages import clean, said
from collab_app.run_labels import model_name
from collab_app.text import md
from collab_core.data.nouns import item_noun
from collab_core.errors import CollabError
from collab_core.model.config import defaults_for_data
from collab_core.model.kinds import MODEL_KINDS
from collab_core.model.presets import LESSON
from collab_core.model.training import cuda_summary

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
    st.error(f"The dataset chosen for training cannot be read: {said(exc)}. Choose another on the Data page.")
    st.stop()
st.caption(f"Training data: **{md(ratings.name)}**: {ratings.n_users:,} users, "
           f"{md(item_noun(ratings.name).count(ratings.n_items))}, {ratings.n_ratings:,} ratings (change it on the "
           f"Data page).")
train_refused = access.refusal(access.TRAIN)
if train_refused is not None:  # a visitor of a demo: the runs to explore, no training
    st.info(md(train_refused), icon=":material/visibility:")
    run_history.draw()
    st.stop()

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
objective = train_form.objective(model, remember_form)  # rating values, or which items each user picks
# The measured defaults for this data's size and objective (collab_core.model.config.defaults_for_data), with why
sized = defaults_for_data(ratings, model, objective=objective)
defaults = sized.config
if defaults.kind.bounded:
    defaults = replace(defaults, y_range=ratings.suggested_y_range())
if train_form.init(model, defaults):
    st.info("The settings below were reset to the defaults for this training data and objective.",
            icon=":material/restart_alt:")
    remember_form()  # the refilled form, with the defaults it came from: a reload finds them and says nothing
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
        st.error(f"Cannot train: {said(exc)}", icon=":material/error:")
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
            progress.submit_lr_find(ratings, split(), form_config())
        except CollabError as exc:
            st.error(f"Cannot run the lr finder: {said(exc)}")

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

run_history.draw()
