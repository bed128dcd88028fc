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

from collab_core import settings
from collab_core.analysis import axes, compare, diagnostics, foldin, foldin_explain, foldin_inputs, interpret
from collab_core.analysis import ranking as ranking_lens
from collab_core.analysis import regions as region_labels
from collab_core.data import splits
from collab_core.data.datasets import BUILTIN, ColumnMap, load_builtin, load_movielens_folder, load_table
from collab_core.data.ratings import DensityReport, Ratings, Split, random_split
from collab_core.data.tables import read_table
from collab_core.errors import CollabError, RunStoreError
from collab_core.model.trained import TrainedModel
from collab_core.runs import export, importer
from collab_core.runs.store import RunInfo, RunStore

from .messages import clean

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
        return load_movielens_folder(path, name=Path(path).name)  # messages name the folder, not the server's path
    return load_table(path, columns, max_bytes=upload_limit_bytes(), rating_scale=rating_scale, name=label)


def _mtime(spec: DatasetSpec) -> float:
    return Path(spec.path).stat().st_mtime if spec.kind != BUILTIN and Path(spec.path).exists() else 0.0


@st.cache_resource(max_entries=6, show_spinner="Filtering ...")
def _load_filtered(spec: DatasetSpec, mtime: float) -> tuple[Ratings, DensityReport]:
    ratings = _load_raw(spec.kind, spec.path, spec.label, spec.columns, spec.rating_scale, mtime)
    return ratings.filter_density(spec.min_user_ratings, spec.min_item_ratings)


def read_dataset(spec: DatasetSpec) -> Ratings:
    """The ratings of `spec` before its density filter (the same cache entry load_dataset reads): what a page
    calls right under the control that chose them, so that a bad file is named there. Raises DataError."""
    return _load_raw(spec.kind, spec.path, spec.label, spec.columns, spec.rating_scale, _mtime(spec))


def load_dataset(spec: DatasetSpec) -> tuple[Ratings, DensityReport]:
    """The ratings of `spec` after its density filter, and the filter's report. Raises DataError."""
    return _load_filtered(spec, _mtime(spec))


@st.cache_data(max_entries=8, show_spinner=False)
def upload_columns(path: str, max_bytes: int, name: str) -> list[str]:
    """The column names of a stored upload (`name`: its own file name, which messages use). Its stored name is
    a hash of its content, so the path keys the cache: the Data page reruns on every widget change and would
    otherwise parse the whole file each time."""
    return [str(c) for c in read_table(path, max_bytes, name)[0].columns]


@st.cache_data(max_entries=8, show_spinner=False)
def split_for(spec: DatasetSpec, kind: str, valid_frac: float, seed: int) -> Split:
    """The Train form's split of `spec`'s ratings: "random", "per user" (at random) or "per user, latest"."""
    ratings, _ = load_dataset(spec)
    if kind == "per user":
        return splits.stratified_split(ratings, 1 - valid_frac, seed)
    if kind == "per user, latest":
        return splits.time_split(ratings, 1 - valid_frac)
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


def pinned_run() -> str | None:
    """The run pinned as the default for new visitors (RunStore.pinned), read again only when the runs folder
    changes (a pin or an unpin replaces its record in the folder): the sidebar, the run history and the notices
    ask on every script run."""
    return _folder_records(*_folder_version())[0]


def visitor_runs_shared() -> bool:
    """Whether visitors see each other's runs (RunStore.visitor_runs_shared), cached like pinned_run."""
    return _folder_records(*_folder_version())[1]


def _folder_version() -> tuple[str, int]:
    runs = store()
    return str(runs.root), runs.root.stat().st_mtime_ns if runs.root.is_dir() else 0


@st.cache_data(max_entries=4, show_spinner=False)
def _folder_records(root: str, mtime_ns: int) -> tuple[str | None, bool]:
    runs = RunStore(root)
    return runs.pinned(), runs.visitor_runs_shared()


def run_dataset(run_id: str) -> str | None:
    """The name of the data a listed run was trained on (or imported from), without loading the run."""
    return next((info.dataset for info in list_runs() if info.run_id == run_id), None)


def _with_load_failure(info: RunInfo) -> RunInfo:
    failed = {run_id for run_id, _ in _load_failures()}  # usually empty: then no run folder is stat-ed
    if not info.ok or info.run_id not in failed:
        return info
    reason = _load_failures().get((info.run_id, _run_mtime(info.run_id)))
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


# (the user on the map, the items drawn, their predicted ratings); (your predicted rating, each rating's part)
YouOnMap = tuple[foldin_explain.UserOnMap, np.ndarray, np.ndarray]
YourScore = tuple[float, pd.DataFrame | None]


def run_version(run_id: str) -> tuple[str, float]:
    """What tells two contents of one run id apart: the runs folder and the run folder's mtime (a run is written
    by renaming a finished folder into place, so a new run under an old id has a new mtime). Every cache of
    something derived from a run is keyed by it: a run deleted and another saved under its name is never served
    from the first one's cache."""
    return str(store().root), _run_mtime(run_id)


def load_run(run_id: str) -> TrainedModel:
    """The trained model of a run (shared, read-only). Raises RunStoreError, and remembers why."""
    mtime = _run_mtime(run_id)
    try:
        return _load_run(str(store().root), run_id, mtime)
    except RunStoreError as exc:
        _load_failures()[(run_id, mtime)] = clean(str(exc))  # listed in the run history: no server path
        raise


def item_table(run_id: str) -> pd.DataFrame:
    return _item_table(run_id, run_version(run_id))


@st.cache_data(max_entries=16, show_spinner=False)
def _item_table(run_id: str, version: tuple) -> pd.DataFrame:
    return interpret.item_table(load_run(run_id))


def bias_ranking(run_id: str, n: int, top_n: int | None, min_ratings: int | None):
    return _bias_ranking(run_id, run_version(run_id), n, top_n, min_ratings)


@st.cache_data(max_entries=32, show_spinner=False)
def _bias_ranking(run_id: str, version: tuple, n: int, top_n: int | None, min_ratings: int | None):
    return interpret.bias_ranking(load_run(run_id), n, top_n, min_ratings)


def user_biases(run_id: str) -> pd.DataFrame:
    return _user_biases(run_id, run_version(run_id))


@st.cache_data(max_entries=16, show_spinner=False)
def _user_biases(run_id: str, version: tuple) -> pd.DataFrame:
    return interpret.user_bias_table(load_run(run_id))


def pca_projection(run_id: str, top_n: int | None, k: int = 3):
    return _pca_projection(run_id, run_version(run_id), top_n, k)


@st.cache_data(max_entries=32, show_spinner=False)
def _pca_projection(run_id: str, version: tuple, top_n: int | None, k: int = 3):
    trained = load_run(run_id)
    indices = trained.catalog.top_items(top_n)
    result = interpret.item_pca(trained, indices, k)
    extremes = interpret.component_extremes(result, trained.catalog.display_titles[indices], n=10)
    return indices, result.coords, result.explained_variance_ratio, extremes


def transposed_loadings(run_id: str, top_n: int | None, k: int = 3):
    return _transposed_loadings(run_id, run_version(run_id), top_n, k)


@st.cache_data(max_entries=16, show_spinner=False)
def _transposed_loadings(run_id: str, version: tuple, top_n: int | None, k: int = 3):
    trained = load_run(run_id)
    indices = trained.catalog.top_items(top_n)
    return indices, interpret.transposed_pca(trained.item_factors()[indices], k)


def axis_terms(run_id: str, text: str) -> np.ndarray:
    """(m,) the item indices the comma-separated search terms of an axis end stand for (axes.NoMatchError names a
    term that matches nothing: not cached, so fixing the term is seen at once)."""
    return _axis_terms(run_id, run_version(run_id), text)


@st.cache_data(max_entries=64, show_spinner=False)
def _axis_terms(run_id: str, version: tuple, text: str) -> np.ndarray:
    return axes.resolve_terms(load_run(run_id).catalog, text)


def axis_map(run_id: str, top_n: int | None, x_ends: tuple, y_ends: tuple | None = None):
    """The custom-axis map of the `top_n` most rated items and the ends' items: see axes.axis_map."""
    return _axis_map(run_id, run_version(run_id), top_n, x_ends, y_ends)


@st.cache_data(max_entries=16, show_spinner=False)
def _axis_map(run_id: str, version: tuple, top_n: int | None, x_ends: tuple, y_ends: tuple | None):
    trained = load_run(run_id)
    return axes.axis_map(trained.item_factors(), trained.catalog.top_items(top_n), x_ends, y_ends)


def map_regions(run_id: str, indices: np.ndarray, coords: np.ndarray, n_regions: int) -> list[region_labels.Region]:
    """The regions of a 2D map of the items `indices` (m,) at `coords` (m, 2); members are positions in `indices`."""
    return _map_regions(run_id, run_version(run_id), indices, coords, n_regions)


@st.cache_data(max_entries=16, show_spinner=False)
def _map_regions(run_id: str, version: tuple, indices: np.ndarray, coords: np.ndarray, n_regions: int):
    catalog = load_run(run_id).catalog
    return region_labels.find_regions(coords, catalog.items["genres"].to_numpy()[indices], catalog.counts[indices],
                                      catalog.display_titles[indices], n_regions)


def neighbour_index(run_id: str, metric: str, min_ratings: int) -> interpret.NeighbourIndex:
    return _neighbour_index(run_id, run_version(run_id), metric, min_ratings)


@st.cache_resource(max_entries=16, show_spinner=False)
def _neighbour_index(run_id: str, version: tuple, metric: str, min_ratings: int) -> interpret.NeighbourIndex:
    trained = load_run(run_id)
    return interpret.NeighbourIndex(trained.item_factors(), metric, trained.catalog.with_min_ratings(min_ratings))


def pca_map_all_items(run_id: str, min_ratings: int) -> np.ndarray:
    return _pca_map_all_items(run_id, run_version(run_id), min_ratings)


@st.cache_data(max_entries=16, show_spinner=False)
def _pca_map_all_items(run_id: str, version: tuple, min_ratings: int) -> np.ndarray:
    trained = load_run(run_id)
    return interpret.pca_map(trained.item_factors(), trained.catalog.with_min_ratings(min_ratings))


def embeddings_csv(run_id: str) -> bytes:
    return _embeddings_csv(run_id, run_version(run_id))


@st.cache_data(max_entries=8, show_spinner=False)
def _embeddings_csv(run_id: str, version: tuple) -> bytes:
    return export.embeddings_csv(load_run(run_id))


def projector_files(run_id: str) -> tuple[bytes, bytes]:
    return _projector_files(run_id, run_version(run_id))


@st.cache_data(max_entries=8, show_spinner=False)
def _projector_files(run_id: str, version: tuple) -> tuple[bytes, bytes]:
    return export.projector_files(load_run(run_id))


# ---------------------------------------------------------------------- importing embeddings
@st.cache_data(max_entries=4, show_spinner="Reading the vectors ...")
def import_preview(vectors_path: str, metadata_path: str, vectors_name: str, metadata_name: str
                   ) -> importer.Preview:
    """The import panel's preview; uploads are stored under their content's hash, so a path names one content."""
    return importer.preview(vectors_path, metadata_path or None, max_bytes=upload_limit_bytes(),
                            names={"vectors": vectors_name, "metadata": metadata_name})


# ---------------------------------------------------------------------- "You": a new user folded into a run
# `ratings` is ((raw item id, rating), ...): hashable, and it is the whole person, so it keys each cache. A
# fold-in takes about a millisecond; these caches spare the reruns of one page (a click on the map) the
# tables around it, and hold nothing another session could not compute from the same ratings.
YourRatings = tuple[tuple[str, float], ...]


def rating_scale(run_id: str) -> foldin.RatingScale:
    return _rating_scale(run_id, run_version(run_id))


@st.cache_data(max_entries=64, show_spinner=False)
def _rating_scale(run_id: str, version: tuple) -> foldin.RatingScale:
    return foldin_inputs.rating_scale(load_run(run_id))


def demo_ratings(run_id: str, map_min_ratings: int) -> dict[str, float]:
    return _demo_ratings(run_id, run_version(run_id), map_min_ratings)


@st.cache_data(max_entries=16, show_spinner=False)
def _demo_ratings(run_id: str, version: tuple, map_min_ratings: int) -> dict[str, float]:
    trained = load_run(run_id)
    chosen = foldin_inputs.demo_ratings(trained, fitted_on=trained.catalog.with_min_ratings(map_min_ratings))
    return {str(trained.catalog.vocab.ids[i]): rating for i, rating in chosen.items()}


def fold_in(run_id: str, ratings: YourRatings) -> foldin.UserFoldIn:
    return _fold_in(run_id, run_version(run_id), ratings)


@st.cache_data(max_entries=64, show_spinner=False)
def _fold_in(run_id: str, version: tuple, ratings: YourRatings) -> foldin.UserFoldIn:
    """Raises RatingError (a rating outside the run's scale) and UnknownIdError."""
    trained = load_run(run_id)
    return foldin.fold_in(trained, {int(trained.catalog.vocab.to_index(item)): rating for item, rating in ratings})


def recommendations(run_id: str, ratings: YourRatings, n: int, min_ratings: int) -> pd.DataFrame:
    return _recommendations(run_id, run_version(run_id), ratings, n, min_ratings)


@st.cache_data(max_entries=64, show_spinner=False)
def _recommendations(run_id: str, version: tuple, ratings: YourRatings, n: int, min_ratings: int) -> pd.DataFrame:
    return foldin_explain.recommend(load_run(run_id), fold_in(run_id, ratings), n, min_ratings, n_because=2)


def fitted(run_id: str, ratings: YourRatings) -> pd.DataFrame:
    return _fitted(run_id, run_version(run_id), ratings)


@st.cache_data(max_entries=64, show_spinner=False)
def _fitted(run_id: str, version: tuple, ratings: YourRatings) -> pd.DataFrame:
    return foldin_explain.fitted_table(load_run(run_id), fold_in(run_id, ratings))


def ranked_items(run_id: str, ratings: YourRatings) -> pd.DataFrame:
    """A ranking run's counterpart of `fitted`: where each rated item ranks among all items for this vector."""
    return _ranked_items(run_id, run_version(run_id), ratings)


@st.cache_data(max_entries=64, show_spinner=False)
def _ranked_items(run_id: str, version: tuple, ratings: YourRatings) -> pd.DataFrame:
    return foldin_explain.ranked_table(load_run(run_id), fold_in(run_id, ratings))


def nearest_users(run_id: str, ratings: YourRatings, k: int) -> pd.DataFrame:
    return _nearest_users(run_id, run_version(run_id), ratings, k)


@st.cache_data(max_entries=64, show_spinner=False)
def _nearest_users(run_id: str, version: tuple, ratings: YourRatings, k: int) -> pd.DataFrame:
    return foldin_explain.nearest_users(load_run(run_id), fold_in(run_id, ratings), k)


def you_on_map(run_id: str, ratings: YourRatings, min_ratings: int) -> YouOnMap:
    return _you_on_map(run_id, run_version(run_id), ratings, min_ratings)


@st.cache_data(max_entries=64, show_spinner=False)
def _you_on_map(run_id: str, version: tuple, ratings: YourRatings, min_ratings: int) -> YouOnMap:
    """(the user on the map, the items drawn (those with >= min_ratings), their predicted ratings; a ranking run's:
    their scores)."""
    trained = load_run(run_id)
    fold = fold_in(run_id, ratings)
    shown = trained.catalog.with_min_ratings(min_ratings)
    return foldin_explain.user_on_map(trained, fold, shown), shown, foldin_explain.predict(trained, fold, shown)


def explain_for_you(run_id: str, ratings: YourRatings, item_index: int) -> YourScore:
    return _explain_for_you(run_id, run_version(run_id), ratings, item_index)


@st.cache_data(max_entries=64, show_spinner=False)
def _explain_for_you(run_id: str, version: tuple, ratings: YourRatings, item_index: int) -> YourScore:
    """(your predicted rating of the item (a ranking run: its score), what each of your ratings adds to its score;
    None for 'nn')."""
    trained = load_run(run_id)
    fold = fold_in(run_id, ratings)
    score = float(foldin_explain.predict(trained, fold, np.array([item_index]))[0])
    return score, foldin_explain.explain_item(trained, fold, item_index) if fold.shares is not None else None


# ---------------------------------------------------------------------- Compare
def compare_runs(run_a: str, run_b: str, k: int, min_ratings: int) -> compare.RunComparison:
    return _compare_runs(run_a, run_b, (run_version(run_a), run_version(run_b)), k, min_ratings)


@st.cache_resource(max_entries=4, show_spinner="Comparing the runs ...")
def _compare_runs(run_a: str, run_b: str, version: tuple, k: int, min_ratings: int) -> compare.RunComparison:
    """A resource, not data: a comparison is never changed once made, and for large runs (its neighbour tables,
    aligned factors and maps) it is big enough that st.cache_data's copy on every rerun would cost more than
    the page. Keyed on both run ids, k and the minimum number of ratings."""
    return compare.compare_runs(load_run(run_a), load_run(run_b), k, min_ratings)


def why_not_comparable(run_a: str, run_b: str, min_ratings: int) -> str | None:
    """Why Compare could not set run B beside run A, in plain words (collab_core.analysis.compare.why_not_comparable, or
    why a run cannot be read); None when it could. Cached per pair, so choosing a default B costs one check."""
    return _why_not_comparable(run_a, run_b, (run_version(run_a), run_version(run_b)), int(min_ratings))


@st.cache_data(max_entries=256, show_spinner=False)
def _why_not_comparable(run_a: str, run_b: str, version: tuple, min_ratings: int) -> str | None:
    try:
        return compare.why_not_comparable(load_run(run_a), load_run(run_b), min_ratings)
    except RunStoreError as exc:
        return f"a run cannot be read: {clean(str(exc))}"


def neighbours_in_both(run_a: str, run_b: str, k: int, min_ratings: int, item_id: str) -> pd.DataFrame:
    return _neighbours_in_both(run_a, run_b, (run_version(run_a), run_version(run_b)), k, min_ratings, item_id)


@st.cache_data(max_entries=32, show_spinner=False)
def _neighbours_in_both(run_a: str, run_b: str, version: tuple, k: int, min_ratings: int, item_id: str) -> pd.DataFrame:
    return compare.neighbours_in_both(compare_runs(run_a, run_b, k, min_ratings), load_run(run_a), load_run(run_b),
                                      item_id)


# ---------------------------------------------------------------------- Diagnostics
def explain_prediction(run_id: str, user_id: str, item_id: str, data: DatasetSpec | None):
    return _explain_prediction(run_id, run_version(run_id), user_id, item_id, data)


@st.cache_data(max_entries=32, show_spinner=False)
def _explain_prediction(run_id: str, version: tuple, user_id: str, item_id: str, data: DatasetSpec | None):
    """One prediction taken apart; with the run's own ratings (`data`) it carries the actual rating."""
    ratings = load_dataset(data)[0] if data is not None else None
    return diagnostics.explain_prediction(load_run(run_id), user_id, item_id, ratings)


def norms_vs_popularity(run_id: str, pca_min_ratings: int) -> diagnostics.NormReport:
    return _norms_vs_popularity(run_id, run_version(run_id), pca_min_ratings)


@st.cache_data(max_entries=16, show_spinner=False)
def _norms_vs_popularity(run_id: str, version: tuple, pca_min_ratings: int) -> diagnostics.NormReport:
    return diagnostics.norms_vs_popularity(load_run(run_id), pca_min_ratings)


def run_split(run_id: str, data: DatasetSpec) -> Split:
    return _run_split(run_id, run_version(run_id), data)


@st.cache_resource(max_entries=4, show_spinner="Rebuilding the run's validation split ...")
def _run_split(run_id: str, version: tuple, data: DatasetSpec) -> Split:
    """The run's own split of `data`'s ratings (read-only arrays as large as the ratings: a resource). Raises
    DataError when `data` is not what the run was trained on."""
    return diagnostics.reproduce_split(load_run(run_id), load_dataset(data)[0])


def run_data(run_id: str, session_data: DatasetSpec) -> tuple[DatasetSpec | None, str]:
    """Which ratings the run was trained on, if this session can load them: the session's dataset or the
    built-in data, when its name, users, items and split are the run's. (spec, "") or (None, why not)."""
    trained = load_run(run_id)
    reasons = []
    for spec in dict.fromkeys([session_data, DatasetSpec()]):
        if spec.kind == BUILTIN and trained.dataset != BUILTIN_LABEL:
            continue  # no need to read the built-in data to know it is not the run's
        try:
            if load_dataset(spec)[0].name != trained.dataset:
                continue
            run_split(run_id, spec)
        except CollabError as exc:
            reasons.append(f"{spec.label}: {clean(str(exc))}")  # shown on the page: no server path
            continue
        return spec, ""
    if not reasons:
        reasons.append(f"this session's dataset is {session_data.label}; load {trained.dataset} on the Data page")
    return None, "; ".join(reasons)


def ranking(run_id: str, data: DatasetSpec, k: int) -> tuple[ranking_lens.RankingReport, dict]:
    """The run's top-k metrics on its own split of `data`, and those of most popular and random on the same split."""
    return _ranking(run_id, run_version(run_id), data, int(k))


@st.cache_resource(max_entries=8, show_spinner="Ranking every user's top items ...")
def _ranking(run_id: str, version: tuple, data: DatasetSpec, k: int):
    """A resource: per-user and per-item arrays as long as the users and the catalogue."""
    ratings, split, users = load_dataset(data)[0], run_split(run_id, data), ranking_lens.RECORDED_USERS
    return (ranking_lens.evaluate_run(load_run(run_id), ratings, split, k, max_users=users),
            ranking_lens.evaluate_baselines(ratings, split, k, max_users=users))


def ranking_pair(run_a: str, run_b: str, data: DatasetSpec, k: int):
    """Runs A and B judged on A's split of `data`: (A's report, B's report, the baselines' reports, (user ids, share of
    each user's top-k list that A and B have in common)). Raises CollabError when B cannot score A's data."""
    return _ranking_pair(run_a, run_b, (run_version(run_a), run_version(run_b)), data, int(k))


@st.cache_resource(max_entries=4, show_spinner="Ranking every user's top items in both runs ...")
def _ranking_pair(run_a: str, run_b: str, versions: tuple, data: DatasetSpec, k: int):
    ratings, split, users = load_dataset(data)[0], run_split(run_a, data), ranking_lens.RECORDED_USERS
    a, b = load_run(run_a), load_run(run_b)  # every figure over the same users (a sample at ML-25M's size)
    return (ranking_lens.evaluate_run(a, ratings, split, k, max_users=users),
            ranking_lens.evaluate_run(b, ratings, split, k, max_users=users),
            ranking_lens.evaluate_baselines(ratings, split, k, max_users=users),
            ranking_lens.top_k_overlap(ranking_lens.run_scorer(a), ranking_lens.run_scorer(b), ratings, split, k,
                                       max_users=users))


def where_wrong(run_id: str, data: DatasetSpec, n_worst: int) -> diagnostics.ErrorReport:
    return _where_wrong(run_id, run_version(run_id), data, n_worst)


@st.cache_resource(max_entries=4, show_spinner="Scoring every validation rating ...")
def _where_wrong(run_id: str, version: tuple, data: DatasetSpec, n_worst: int) -> diagnostics.ErrorReport:
    """A resource: its per-rating table is as long as the validation set (millions of rows for MovieLens 25M)."""
    return diagnostics.where_wrong(load_run(run_id), load_dataset(data)[0], run_split(run_id, data), n_worst)
