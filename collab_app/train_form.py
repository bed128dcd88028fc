"""The Train page's settings form, drawn from TrainConfig's fields and their Bounds (collab_core.model.config), so a
setting added to TrainConfig appears on the page with the same label, limits and help as validate() uses.

Each model kind keeps its own copy of the settings (widget keys `p_tr_<model>_<field>`), so switching model
shows that model's measured defaults or what the person last typed for it.
"""
from __future__ import annotations

from dataclasses import fields

import streamlit as st

from collab_core.model.config import Bounds, TrainConfig, parse_layers

# The random split is not a training setting (it is part of the data), but it is set on the same form.
SPLIT_KINDS = {"random": "random ratings", "per user": "per user, at random", "per user, latest": "per user, latest"}
SPLIT = {"split_kind": ("random", Bounds("choice", "Held out", choices=tuple(SPLIT_KINDS),
                                         help="Random ratings (the lesson's split); the same share of each user's "
                                              "ratings at random (the ranking protocol: every user is judged); or "
                                              "each user's latest ratings (needs timestamps: the built-in data).")),
         "valid_frac": (0.1, Bounds("real", "Validation fraction", 0, 1, open_low=True, open_high=True,
                                    help="Share of the ratings held out to score the model.")),
         "split_seed": (42, Bounds("whole", "Split seed", 0, 2**31 - 1, help="Seeds which ratings are held out."))}
# How numbers read on the form (presentation only; the limits come from Bounds).
FORMATS = {"lr": ("%.5f", 1e-3), "weight_decay": ("%.3f", 0.05), "bias_weight_decay": ("%.3f", 0.01),
           "pct_start": ("%.2f", 0.05), "nn_dropout": ("%.2f", 0.05), "valid_frac": ("%.2f", 0.05)}
OPEN_END = 1e-6  # how far inside an excluded end a number box stops
LARGEST_BOX_NUMBER = 2**31 - 1  # a browser's number box loses precision far below int64's end
COLUMNS = 3  # at 1024 px wide with the sidebar open, four columns cut labels ("One-cycle schedule") and values


PREFIX = "p_tr_"  # every widget of the form, and the model chosen above it


def values() -> dict:
    """Everything the form holds (each model's settings, the model chosen), to keep across a reload."""
    return {k: v for k, v in st.session_state.items() if isinstance(k, str) and k.startswith(PREFIX)}


def restore(kept: dict) -> None:
    """Put back what `values()` returned in an earlier session, before the widgets are drawn: what this session
    already holds wins."""
    for name, value in kept.items():
        st.session_state.setdefault(name, value)


def key(model: str, name: str) -> str:
    """One widget per model and setting, so each model keeps its own settings."""
    return f"{PREFIX}{model}_{name}"


ABOVE_THE_FORM = ("model", "objective")  # chosen outside the form: a change reruns the page and picks new defaults
OBJECTIVE_KEY = f"{PREFIX}objective"
OBJECTIVE_WORDS = {"rating": "Predict ratings", "ranking": "Rank items"}


def settings_fields(model: str) -> list:
    """TrainConfig's fields shown in the form for `model`."""
    return [f for f in fields(TrainConfig) if f.name not in ABOVE_THE_FORM and model in f.metadata["bounds"].models]


def objective(model: str, on_change) -> str:
    """The objective control above the form, for the models that have one ("rating" for the others). Outside the
    form on purpose: a form sends nothing until Train, and the other objective needs other defaults at once (the
    ranking objective with the rating defaults recommends worse than "most popular")."""
    spec = next(f for f in fields(TrainConfig) if f.name == "objective").metadata["bounds"]
    if model not in spec.models:
        return "rating"
    st.session_state.setdefault(OBJECTIVE_KEY, "rating")
    return st.segmented_control(spec.label, list(spec.choices), key=OBJECTIVE_KEY, required=True,
                                format_func=OBJECTIVE_WORDS.get, on_change=on_change, help=spec.help)


def init(model: str, defaults: TrainConfig) -> bool:
    """Give every widget of `model` its default once per session, and again when the defaults themselves change
    (another dataset: its size picks other settings, its ratings another y_range). Returns True then, so the
    page can say why the settings moved."""
    marker = key(model, "defaults")  # the defaults the widgets were last filled from
    changed = marker in st.session_state and st.session_state[marker] != defaults
    if changed:
        _clear(model)
    st.session_state[marker] = defaults
    _set_widgets(model, defaults)
    return changed


def fill(config: TrainConfig, valid_frac: float, split_seed: int | None = None) -> None:
    """Put every setting of `config` (and the split) into its model's widgets, and select that model: an
    on_click callback, so it runs before the form is drawn (the lesson preset's button)."""
    model = config.model
    st.session_state["p_tr_model"] = model
    st.session_state[OBJECTIVE_KEY] = config.objective
    _clear(model)
    _set_widgets(model, config)
    st.session_state[key(model, "split_kind")] = "random"  # the presets' splits (the lesson's) are random
    st.session_state[key(model, "valid_frac")] = float(valid_frac)
    if split_seed is not None:
        st.session_state[key(model, "split_seed")] = int(split_seed)


def _clear(model: str) -> None:
    """Forget `model`'s settings (not the split: that belongs to the data, not to the defaults)."""
    for spec in settings_fields(model):
        st.session_state.pop(key(model, spec.name), None)
    st.session_state.pop(key(model, "y_low"), None)
    st.session_state.pop(key(model, "y_high"), None)


def _set_widgets(model: str, defaults: TrainConfig) -> None:
    """Give each of `model`'s widgets that has no value yet its value in `defaults`."""
    for spec in settings_fields(model):
        value = getattr(defaults, spec.name)
        if spec.name == "y_range":
            st.session_state.setdefault(key(model, "y_low"), float(value[0]))
            st.session_state.setdefault(key(model, "y_high"), float(value[1]))
        elif spec.name == "nn_layers":
            st.session_state.setdefault(key(model, spec.name), ",".join(str(v) for v in value))
        elif spec.name == "seed":
            st.session_state.setdefault(key(model, spec.name), int(value) if value is not None else 0)
        elif spec.name == "nn_item_factors":
            st.session_state.setdefault(key(model, spec.name), int(value or defaults.n_factors))
        else:
            st.session_state.setdefault(key(model, spec.name), value)
    for name, (default, _) in SPLIT.items():
        st.session_state.setdefault(key(model, name), default)


def draw(model: str, device_help: str) -> bool:
    """The form; returns True when it was submitted."""
    with st.form("train_form"):
        items = []
        for spec in settings_fields(model):  # y_range takes two cells: its two ends, each with a whole label
            names = ("y_low", "y_high") if spec.name == "y_range" else (spec.name,)
            items += [(name, spec.metadata["bounds"]) for name in names]
        items += [(name, bounds) for name, (_, bounds) in SPLIT.items()]
        columns = []
        for i, (name, bounds) in enumerate(items):
            if i % COLUMNS == 0:
                columns = st.columns(COLUMNS)
            _widget(columns[i % COLUMNS], model, name, bounds, device_help)
        return st.form_submit_button("Train", type="primary", icon=":material/play_arrow:")


def _widget(where, model: str, name: str, bounds: Bounds, device_help: str) -> None:
    widget_key = key(model, name)
    if name in ("y_low", "y_high"):
        where.number_input(f"y_range {name[2:]}", -1e6, 1e6, key=widget_key, format="%.2f", help=bounds.help)
    elif name == "device":
        where.selectbox(bounds.label, ["auto", "cpu", "cuda"], key=widget_key, help=f"{bounds.help} {device_help}")
    elif name == "nn_layers":
        where.text_input(bounds.label, key=widget_key, help=bounds.help)
    elif name == "split_kind":
        where.selectbox(bounds.label, list(bounds.choices), key=widget_key, help=bounds.help,
                        format_func=SPLIT_KINDS.get)
    elif bounds.kind == "choice":
        where.selectbox(bounds.label, list(bounds.choices), key=widget_key, help=bounds.help)
    elif bounds.kind == "flag":
        where.checkbox(bounds.label, key=widget_key, help=bounds.help)
    elif bounds.kind == "whole":
        where.number_input(bounds.label, int(bounds.low), int(min(bounds.high, LARGEST_BOX_NUMBER)), key=widget_key,
                           help=bounds.help)
    else:
        number_format, step = FORMATS.get(name, ("%.4f", None))
        where.number_input(bounds.label, float(bounds.low + (OPEN_END if bounds.open_low else 0)),
                           float(bounds.high - (OPEN_END if bounds.open_high else 0)), key=widget_key,
                           format=number_format, step=step, help=bounds.help)


def config(model: str, defaults: TrainConfig) -> TrainConfig:
    """The TrainConfig the form holds (settings the model does not use keep `defaults`), validated."""
    values = {}
    for spec in settings_fields(model):
        if spec.name == "y_range":
            values["y_range"] = (float(st.session_state[key(model, "y_low")]),
                                 float(st.session_state[key(model, "y_high")]))
        elif spec.name == "nn_layers":
            values["nn_layers"] = parse_layers(st.session_state[key(model, spec.name)])
        else:
            values[spec.name] = st.session_state[key(model, spec.name)]
    return TrainConfig(**{**defaults.to_dict(), **values, "model": model}).validate()


def split_settings(model: str) -> tuple[str, float, int]:
    """(how ratings are held out, validation fraction, split seed) from the form."""
    return (str(st.session_state[key(model, "split_kind")]), float(st.session_state[key(model, "valid_frac")]),
            int(st.session_state[key(model, "split_seed")]))
