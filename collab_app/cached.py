"""Every Streamlit cache of the dashboard, with the reason for its kind.

- `st.cache_resource` (shared by ALL sessions, no copy): only read-only objects that no session changes:
  loaded Ratings, loaded runs (runs are immutable once saved), KD-tree indices. Bounded by max_entries.
- `st.cache_data` (a copy per call): small derived tables and projections, keyed by run id + options.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from collab_core import interpret, settings
from collab_core.datasets import BUILTIN, ColumnMap, load_builtin, load_movielens_folder, load_table
from collab_core.errors import DataError
from collab_core.ratings import DensityReport, Ratings, random_split
from collab_core.runs import RunInfo, RunStore
from collab_core.trained import TrainedModel



@dataclass(frozen=True)
class DatasetSpec:
    """Which ratings the session works with: hashable, so it can key caches."""

    kind: str = BUILTIN  # 'builtin', 'folder' or 'upload'
    path: str = ""  # folder path, or the stored upload's path
    label: str = "MovieLens 100K (built-in)"
    columns: ColumnMap = ColumnMap()
    min_user_ratings: int = 0
    min_item_ratings: int = 0
    rating_scale: tuple[float, float] | None = None  # declared scale of an upload: ratings outside are refused


def store() -> RunStore:
    return RunStore()


# ---------------------------------------------------------------------- data
@st.cache_resource(max_entries=6, show_spinner="Reading ratings ...")
def _load_raw(kind: str, path: str, columns: ColumnMap, rating_scale, mtime: float) -> Ratings:
    if kind == BUILTIN:
        return load_builtin()
    if kind == "folder":
        return load_movielens_folder(path)
    return load_table(path, columns, max_bytes=upload_limit_bytes(), rating_scale=rating_scale)


def upload_limit_mb() -> int:
    return settings.get("COLLAB_UPLOAD_LIMIT_MB")


def upload_limit_bytes() -> int:
    return upload_limit_mb() * 1024 * 1024


def _mtime(spec: DatasetSpec) -> float:
    return Path(spec.path).stat().st_mtime if spec.kind != BUILTIN and Path(spec.path).exists() else 0.0


@st.cache_resource(max_entries=6, show_spinner="Filtering ...")
def _load_filtered(spec: DatasetSpec, mtime: float) -> tuple[Ratings, DensityReport]:
    ratings = _load_raw(spec.kind, spec.path, spec.columns, spec.rating_scale, mtime)
    return ratings.filter_density(spec.min_user_ratings, spec.min_item_ratings)


def load_dataset(spec: DatasetSpec) -> tuple[Ratings, DensityReport]:
    """The ratings of `spec` after its density filter, and the filter's report. Raises DataError."""
    return _load_filtered(spec, _mtime(spec))


def save_upload(name: str, data: bytes) -> Path:
    """Store uploaded bytes under a content hash (never executed, parsed as CSV/Parquet only). The user's
    file name contributes only a known suffix, so it cannot steer where the bytes land."""
    if len(data) > upload_limit_bytes():
        raise DataError(f"{Path(name).name}: {len(data):,} bytes is above the upload limit of "
                        f"{upload_limit_bytes():,} bytes (COLLAB_UPLOAD_LIMIT_MB)")
    suffix = Path(name).suffix.lower() if Path(name).suffix.lower() in (".csv", ".tsv", ".txt", ".parquet") else ".csv"
    folder = Path(tempfile.gettempdir()) / "collab-uploads"
    folder.mkdir(exist_ok=True)
    path = folder / (hashlib.sha256(data).hexdigest()[:32] + suffix)
    if not path.exists():
        tmp = path.with_suffix(path.suffix + ".part")
        tmp.write_bytes(data)
        os.replace(tmp, path)
    return path


@st.cache_data(max_entries=8, show_spinner=False)
def split_for(spec: DatasetSpec, valid_frac: float, seed: int):
    ratings, _ = load_dataset(spec)
    return random_split(ratings, valid_frac, seed)


# ---------------------------------------------------------------------- runs
def list_runs() -> list[RunInfo]:
    """Every run, newest first. Re-read only when the runs folder changes: saves and deletes rename entries
    in it (so its mtime moves), and other sessions' new runs show up at once."""
    runs = store()
    mtime = runs.root.stat().st_mtime_ns if runs.root.is_dir() else 0
    return _list_runs(str(runs.root), mtime)


@st.cache_data(max_entries=4, show_spinner=False)
def _list_runs(root: str, mtime_ns: int) -> list[RunInfo]:
    return RunStore(root).list()


@st.cache_resource(max_entries=8, show_spinner="Loading run ...")
def _load_run(root: str, run_id: str, mtime: float) -> TrainedModel:
    return RunStore(root).load(run_id)


def load_run(run_id: str) -> TrainedModel:
    """The trained model of a run (shared, read-only). Raises RunStoreError."""
    runs = store()
    path = runs.path(run_id)
    mtime = path.stat().st_mtime if path.exists() else 0.0
    return _load_run(str(runs.root), run_id, mtime)


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
    return interpret.NeighbourIndex(trained.item_factors(), metric, np.flatnonzero(trained.catalog.counts >= min_ratings))


@st.cache_data(max_entries=8, show_spinner=False)
def embeddings_csv(run_id: str) -> bytes:
    trained = load_run(run_id)
    factors = trained.item_factors()
    frame = item_table(run_id)[["item", "title", "count", "mean_rating", "bias"]].reset_index(drop=True)
    columns = pd.DataFrame(factors, columns=[f"f{i}" for i in range(factors.shape[1])])
    return pd.concat([frame, columns], axis=1).to_csv(index=False).encode()


@st.cache_data(max_entries=8, show_spinner=False)
def projector_files(run_id: str) -> tuple[bytes, bytes]:
    """(vectors.tsv, metadata.tsv) for TensorFlow's Embedding Projector (projector.tensorflow.org)."""
    trained = load_run(run_id)
    vectors = "\n".join("\t".join(f"{v:.6g}" for v in row) for row in trained.item_factors())
    meta = item_table(run_id)[["title", "item", "genres", "count", "mean_rating"]].copy()
    meta["title"] = meta["title"].str.replace("\t", " ")
    return (vectors + "\n").encode(), meta.to_csv(sep="\t", index=False).encode()


@st.cache_data(max_entries=16, show_spinner=False)
def pca_map_all_items(run_id: str, min_ratings: int) -> np.ndarray:
    """(n_items, 2): every item projected on the first two principal components of the items with at
    least `min_ratings` ratings, so a rarely-rated query still has a place on the map."""
    trained = load_run(run_id)
    factors = trained.item_factors()
    fitted_on = np.flatnonzero(trained.catalog.counts >= min_ratings)
    result = interpret.pca(factors[fitted_on] if len(fitted_on) >= 2 else factors, 2)
    return (factors - result.mean) @ result.components.T
