"""Every Streamlit cache of the dashboard, with the reason for its kind. The work behind each is collab_core's.

- `st.cache_resource` (shared by ALL sessions, no copy): only read-only objects that no session changes:
  loaded Ratings, loaded runs (runs are immutable once saved), KD-tree indices. Bounded by max_entries.
- `st.cache_data` (a copy per call): small derived tables and projections, keyed by run id + options.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from collab_core import export, importer, interpret, settings
from collab_core.datasets import BUILTIN, ColumnMap, load_builtin, load_movielens_folder, load_table
from collab_core.errors import RunStoreError
from collab_core.ratings import DensityReport, Ratings, Split, random_split
from collab_core.runs import RunInfo, RunStore
from collab_core.trained import TrainedModel

BUILTIN_LABEL = "MovieLens 100K (built-in)"


@dataclass(frozen=True)
class DatasetSpec:
    """Which ratings the session works with: hashable, so it can key caches."""

    kind: str = BUILTIN  # 'builtin', 'folder' or 'upload'
    path: str = ""  # folder path, or the stored upload's path
    label: str = BUILTIN_LABEL  # what the person calls it: the folder's or the uploaded file's name
    columns: ColumnMap = field(default_factory=ColumnMap)
    min_user_ratings: int = 0
    min_item_ratings: int = 0
    rating_scale: tuple[float, float] | None = None  # declared scale of an upload: ratings outside are refused


def store() -> RunStore:
    return RunStore()


def upload_limit_mb() -> int:
    return settings.get("COLLAB_UPLOAD_LIMIT_MB")


def upload_limit_bytes() -> int:
    return upload_limit_mb() * 1024 * 1024


# ---------------------------------------------------------------------- data
@st.cache_resource(max_entries=6, show_spinner="Reading ratings ...")
def _load_raw(kind: str, path: str, label: str, columns: ColumnMap, rating_scale, mtime: float) -> Ratings:
    if kind == BUILTIN:
        return load_builtin()
    if kind == "folder":
        return load_movielens_folder(path)
    return load_table(path, columns, max_bytes=upload_limit_bytes(), rating_scale=rating_scale, name=label)


def _mtime(spec: DatasetSpec) -> float:
    return Path(spec.path).stat().st_mtime if spec.kind != BUILTIN and Path(spec.path).exists() else 0.0


@st.cache_resource(max_entries=6, show_spinner="Filtering ...")
def _load_filtered(spec: DatasetSpec, mtime: float) -> tuple[Ratings, DensityReport]:
    ratings = _load_raw(spec.kind, spec.path, spec.label, spec.columns, spec.rating_scale, mtime)
    return ratings.filter_density(spec.min_user_ratings, spec.min_item_ratings)


def load_dataset(spec: DatasetSpec) -> tuple[Ratings, DensityReport]:
    """The ratings of `spec` after its density filter, and the filter's report. Raises DataError."""
    return _load_filtered(spec, _mtime(spec))


@st.cache_data(max_entries=8, show_spinner=False)
def split_for(spec: DatasetSpec, valid_frac: float, seed: int) -> Split:
    ratings, _ = load_dataset(spec)
    return random_split(ratings, valid_frac, seed)


# ---------------------------------------------------------------------- runs
def list_runs() -> list[RunInfo]:
    """Every run, newest first. Re-read only when the runs folder changes: saves and deletes rename entries
    in it (so its mtime moves), and other sessions' new runs show up at once. A run that passed the listing's
    checks but failed to load (e.g. a NaN weight) is listed as unreadable with the reason."""
    runs = store()
    mtime = runs.root.stat().st_mtime_ns if runs.root.is_dir() else 0
    return [_with_load_failure(info) for info in _list_runs(str(runs.root), mtime)]


@st.cache_data(max_entries=4, show_spinner=False)
def _list_runs(root: str, mtime_ns: int) -> list[RunInfo]:
    return RunStore(root).list()


def _with_load_failure(info: RunInfo) -> RunInfo:
    reason = _load_failures().get((info.run_id, _run_mtime(info.run_id))) if info.ok else None
    return RunInfo(info.run_id, False, reason, info.created, name=info.name) if reason else info


@st.cache_resource
def _load_failures() -> dict[tuple[str, float], str]:
    """(run id, folder mtime) -> why loading it failed; shared by all sessions, so each bad run fails once."""
    return {}


@st.cache_resource(max_entries=8, show_spinner="Loading run ...")
def _load_run(root: str, run_id: str, mtime: float) -> TrainedModel:
    return RunStore(root).load(run_id)


def _run_mtime(run_id: str) -> float:
    try:
        path = store().path(run_id)
        return path.stat().st_mtime if path.exists() else 0.0
    except (RunStoreError, OSError):
        return 0.0


def load_run(run_id: str) -> TrainedModel:
    """The trained model of a run (shared, read-only). Raises RunStoreError, and remembers why."""
    mtime = _run_mtime(run_id)
    try:
        return _load_run(str(store().root), run_id, mtime)
    except RunStoreError as exc:
        _load_failures()[(run_id, mtime)] = str(exc)
        raise


@st.cache_data(max_entries=16, show_spinner=False)
def item_table(run_id: str) -> pd.DataFrame:
    return interpret.item_table(load_run(run_id))


@st.cache_data(max_entries=32, show_spinner=False)
def bias_ranking(run_id: str, n: int, top_n: int | None, min_ratings: int | None):
    return interpret.bias_ranking(load_run(run_id), n, top_n, min_ratings)


@st.cache_data(max_entries=16, show_spinner=False)
def user_biases(run_id: str) -> pd.DataFrame:
    return interpret.user_bias_table(load_run(run_id))


@st.cache_data(max_entries=32, show_spinner=False)
def pca_projection(run_id: str, top_n: int | None, k: int = 3):
    trained = load_run(run_id)
    indices = trained.catalog.top_items(top_n)
    result = interpret.item_pca(trained, indices, k)
    extremes = interpret.component_extremes(result, trained.catalog.titles[indices], n=10)
    return indices, result.coords, result.explained_variance_ratio, extremes


@st.cache_data(max_entries=16, show_spinner=False)
def transposed_loadings(run_id: str, top_n: int | None, k: int = 3):
    trained = load_run(run_id)
    indices = trained.catalog.top_items(top_n)
    return indices, interpret.transposed_pca(trained.item_factors()[indices], k)


@st.cache_resource(max_entries=16, show_spinner=False)
def neighbour_index(run_id: str, metric: str, min_ratings: int) -> interpret.NeighbourIndex:
    trained = load_run(run_id)
    return interpret.NeighbourIndex(trained.item_factors(), metric, trained.catalog.with_min_ratings(min_ratings))


@st.cache_data(max_entries=16, show_spinner=False)
def pca_map_all_items(run_id: str, min_ratings: int) -> np.ndarray:
    trained = load_run(run_id)
    return interpret.pca_map(trained.item_factors(), trained.catalog.with_min_ratings(min_ratings))


@st.cache_data(max_entries=8, show_spinner=False)
def embeddings_csv(run_id: str) -> bytes:
    return export.embeddings_csv(load_run(run_id))


@st.cache_data(max_entries=8, show_spinner=False)
def projector_files(run_id: str) -> tuple[bytes, bytes]:
    return export.projector_files(load_run(run_id))


# ---------------------------------------------------------------------- importing embeddings
@st.cache_data(max_entries=4, show_spinner="Reading the vectors ...")
def import_preview(vectors_path: str, metadata_path: str, vectors_name: str, metadata_name: str
                   ) -> importer.Preview:
    """The import panel's preview; uploads are stored under their content's hash, so a path names one content."""
    return importer.preview(vectors_path, metadata_path or None, max_bytes=upload_limit_bytes(),
                            names={"vectors": vectors_name, "metadata": metadata_name})
