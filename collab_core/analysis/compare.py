"""Compare two runs: settings, accuracy, loss curves, item biases, neighbour stability and aligned maps.

Items are matched by raw id, so the runs may come from different datasets (only the shared items are
compared; the others are listed). Never compare raw coordinates: a factorisation is only defined up to a
transform of its factor space (for the dot models any invertible M gives the same predictions with P M and
Q M^-T; two seeds land in arbitrarily rotated frames), so coordinate 3 of run A has nothing to do with
coordinate 3 of run B. Everything here is either invariant to that (neighbour sets, biases, norms) or
computed after aligning B onto A with orthogonal Procrustes over the shared items.

- neighbour stability: Jaccard overlap of each item's k nearest neighbours (cosine, among the compared
  items) in A and in B. Top-k overlap is unstable even between seeds (Wendlandt et al., NAACL 2018), so the
  whole distribution is returned, not only its mean.
- aligned maps: both factor matrices are centred and scaled to unit Frobenius norm, B is rotated (and
  uniformly scaled) onto A by `scipy.linalg.orthogonal_procrustes`, and the disparity is the remaining sum
  of squared differences: exactly `scipy.spatial.procrustes`' figure (0: identical up to a similarity
  transform, 1: nothing in common). When the widths differ, the narrower matrix is padded with zero
  columns first (a rotation of the wider space can then map it anywhere). B's aligned factors are put back
  in A's units (A's centre and norm), ONE PCA is fitted on A and applied to A and to aligned B, so both maps
  share axes; each item's displacement is measured in the full aligned space, in A's units.

Every title here (`title`, `titles`, `title_a`, `title_b`) is A's display title (`ItemCatalog.display_titles`:
the id is appended where two items share a title), since these tables are what people read.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.linalg
import scipy.stats
import torch

from collab_core.analysis.interpret import pca
from collab_core.errors import CollabError
from collab_core.model.trained import TrainedModel

_SIMILARITY_BLOCK = 8_000_000  # entries of the similarity matrix held at once (32 MB of float32)


# ---------------------------------------------------------------------- matching items
@dataclass(frozen=True, eq=False)
class ItemMatch:
    """The items two runs share, by raw id, in A's order."""

    raw_ids: np.ndarray  # (n_shared,) str
    index_a: np.ndarray  # (n_shared,) int64 item index in A
    index_b: np.ndarray  # (n_shared,) int64 item index in B
    only_a: np.ndarray  # raw ids A has and B lacks
    only_b: np.ndarray  # raw ids B has and A lacks

    def __len__(self) -> int:
        return len(self.raw_ids)


def match_items(a: TrainedModel, b: TrainedModel) -> ItemMatch:
    ids_a, ids_b = a.catalog.vocab.ids, b.catalog.vocab.ids
    in_b = pd.Index(ids_b).get_indexer(ids_a)  # (n_items_a,) position in B or -1
    shared = in_b >= 0
    in_a = pd.Index(ids_a).get_indexer(ids_b)
    return ItemMatch(ids_a[shared], np.flatnonzero(shared).astype(np.int64), in_b[shared].astype(np.int64),
                     ids_a[~shared], ids_b[in_a < 0])


# ---------------------------------------------------------------------- settings, accuracy, curves
def settings_diff(a: TrainedModel, b: TrainedModel) -> pd.DataFrame:
    """The settings (config fields, or an imported run's kind and width, and the dataset) whose values differ:
    columns setting, a, b."""
    left = {**a.settings(), "dataset": a.dataset}
    right = {**b.settings(), "dataset": b.dataset}
    rows = [(key, left.get(key), right.get(key)) for key in sorted(set(left) | set(right))
            if left.get(key) != right.get(key)]
    return pd.DataFrame(rows, columns=["setting", "a", "b"])


def accuracy(a: TrainedModel, b: TrainedModel) -> dict:
    """rmse_a, rmse_b, mse_a, mse_b from the runs' metrics (None where a run has none)."""
    return {f"{name}_{side}": run.metrics.get(name) for name in ("rmse", "mse") for side, run in (("a", a), ("b", b))}


def loss_histories(a: TrainedModel, b: TrainedModel) -> pd.DataFrame:
    """Both loss histories in one long frame for an overlay: run ('a'/'b'), epoch, train_loss, valid_rmse,
    valid_mse."""
    frames = [pd.DataFrame(run.history).assign(run=side) for side, run in (("a", a), ("b", b)) if run.history]
    columns = ["run", "epoch", "train_loss", "valid_rmse", "valid_mse"]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True).reindex(columns=columns)


# ---------------------------------------------------------------------- biases
def bias_comparison(a: TrainedModel, b: TrainedModel, match: ItemMatch, positions: np.ndarray | None = None
                    ) -> tuple[pd.DataFrame | None, float | None]:
    """(table, Spearman correlation of the item biases) over the shared items; (None, None) when either run
    has no biases.

    Table columns: item, title, count_a, count_b, bias_a, bias_b, rank_a, rank_b (1 = highest bias),
    rank_change (rank_a - rank_b: positive = higher in B), bias_change (B's bias minus A's, each centred on
    its median over these items, since a bias's level trades off against the other bias and the sigmoid).
    Sorted by rank in A.
    """
    biases_a, biases_b = a.item_biases(), b.item_biases()
    if biases_a is None or biases_b is None:
        return None, None
    positions = np.arange(len(match)) if positions is None else positions
    ia, ib = match.index_a[positions], match.index_b[positions]
    bias_a, bias_b = biases_a[ia].astype(np.float64), biases_b[ib].astype(np.float64)  # (n,)
    rank_a = scipy.stats.rankdata(-bias_a, method="ordinal").astype(np.int64)
    rank_b = scipy.stats.rankdata(-bias_b, method="ordinal").astype(np.int64)
    table = pd.DataFrame({
        "item": match.raw_ids[positions], "title": a.catalog.display_titles[ia], "count_a": a.catalog.counts[ia],
        "count_b": b.catalog.counts[ib], "bias_a": bias_a, "bias_b": bias_b, "rank_a": rank_a, "rank_b": rank_b,
        "rank_change": rank_a - rank_b,
        "bias_change": (bias_b - np.median(bias_b)) - (bias_a - np.median(bias_a)),
    }).sort_values("rank_a", kind="stable").reset_index(drop=True)
    return table, _finite_or_none(scipy.stats.spearmanr(bias_a, bias_b).statistic if len(bias_a) > 1 else np.nan)


def _finite_or_none(value) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


# ---------------------------------------------------------------------- neighbour stability
def cosine_top_k(factors: np.ndarray, k: int) -> np.ndarray:
    """(n, k) the k most cosine-similar rows of each row, itself excluded (most similar first).
    Exact, by blocks of rows of the similarity matrix, so memory stays ~32 MB; the time grows as n^2
    (ML-25M's 37K items with 20+ ratings: ~7e10 multiply-adds). float32 and torch.topk: several times faster
    than numpy's float64 matmul and argpartition, the same neighbours (docs/performance.md, "At ML-25M size")."""
    unit = torch.nn.functional.normalize(torch.as_tensor(np.asarray(factors), dtype=torch.float32), dim=1)
    # (n, width) unit rows; normalize() leaves a zero vector at zero
    n = len(unit)
    out = torch.empty((n, k), dtype=torch.int64)
    block = max(1, _SIMILARITY_BLOCK // max(1, n))
    with torch.no_grad():
        for start in range(0, n, block):
            stop = min(start + block, n)
            similarity = unit[start:stop] @ unit.T  # (block, n)
            rows = torch.arange(stop - start)
            similarity[rows, rows + start] = -torch.inf  # never your own neighbour
            out[start:stop] = similarity.topk(k, dim=1).indices
    return out.numpy()


def jaccard_rows(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """(n,) Jaccard overlap of row i of `left` and row i of `right`, both (n, k) sets of distinct ids."""
    both = np.sort(np.hstack([left, right]), axis=1)  # (n, 2k): a shared id appears twice, side by side
    shared = (both[:, 1:] == both[:, :-1]).sum(axis=1)
    return shared / (left.shape[1] + right.shape[1] - shared)


def neighbour_stability(a: TrainedModel, b: TrainedModel, match: ItemMatch, k: int = 10,
                        positions: np.ndarray | None = None) -> pd.DataFrame:
    """One row per compared item: item, title, count_a, count_b, jaccard (of its k nearest neighbours by
    cosine among the compared items, in A and in B). Sorted from least to most stable."""
    positions = np.arange(len(match)) if positions is None else positions
    if len(positions) < 2:
        raise CollabError(f"neighbour stability needs at least 2 shared items, got {len(positions)}")
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise CollabError(f"k must be a whole number >= 1, got {k!r}")
    k = int(min(k, len(positions) - 1))
    ia, ib = match.index_a[positions], match.index_b[positions]
    overlap = jaccard_rows(cosine_top_k(a.item_factors()[ia], k), cosine_top_k(b.item_factors()[ib], k))
    table = pd.DataFrame({"item": match.raw_ids[positions], "title": a.catalog.display_titles[ia],
                          "count_a": a.catalog.counts[ia], "count_b": b.catalog.counts[ib], "jaccard": overlap})
    return table.sort_values("jaccard", kind="stable").reset_index(drop=True)


# ---------------------------------------------------------------------- alignment
@dataclass(frozen=True, eq=False)
class Alignment:
    """B's item factors aligned onto A's over the compared items, and one PCA map for both."""

    factors_a: np.ndarray  # (n, width) A's factors, zero-padded to the common width
    aligned_b: np.ndarray  # (n, width) B's factors after translation, rotation and scaling onto A, in A's units
    rotation: np.ndarray  # (width, width) orthogonal, applied to B's standardised factors
    scale: float  # scipy's scale: the sum of the singular values of B_std^T A_std
    disparity: float  # as scipy.spatial.procrustes: sum of squared differences after standardising both
    padding: str | None  # what was zero-padded when the widths differ, else None
    map_a: np.ndarray  # (n, n_components) A in the PCA fitted on A
    map_b: np.ndarray  # (n, n_components) aligned B in the same PCA
    explained_variance_ratio: np.ndarray  # (n_components,) of A
    displacement: np.ndarray  # (n,) |aligned B - A| per item, full width, A's units


def _pad(matrix: np.ndarray, width: int) -> np.ndarray:
    return np.hstack([matrix, np.zeros((len(matrix), width - matrix.shape[1]))]) if matrix.shape[1] < width else matrix


def _standardise(matrix: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray, float]:
    """(centred / Frobenius norm, centre (width,), norm), as scipy.spatial.procrustes does."""
    centre = matrix.mean(axis=0)
    norm = float(np.linalg.norm(matrix - centre))
    if norm == 0:
        raise CollabError(f"run {name}'s factors of the compared items are all identical: nothing to align")
    return (matrix - centre) / norm, centre, norm


def align(factors_a: np.ndarray, factors_b: np.ndarray, n_components: int = 2) -> Alignment:
    """Orthogonal Procrustes of B (n, width_b) onto A (n, width_a), rows matched; see the module docstring."""
    factors_a, factors_b = np.asarray(factors_a, np.float64), np.asarray(factors_b, np.float64)
    if len(factors_a) != len(factors_b) or len(factors_a) < 2:
        raise CollabError(f"alignment needs the same items, at least 2, in both runs; got {len(factors_a)} "
                          f"and {len(factors_b)}")
    width = max(factors_a.shape[1], factors_b.shape[1])
    padding = None
    if factors_a.shape[1] != factors_b.shape[1]:
        narrower = "A" if factors_a.shape[1] < width else "B"
        padding = (f"run {narrower}'s {min(factors_a.shape[1], factors_b.shape[1])} factors were padded with zero "
                   f"columns to {width} to align with the other run's {width}")
    padded_a, padded_b = _pad(factors_a, width), _pad(factors_b, width)
    std_a, centre_a, norm_a = _standardise(padded_a, "A")
    std_b, _, _ = _standardise(padded_b, "B")
    rotation, scale = scipy.linalg.orthogonal_procrustes(std_b, std_a)  # std_b @ rotation ~ std_a
    fitted_b = std_b @ rotation * scale  # (n, width), in A's standardised frame
    disparity = float(((std_a - fitted_b) ** 2).sum())
    aligned_b = fitted_b * norm_a + centre_a  # back in A's units
    projection = pca(padded_a, n_components)
    map_b = (aligned_b - projection.mean) @ projection.components.T  # (n, n_components)
    return Alignment(padded_a, aligned_b, rotation, float(scale), disparity, padding, projection.coords, map_b,
                     projection.explained_variance_ratio, np.linalg.norm(aligned_b - padded_a, axis=1))


# ---------------------------------------------------------------------- everything at once
@dataclass(frozen=True, eq=False)
class RunComparison:
    """Two runs side by side; `summary()` gives the headline figures."""

    match: ItemMatch  # every shared item
    positions: np.ndarray  # (n_compared,) positions into `match` of the items compared (enough ratings)
    min_ratings: int
    k: int
    settings: pd.DataFrame  # setting, a, b (only those that differ)
    accuracy: dict  # rmse_a, rmse_b, mse_a, mse_b
    histories: pd.DataFrame  # run, epoch, train_loss, valid_rmse, valid_mse
    biases: pd.DataFrame | None  # see bias_comparison; None when either run has no biases
    bias_spearman: float | None
    neighbours: pd.DataFrame  # item, title, count_a, count_b, jaccard, least stable first
    alignment: Alignment
    titles: np.ndarray  # (n_compared,) display titles (A's) of the compared items, in the alignment's row order
    counts_a: np.ndarray  # (n_compared,) their rating counts in A

    def summary(self) -> dict:
        jaccard = self.neighbours["jaccard"]
        return {"jaccard_mean": float(jaccard.mean()), "jaccard_median": float(jaccard.median()),
                "procrustes_disparity": self.alignment.disparity, "bias_spearman": self.bias_spearman,
                **self.accuracy, "n_shared_items": len(self.match), "n_compared_items": len(self.positions),
                "n_only_a": len(self.match.only_a), "n_only_b": len(self.match.only_b), "k": self.k,
                "min_ratings": self.min_ratings, "padding": self.alignment.padding}

    def moved_most(self, n: int = 10) -> pd.DataFrame:
        """The n items farthest from their place in A after alignment: item, title, count_a, displacement."""
        table = pd.DataFrame({"item": self.match.raw_ids[self.positions], "title": self.titles,
                              "count_a": self.counts_a, "displacement": self.alignment.displacement})
        return table.sort_values("displacement", ascending=False, kind="stable").head(n).reset_index(drop=True)

    def bias_changed_most(self, n: int = 10) -> pd.DataFrame | None:
        """The n items whose (median-centred) bias changed most, either way; None without biases."""
        if self.biases is None:
            return None
        order = np.argsort(-self.biases["bias_change"].abs().to_numpy(), kind="stable")[:n]
        return self.biases.iloc[order].reset_index(drop=True)

    def least_stable(self, n: int = 10) -> pd.DataFrame:
        return self.neighbours.head(n)

    def most_stable(self, n: int = 10) -> pd.DataFrame:
        return self.neighbours.iloc[::-1].head(n).reset_index(drop=True)


MIN_COMPARED = 3  # items two runs must share (with enough ratings in both) to be compared


def compared_positions(a: TrainedModel, b: TrainedModel, match: ItemMatch, min_ratings: int = 0) -> np.ndarray:
    """(n_compared,) positions into `match` of the shared items with at least `min_ratings` ratings in both runs
    (rarely-rated items sit near the origin and crowd every neighbourhood). CollabError, in plain words, when
    fewer than MIN_COMPARED are left: what `compare_runs` and `why_not_comparable` say."""
    if len(match) < MIN_COMPARED:
        raise CollabError(f"the runs share {len(match)} item(s) by raw id, and comparing them needs at least "
                          f"{MIN_COMPARED} (A has {a.n_items:,} items from {a.dataset}, B {b.n_items:,} from "
                          f"{b.dataset})")
    enough = np.minimum(a.catalog.counts[match.index_a], b.catalog.counts[match.index_b]) >= min_ratings
    positions = np.flatnonzero(enough)
    if len(positions) >= MIN_COMPARED:
        return positions
    uncounted = [side for side, run in (("A", a), ("B", b)) if not run.has_counts]
    if uncounted and min_ratings > 0:
        raise CollabError(f"run {' and '.join(uncounted)} has no rating counts (imported without a count column), "
                          f"so no item has {min_ratings} ratings there; set the minimum to 0")
    raise CollabError(f"only {len(positions)} shared item(s) have at least {min_ratings} ratings in both runs; "
                      f"lower the minimum")


def why_not_comparable(a: TrainedModel, b: TrainedModel, min_ratings: int = 0) -> str | None:
    """Why `compare_runs(a, b, k, min_ratings)` would refuse these runs, in plain words; None when it would not.
    Cheap: it matches raw ids and reads rating counts (O(n_items)), fits and aligns nothing, so a page can ask it
    of many runs to choose one it can compare."""
    try:
        compared_positions(a, b, match_items(a, b), min_ratings)
    except CollabError as exc:
        return str(exc)
    return None


def compare_runs(a: TrainedModel, b: TrainedModel, k: int = 10, min_ratings: int = 0,
                 n_components: int = 2) -> RunComparison:
    """Compare run B with run A over their shared items (those with at least `min_ratings` ratings in both
    runs are compared: rarely-rated items sit near the origin and crowd every neighbourhood)."""
    match = match_items(a, b)
    positions = compared_positions(a, b, match, min_ratings)
    neighbours = neighbour_stability(a, b, match, k, positions)
    biases, spearman = bias_comparison(a, b, match, positions)
    alignment = align(a.item_factors()[match.index_a[positions]], b.item_factors()[match.index_b[positions]],
                      n_components)
    compared = match.index_a[positions]
    return RunComparison(match, positions, int(min_ratings), int(min(k, len(positions) - 1)), settings_diff(a, b),
                         accuracy(a, b), loss_histories(a, b), biases, spearman, neighbours, alignment,
                         a.catalog.display_titles[compared], a.catalog.counts[compared])


def neighbours_in_both(comparison: RunComparison, a: TrainedModel, b: TrainedModel, item_id, k: int | None = None
                       ) -> pd.DataFrame:
    """One compared item's k nearest neighbours (cosine, among the compared items, itself excluded) in run A and
    in run B, side by side: what its Jaccard overlap counts. Columns: rank, title_a, similarity_a, in_b (the A
    neighbour is also among B's k), title_b, similarity_b, in_a. `k` defaults to the comparison's k."""
    k = comparison.k if k is None else int(k)
    raw_ids = comparison.match.raw_ids[comparison.positions]
    where = np.flatnonzero(raw_ids == str(item_id))
    if len(where) == 0:
        raise CollabError(f"item {item_id!r} is not among the {len(raw_ids):,} compared items (shared by both runs "
                          f"with at least {comparison.min_ratings} ratings in each)")
    row = int(where[0])
    k = max(1, min(k, len(raw_ids) - 1))
    found = []
    for run, indices in ((a, comparison.match.index_a), (b, comparison.match.index_b)):
        factors = run.item_factors()[indices[comparison.positions]].astype(np.float64)  # (n_compared, width)
        norms = np.linalg.norm(factors, axis=1)
        unit = factors / np.where(norms == 0, 1.0, norms)[:, None]
        similarity = unit @ unit[row]  # (n_compared,)
        similarity[row] = -np.inf
        order = np.argsort(-similarity, kind="stable")[:k]
        found.append((order, similarity[order]))
    (order_a, sim_a), (order_b, sim_b) = found
    return pd.DataFrame({"rank": np.arange(1, k + 1), "title_a": comparison.titles[order_a], "similarity_a": sim_a,
                         "in_b": np.isin(order_a, order_b), "title_b": comparison.titles[order_b],
                         "similarity_b": sim_b, "in_a": np.isin(order_b, order_a)})
