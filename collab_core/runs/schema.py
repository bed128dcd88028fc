"""What a run folder must hold, checked field by field: a run is either valid in full or refused with the reason.

A runs directory may be shared, copied by hand or damaged, so nothing read from it is trusted: every value
of run.json and vocab.json is checked for its type (a `rmse` that is text, a `created` that is a number),
every tensor of the safetensors files for its name, dtype and shape against the run's own vocabulary
(`item_counts` cut short, a weight matrix of another width), and, when a run is loaded, every weight for
being finite. Listing a run checks the cheap part (run.json and the safetensors headers, no tensor data);
loading checks the rest. Each failure raises RunStoreError naming the run, the file, the field and what
was expected.

An imported run (collab_core.runs.importer) has the same four files. Its run.json says `"imported": {dim, files,
columns}` and `"config": null`, has no loss history and no validation score; its weights are the tables of a
imported tables (item_factors, and item_bias, user_factors, user_bias when imported), checked against
the shapes `dim`, `columns` and the vocabulary imply, exactly as a trained run's are against its config. Its
counts are zero where the metadata had none, and its means may be NaN (unknown), never infinite.

A trained run's run.json also records the rating values of its data, "rating_scale" (collab_core.data.rating_values):
absent for imported runs and runs saved before it was recorded, which then load with an assumed scale.
"""
from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from collab_core.data.nouns import MAX_NOUN, Noun
from collab_core.data.rating_values import (
    MAX_CONTINUOUS_STEPS,
    MAX_DISTINCT,
    RatingScale,
    continuous_scale,
    discrete_scale,
)
from collab_core.errors import CollabError, RunStoreError
from collab_core.model.config import TrainConfig
from collab_core.model.trained import ImportInfo
from collab_core.runs.owners import HOST_OWNER, valid_owner

FORMAT_VERSION = 1
MAX_NAME_LENGTH = 80
_METRIC_TYPES = (int, float, str, type(None))
# metrics read as numbers by the app and the CLI: anything else there is refused, not shown
NUMERIC_METRICS = ("rmse", "mse", "fit_seconds", "baseline_bias_rmse", "baseline_global_mean_rmse",
                   "ratings_per_second", "n_train", "n_valid", "ndcg10", "baseline_popular_ndcg10", "valid_loss")
# valid_ndcg10: a ranking run's (collab_core.model.ranking), absent from rating runs' records
_HISTORY_NUMBERS = ("train_loss", "valid_mse", "valid_rmse", "valid_ndcg10", "elapsed")
_STATS = {"user_counts": ("I64", "n_users"), "user_means": ("F64", "n_users"),
          "item_counts": ("I64", "n_items"), "item_means": ("F64", "n_items")}
IMPORT_FILE_ROLES = ("vectors", "metadata", "user_vectors", "user_metadata")
IMPORT_COLUMN_ROLES = ("id", "title", "vectors", "genres", "year", "count", "mean_rating", "bias", "user_id",
                       "user_vectors", "user_bias")
MAX_IMPORT_DIM = 65_536
_TORCH_DTYPE_NAMES = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64", torch.float16: "F16",
                      torch.bfloat16: "BF16"}


@dataclass(frozen=True)
class RunMeta:
    """run.json, checked."""

    run_id: str
    created: str
    dataset: str
    name: str  # the person's name for the run; "" when none was given
    config: TrainConfig | None  # None for an imported run
    metrics: dict  # str -> number, text or None; NUMERIC_METRICS are numbers or None
    history: list[dict]  # one record per epoch: epoch (int) and _HISTORY_NUMBERS (number or None)
    n_users: int
    n_items: int
    imported: ImportInfo | None = None  # set for an imported run only
    rating_scale: RatingScale | None = None  # the data's rating values; None: not recorded (imported, older runs)
    owner: str = HOST_OWNER  # whose run it is (collab_core.runs.owners): absent in run.json for the host's

    def to_json(self) -> dict:
        values = {"format_version": FORMAT_VERSION, "run_id": self.run_id, "created": self.created,
                  "dataset": self.dataset, "name": self.name,
                  "config": None if self.config is None else self.config.to_dict(),
                  "metrics": self.metrics, "history": self.history, "n_users": self.n_users, "n_items": self.n_items}
        if self.imported is not None:  # trained runs' run.json stays exactly as it was
            values["imported"] = self.imported.to_json()
        if self.rating_scale is not None:  # absent, not null, when unknown: as in runs saved before it existed
            values["rating_scale"] = self.rating_scale.to_json()
        if self.owner != HOST_OWNER:  # absent: the host's, as every run saved before owners were recorded
            values["owner"] = self.owner
        return values

    @property
    def model(self) -> str:
        return "imported" if self.config is None else self.config.model


def check_name(name) -> str:
    """A run's display name: text of at most MAX_NAME_LENGTH characters without control characters."""
    if not isinstance(name, str):
        raise CollabError(f"a run name must be text, got {type(name).__name__}")
    name = " ".join(name.split())  # newlines and tabs become single spaces
    if len(name) > MAX_NAME_LENGTH:
        raise CollabError(f"a run name may have at most {MAX_NAME_LENGTH} characters, got {len(name)}")
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise CollabError("a run name may not contain control characters")
    return name


class _Checker:
    """Raises RunStoreError('run <id>: <file>: <problem>') for the first problem found."""

    def __init__(self, run_id: str, file: str):
        self.run_id, self.file = run_id, file

    def fail(self, problem: str):
        raise RunStoreError(f"run {self.run_id!r}: {self.file}: {problem}")

    def field(self, values: dict, key: str, kinds, what: str, optional: bool = False):
        if key not in values:
            if optional:
                return None
            self.fail(f"the field {key!r} is missing")
        value = values[key]
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in _as_tuple(kinds)):
            self.fail(f"{key!r} must be {what}, got {type(value).__name__} {short_repr(value)}")
        return value

    def number_or_none(self, values: dict, key: str, where: str = "") -> None:
        value = values.get(key)
        if value is None:
            return
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            self.fail(f"{where}{key!r} must be a finite number or null, got {type(value).__name__} {short_repr(value)}")


def check_meta(meta: dict, run_id: str) -> RunMeta:
    """run.json -> RunMeta, or RunStoreError saying which field is wrong."""
    check = _Checker(run_id, "run.json")
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
        raise RunStoreError(f"run {run_id!r} has format version {version!r}; this version reads {FORMAT_VERSION}. "
                            f"Retrain it")
    imported = check.field(meta, "imported", dict, "an object describing the imported files", optional=True)
    if imported is not None:
        imported = check_import_info(imported, check)
        if meta.get("config") is not None:
            check.fail("an imported run has no training settings: 'config' must be null")
        config = None
    else:
        config_values = check.field(meta, "config", dict, "an object of training settings")
        try:
            config = TrainConfig.from_dict(config_values).validate()
        except (CollabError, TypeError) as exc:
            check.fail(f"config: {exc}")
    metrics = check.field(meta, "metrics", dict, "an object", optional=True) or {}
    for key, value in metrics.items():
        if not isinstance(value, _METRIC_TYPES) or isinstance(value, bool):
            check.fail(f"metrics[{key!r}] must be a number, text or null, got {type(value).__name__}")
    for key in NUMERIC_METRICS:
        check.number_or_none(metrics, key, "metrics ")
    history = check.field(meta, "history", list, "a list of epoch records", optional=True) or []
    for i, record in enumerate(history):
        epoch = record.get("epoch") if isinstance(record, dict) else None
        if not isinstance(epoch, int) or isinstance(epoch, bool):
            check.fail(f"history[{i}] must be an object with a whole-number 'epoch'")
        for key in _HISTORY_NUMBERS:
            check.number_or_none(record, key, f"history[{i}] ")
    name = check.field(meta, "name", str, "text", optional=True) or ""
    try:
        name = check_name(name)
    except CollabError as exc:
        check.fail(str(exc))
    n_users = check.field(meta, "n_users", int, "a whole number")
    n_items = check.field(meta, "n_items", int, "a whole number")
    if imported is not None:
        _check_imported_meta(check, imported, metrics, history, n_users, n_items)
    elif n_users < 2 or n_items < 2:
        check.fail(f"a run needs at least 2 users and 2 items, got {n_users} and {n_items}")
    scale = check.field(meta, "rating_scale", dict, "an object of rating values", optional=True)
    if scale is not None:
        scale = check_recorded_scale(scale, config, check)
    owner = check.field(meta, "owner", str, "text", optional=True) or HOST_OWNER
    if not valid_owner(owner):
        check.fail(f"'owner' must be {HOST_OWNER!r} or a browser's tag (24 hex digits), got {owner[:40]!r}")
    return RunMeta(run_id=run_id, created=check.field(meta, "created", str, "an ISO date-time text"),
                   dataset=check.field(meta, "dataset", str, "text"), name=name, config=config,
                   metrics=metrics, history=history, n_users=n_users, n_items=n_items, imported=imported,
                   rating_scale=scale, owner=owner)


def check_recorded_scale(values: dict, config: TrainConfig | None, check: _Checker) -> RatingScale:
    """run.json's "rating_scale": {"values": [1 to MAX_DISTINCT increasing finite numbers]} or {"low", "high",
    "step"} of at most MAX_CONTINUOUS_STEPS steps (bounded, so that a planted file cannot make a page draw a
    million star buttons), inside the model's y_range where the model has one (training refuses a y_range that
    does not cover the ratings, so a value outside it is a damaged file, and no star outside it could be fitted)."""
    if set(values) == {"values"}:
        points = values["values"]
        if not isinstance(points, list) or not 1 <= len(points) <= MAX_DISTINCT:
            check.fail(f"rating_scale 'values' must be a list of 1 to {MAX_DISTINCT} ratings, got "
                       f"{type(points).__name__} {short_repr(points)}")
        for point in points:
            _scale_number(check, point, "'values'")
        if any(b <= a for a, b in zip(points, points[1:])):
            check.fail(f"rating_scale 'values' must increase, without repeats, got {short_repr(points)}")
        scale = discrete_scale(points)
    elif set(values) == {"low", "high", "step"}:
        low, high, step = (_scale_number(check, values[key], repr(key)) for key in ("low", "high", "step"))
        if not low < high:
            check.fail(f"rating_scale 'low' must be below 'high', got {low:g} and {high:g}")
        if not (step > 0 and (high - low) / step <= MAX_CONTINUOUS_STEPS):
            check.fail(f"rating_scale 'step' must be positive and cut {low:g} to {high:g} into at most "
                       f"{MAX_CONTINUOUS_STEPS} steps, got {step:g}")
        scale = continuous_scale(low, high, step)
    else:
        check.fail(f"rating_scale must hold either 'values' or 'low', 'high' and 'step', got the keys "
                   f"{short_repr(sorted(values))}")
    if config is not None and config.kind.bounded:
        y_low, y_high = config.y_range
        if scale.low < y_low or scale.high > y_high:
            check.fail(f"rating_scale runs from {scale.low:g} to {scale.high:g}, outside the model's y_range "
                       f"({y_low:g}, {y_high:g}): its sigmoid can never reach them")
    return scale


def _scale_number(check: _Checker, value, where: str) -> float:
    try:
        number = float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else math.nan
    except OverflowError:  # a JSON whole number may have any number of digits
        number = math.nan
    if not math.isfinite(number):
        check.fail(f"rating_scale {where} must hold finite numbers, got {type(value).__name__} {short_repr(value)}")
    return number


def check_import_info(values: dict, check: _Checker) -> ImportInfo:
    """run.json's "imported" object: a width, and text names for known file and column roles."""
    dim = check.field(values, "dim", int, "a whole number")
    if not 1 <= dim <= MAX_IMPORT_DIM:
        check.fail(f"imported 'dim' must be from 1 to {MAX_IMPORT_DIM:,}, got {dim}")
    named = {}
    for key, roles in (("files", IMPORT_FILE_ROLES), ("columns", IMPORT_COLUMN_ROLES)):
        entries = check.field(values, key, dict, "an object of role -> name")
        unknown = sorted(set(entries) - set(roles))
        if unknown:
            check.fail(f"imported {key!r} has unknown role(s) {', '.join(map(repr, unknown))}; "
                       f"known: {', '.join(roles)}")
        for role, text in entries.items():
            if not isinstance(text, str) or len(text) > 1000:
                check.fail(f"imported {key}[{role!r}] must be text of at most 1,000 characters, got {short_repr(text)}")
        named[key] = dict(entries)
    if "vectors" not in named["files"]:
        check.fail("imported 'files' must name the 'vectors' file")
    noun = check.field(values, "noun", dict, "an object {one, many}: what the items are called", optional=True)
    if noun is not None:
        words = [noun.get(part) for part in ("one", "many")]
        if set(noun) != {"one", "many"} or not all(isinstance(w, str) and 0 < len(w) <= MAX_NOUN
                                                    and any(c.isalnum() for c in w) for w in words):
            check.fail(f"imported 'noun' must be {{\"one\": ..., \"many\": ...}}, each text of 1 to {MAX_NOUN} "
                       f"characters, got {short_repr(noun)}")
        noun = Noun(*words)
    return ImportInfo(dim, named["files"], named["columns"], noun)


def _check_imported_meta(check: _Checker, imported: ImportInfo, metrics: dict, history: list, n_users: int,
                         n_items: int) -> None:
    """What an imported run must not have (a score, a history), and sizes that agree with its files."""
    if history:
        check.fail("an imported run has no training history: 'history' must be empty")
    for key in ("rmse", "mse"):
        if metrics.get(key) is not None:
            check.fail(f"an imported run has no validation score: metrics {key!r} must be absent")
    if n_items < 2:
        check.fail(f"an imported run needs at least 2 items, got {n_items}")
    if imported.has_users != (n_users > 0) or n_users == 1:
        check.fail(f"n_users is {n_users}, but the imported files "
                   f"{'include' if imported.has_users else 'do not include'} user vectors (0, or at least 2, users)")
    if imported.has_user_bias and not imported.has_users:
        check.fail("imported 'columns' names a user bias without user vectors")


def read_safetensors_header(path: Path, run_id: str) -> dict[str, tuple[str, tuple[int, ...]]]:
    """{tensor name: (dtype, shape)} from a safetensors file's JSON header, without reading tensor data."""
    check = _Checker(run_id, path.name)
    try:
        with path.open("rb") as handle:
            size_bytes = handle.read(8)
            if len(size_bytes) < 8:
                check.fail("the file is truncated (no header)")
            (header_size,) = struct.unpack("<Q", size_bytes)
            if header_size > 100 * 1024 * 1024:
                check.fail(f"the header claims {header_size:,} bytes; not a safetensors file")
            header = json.loads(handle.read(header_size))
            data_size = path.stat().st_size - 8 - header_size
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        check.fail(f"unreadable header ({type(exc).__name__}: {str(exc)[:200]})")
    if not isinstance(header, dict):
        check.fail("the header is not an object")
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if not isinstance(entry, dict) or not isinstance(entry.get("shape"), list):
            check.fail(f"tensor {name!r} has no shape")
        offsets = entry.get("data_offsets")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(o, int) for o in offsets)
                and 0 <= offsets[0] <= offsets[1] <= data_size):
            check.fail(f"tensor {name!r} lies outside the file (truncated?)")
        tensors[name] = (str(entry.get("dtype")), tuple(entry["shape"]))
    return tensors


def build_network(meta: RunMeta):
    """The module a run's weights load into: the network its config builds, or an imported run's tables (those
    its files provided). The one rule both the header check and the loader use."""
    from collab_core.model.kinds import imported_tables

    if meta.imported is None:
        return meta.config.kind.build(meta.config, meta.n_users, meta.n_items)
    info = meta.imported
    return imported_tables(meta.n_items, info.dim, meta.n_users, info.has_item_bias, info.has_user_bias)


def _shapes(model) -> dict[str, tuple[str, tuple[int, ...]]]:
    """{parameter name: (dtype, shape)}; built on the meta device, this costs no memory."""
    return {name: (_TORCH_DTYPE_NAMES.get(t.dtype, str(t.dtype)), tuple(t.shape))
            for name, t in model.state_dict().items()}


def check_headers(folder: Path, meta: RunMeta) -> None:
    """The weights and stats files hold exactly the tensors the run's config (or imported files) and vocabulary
    sizes imply."""
    with torch.device("meta"):
        expected = _shapes(build_network(meta))
    _compare(read_safetensors_header(folder / "weights.safetensors", meta.run_id), expected,
             meta.run_id, "weights.safetensors")
    sizes = {"n_users": meta.n_users, "n_items": meta.n_items}
    expected_stats = {name: (dtype, (sizes[size],)) for name, (dtype, size) in _STATS.items()}
    _compare(read_safetensors_header(folder / "stats.safetensors", meta.run_id), expected_stats, meta.run_id,
             "stats.safetensors")


def _compare(found: dict, expected: dict, run_id: str, file: str) -> None:
    check = _Checker(run_id, file)
    missing = sorted(set(expected) - set(found))
    if missing:
        check.fail(f"missing tensor(s) {', '.join(missing)}")
    extra = sorted(set(found) - set(expected))
    if extra:
        check.fail(f"unexpected tensor(s) {', '.join(extra)}")
    for name, (dtype, shape) in expected.items():
        if found[name] != (dtype, shape):
            check.fail(f"tensor {name!r} is {found[name][0]} {list(found[name][1])}, expected {dtype} {list(shape)} "
                       f"for this run's settings and vocabulary")


def check_vocab(vocab: dict, meta: RunMeta) -> dict:
    """vocab.json: unique text ids of the declared lengths, one title/year/genre list per item."""
    check = _Checker(meta.run_id, "vocab.json")
    for key, n in (("user_ids", meta.n_users), ("item_ids", meta.n_items), ("titles", meta.n_items),
                   ("years", meta.n_items), ("genres", meta.n_items)):
        values = check.field(vocab, key, list, "a list")
        if len(values) != n:
            check.fail(f"{key!r} has {len(values):,} entries, expected {n:,} (the sizes in run.json)")
    for key in ("user_ids", "item_ids", "titles"):
        if not all(isinstance(v, str) for v in vocab[key]):
            check.fail(f"{key!r} must all be text")
    for key in ("user_ids", "item_ids"):
        if len(set(vocab[key])) != len(vocab[key]):
            check.fail(f"{key!r} holds duplicate ids")
    if not all(y is None or (isinstance(y, int) and not isinstance(y, bool)) for y in vocab["years"]):
        check.fail("'years' must be whole numbers or null")
    if not all(isinstance(g, list) and all(isinstance(x, str) for x in g) for g in vocab["genres"]):
        check.fail("'genres' must be lists of text")
    return vocab


def check_values(weights: dict[str, torch.Tensor], stats: dict[str, torch.Tensor], run_id: str,
                 imported: bool = False) -> None:
    """Finite weights; non-negative counts; finite means wherever there are ratings (an imported run's means
    may be unknown, NaN, but never infinite)."""
    for name, tensor in weights.items():
        bad = ~torch.isfinite(tensor)
        if bad.any():
            _Checker(run_id, "weights.safetensors").fail(
                f"tensor {name!r} holds {int(bad.sum()):,} non-finite value(s) (NaN or infinity); "
                + ("import it again" if imported else "retrain the run"))
    check = _Checker(run_id, "stats.safetensors")
    for kind in ("user", "item"):
        counts, means = stats[f"{kind}_counts"].numpy(), stats[f"{kind}_means"].numpy()
        if (counts < 0).any():
            check.fail(f"'{kind}_counts' holds negative counts")
        if imported and np.isinf(means).any():
            check.fail(f"'{kind}_means' holds an infinite mean")
        if not imported and (~np.isfinite(means[counts > 0])).any():
            check.fail(f"'{kind}_means' is not finite for a {kind} with ratings")


def _as_tuple(kinds) -> tuple:
    return kinds if isinstance(kinds, tuple) else (kinds,)


def short_repr(value) -> str:
    """repr(value), cut to 40 characters for a message."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
