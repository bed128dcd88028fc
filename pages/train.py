"""Train: every hyperparameter of TrainConfig, a learning-rate finder, background training with live
loss curves and Cancel, and the run history."""
from dataclasses import replace

import pandas as pd
import streamlit as st

from collab_app import cached, charts, services, state, ui
from collab_core.config import OPTIMIZERS, TrainConfig, default_config
from collab_core.errors import CollabError, ConfigError
from collab_core.models import MODEL_KINDS
from collab_core.training import cuda_summary, lr_find

ui.ensure_frame()
state.to_url()  # this page owns no URL options; keep only the run
st.title("Train")
MODEL_NAMES = {"dot_bias": "EmbeddingDotBias", "dot": "EmbeddingDot (no bias)", "nn": "EmbeddingNN (MLP)"}
spec = st.session_state.get(state.DATASET, cached.DatasetSpec())
try:
    ratings, _ = cached.load_dataset(spec)
except CollabError as exc:
    st.error(f"The active dataset cannot be read: {exc}. Choose another on the Data page.")
    st.stop()
st.caption(f"Dataset: **{ratings.name}**: {ratings.n_users:,} users, {ratings.n_items:,} items, "
           f"{ratings.n_ratings:,} ratings (change it on the Data page).")

st.session_state.setdefault("p_tr_model", "dot_bias")
model = st.segmented_control("Model", list(MODEL_KINDS), key="p_tr_model", required=True, format_func=MODEL_NAMES.get)
defaults = default_config(model)
if model == "dot_bias" or model == "nn":
    defaults = replace(defaults, y_range=ratings.suggested_y_range())


def key(field: str) -> str:
    """One widget per model and field, so each model keeps its own settings."""
    return f"p_tr_{model}_{field}"


for field, value in {**defaults.to_dict(), "valid_frac": 0.1, "split_seed": 42}.items():
    if field == "y_range":
        st.session_state.setdefault(key("y_low"), float(value[0]))
        st.session_state.setdefault(key("y_high"), float(value[1]))
    elif field == "nn_layers":
        st.session_state.setdefault(key(field), ",".join(str(v) for v in value))
    elif field == "seed":
        st.session_state.setdefault(key(field), int(value) if value is not None else 0)
    elif field == "nn_item_factors":
        st.session_state.setdefault(key(field), int(value or defaults.n_factors))
    else:
        st.session_state.setdefault(key(field), value)

gpu = cuda_summary()
with st.form("train_form"):
    c = st.columns(4)
    c[0].number_input("Factors (embedding width)", 1, 4096, key=key("n_factors"),
                      help="For the MLP: the user embedding width.")
    c[1].number_input("Epochs", 1, 10_000, key=key("epochs"))
    c[2].number_input("Learning rate (peak)", 1e-6, 10.0, key=key("lr"), format="%.5f", step=1e-3)
    c[3].number_input("Batch size", 1, 1 << 24, key=key("batch_size"))
    c = st.columns(4)
    c[0].number_input("Weight decay (factors)", 0.0, 100.0, key=key("weight_decay"), format="%.3f", step=0.05)
    c[1].number_input("Weight decay (biases, layers)", 0.0, 100.0, key=key("bias_weight_decay"), format="%.3f", step=0.01)
    c[2].selectbox("Optimiser", OPTIMIZERS, key=key("optimizer"))
    c[3].number_input("Seed", 0, 2**31 - 1, key=key("seed"))
    c = st.columns(4)
    c[0].number_input("y_range low", -1e6, 1e6, key=key("y_low"), disabled=model == "dot", format="%.2f")
    c[1].number_input("y_range high", -1e6, 1e6, key=key("y_high"), disabled=model == "dot", format="%.2f",
                      help="A little wider than the ratings: a sigmoid only reaches its ends at infinity.")
    c[2].checkbox("One-cycle schedule", key=key("one_cycle"))
    c[3].number_input("Warm-up fraction", 0.01, 0.99, key=key("pct_start"), format="%.2f")
    c = st.columns(4)
    c[0].number_input("Validation fraction", 0.01, 0.9, key=key("valid_frac"), format="%.2f")
    c[1].number_input("Split seed", 0, 2**31 - 1, key=key("split_seed"))
    device_help = (f"CUDA available: {', '.join(gpu['gpus'])}" if gpu["cuda_available"]
                   else "No CUDA GPU here: training runs on the CPU.")
    c[2].selectbox("Device", ["auto", "cpu", "cuda"], key=key("device"), help=device_help)
    c[3].caption(("🟢 " if gpu["cuda_available"] else "⚪ ") + device_help)
    if model == "nn":
        c = st.columns(3)
        c[0].text_input("Hidden layers (comma-separated widths)", key=key("nn_layers"))
        c[1].number_input("Dropout", 0.0, 0.99, key=key("nn_dropout"), format="%.2f")
        c[2].number_input("Item embedding width", 1, 4096, key=key("nn_item_factors"))
    submitted = st.form_submit_button("Train", type="primary", icon=":material/play_arrow:")


def config_from_widgets() -> TrainConfig:
    s = st.session_state
    try:
        layers = tuple(int(w) for w in str(s[key("nn_layers")]).split(",") if w.strip())
    except ValueError:
        raise ConfigError(f"hidden layers must be comma-separated whole numbers, got {s[key('nn_layers')]!r}") from None
    return TrainConfig(
        model=model, n_factors=int(s[key("n_factors")]), y_range=(float(s[key("y_low")]), float(s[key("y_high")])),
        epochs=int(s[key("epochs")]), lr=float(s[key("lr")]), batch_size=int(s[key("batch_size")]),
        weight_decay=float(s[key("weight_decay")]), bias_weight_decay=float(s[key("bias_weight_decay")]),
        optimizer=s[key("optimizer")], one_cycle=bool(s[key("one_cycle")]), pct_start=float(s[key("pct_start")]),
        seed=int(s[key("seed")]), device=s[key("device")], nn_layers=layers,
        nn_dropout=float(s[key("nn_dropout")]), nn_item_factors=int(s[key("nn_item_factors")]),
    ).validate()


def with_available_device(config: TrainConfig) -> TrainConfig:
    if config.device.startswith("cuda") and not gpu["cuda_available"]:
        st.warning("CUDA was chosen but no GPU is available: training on the CPU instead.", icon=":material/memory:")
        return replace(config, device="cpu")
    return config


def split():
    return cached.split_for(spec, float(st.session_state[key("valid_frac")]), int(st.session_state[key("split_seed")]))


job = services.training_queue().get(st.session_state.get(state.JOB_ID))
if submitted:
    try:
        config = with_available_device(config_from_widgets())
        if job is not None and job.active:
            st.warning("A training of yours is still running; cancel it or wait for it to finish.")
        else:
            ui.submit(ratings, split(), config)
    except CollabError as exc:
        st.error(f"Cannot train: {exc}", icon=":material/error:")
ui.job_progress()
job = services.training_queue().get(st.session_state.get(state.JOB_ID))
if job is not None and job.status == "failed" and job.device_failure:
    st.error(f"Training on {job.config.device} failed: {job.error}", icon=":material/memory:")
    if st.button("Train the same settings on the CPU", key="retry_cpu", type="primary"):
        ui.submit(ratings, split(), replace(job.config, device="cpu"))
        st.rerun()

with st.expander("Learning-rate finder", expanded=False):
    st.caption("Trains a throw-away copy of the model for 100 batches while the learning rate grows from 1e-6 to 1; "
               "the suggestion is a tenth of the rate at the lowest loss.")

    def use_suggested():
        st.session_state[key("lr")] = float(st.session_state["_lr_found"][model].suggested_lr)

    if st.button("Find a learning rate", key="lr_find"):
        try:
            with st.spinner("Sweeping learning rates ..."):
                found = lr_find(ratings, split(), with_available_device(config_from_widgets()))
            st.session_state.setdefault("_lr_found", {})[model] = found
        except CollabError as exc:
            st.error(f"Cannot run the lr finder: {exc}")
    found = st.session_state.get("_lr_found", {}).get(model)
    if found is not None:
        st.plotly_chart(charts.lr_finder(found.lrs, found.losses, found.suggested_lr), key="lr_plot")
        st.button(f"Use suggested lr {found.suggested_lr:.2g}", key="use_lr", on_click=use_suggested)

st.subheader("Run history")
infos = cached.list_runs()
if not infos:
    st.info("No runs yet.")
    if st.button("Train the default run (a few seconds on CPU)", key="default_run_train"):
        ui.start_default_run()
        st.rerun()
    st.stop()
rows = []
for info in infos:
    cfg, m = info.config or {}, info.metrics or {}
    rows.append({"run": info.run_id, "model": info.model if info.ok else "unreadable",
                 "factors": cfg.get("n_factors"), "epochs": cfg.get("epochs"), "lr": cfg.get("lr"),
                 "wd": cfg.get("weight_decay"), "batch": cfg.get("batch_size"), "RMSE": m.get("rmse"),
                 "bias baseline": m.get("baseline_bias_rmse"), "mean baseline": m.get("baseline_global_mean_rmse"),
                 "fit s": m.get("fit_seconds"), "device": m.get("device"), "dataset": info.dataset,
                 "created": info.created, "problem": info.reason or None})
history = pd.DataFrame(rows)
event = st.dataframe(history, hide_index=True, key="runs_table", on_select="rerun", selection_mode="multi-row",
                     column_config={c: st.column_config.NumberColumn(format="%.4f") for c in
                                    ("RMSE", "bias baseline", "mean baseline")} | {
                         "fit s": st.column_config.NumberColumn(format="%.2f"),
                         "lr": st.column_config.NumberColumn(format="%.4g")})
chosen = [history.iloc[i]["run"] for i in event.selection.rows]
b1, b2, _ = st.columns([1, 1, 3])
single_readable = len(chosen) == 1 and infos[event.selection.rows[0]].ok
if b1.button("Make active", key="make_active", disabled=not single_readable):
    state.request_active_run(chosen[0])
    st.rerun()
if b2.button(f"Delete {len(chosen)} selected" if chosen else "Delete selected", key="delete_runs", disabled=not chosen):
    for run_id in chosen:
        try:
            cached.store().delete(run_id)
        except CollabError as exc:
            st.error(f"Could not delete {run_id}: {exc}")
    state.notice_success(f"Deleted {len(chosen)} run(s).")
    st.rerun()
active = st.session_state.get(state.ACTIVE_RUN)
if active:
    trained = cached.load_run(active)
    st.caption(f"Active run {active}: train vs validation loss per epoch")
    st.plotly_chart(charts.loss_curves([], trained.history), key="active_history")
