"""The lesson's analyses of a trained model, as plain functions over numpy arrays.

- bias rankings: the learned item bias as an "unbiased movie score", among the most-rated items;
- PCA of the item factors (coordinates, explained variance, the titles at each end of a component)
  and the transposed view (PCA fitted on factors.T, whose components_ weigh each item);
- UMAP (umap-learn is imported inside the function: its import and first fit are slow);
- exact nearest neighbours with a KD-tree, euclidean or cosine.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.neighbors import KDTree

from collab_core.errors import CollabError
from collab_core.model.trained import TrainedModel


# ---------------------------------------------------------------------- bias rankings
def item_table(trained: TrainedModel, indices: np.ndarray | None = None) -> pd.DataFrame:
    """One row per item: item (raw id), title, year, genres, bias, mean_rating, count; index = item index.
    `title` is the catalog's display title (the id appended where two items share a title): this table is what
    the pages show items by."""
    catalog = trained.catalog
    indices = np.arange(trained.n_items) if indices is None else np.asarray(indices)
    biases = trained.item_biases()
    table = pd.DataFrame({
        "item": catalog.vocab.ids[indices],
        "title": catalog.display_titles[indices],
        "year": catalog.items["year"].to_numpy()[indices],
        "genres": [", ".join(g) for g in catalog.items["genres"].to_numpy()[indices]],
        "bias": biases[indices] if biases is not None else np.nan,
        "mean_rating": catalog.means[indices],
        "count": catalog.counts[indices],
    }, index=pd.Index(indices, name="index"))
    return table


MAP_POINTS = 5_000  # the most points a page's map draws by default: MovieLens 25M has 59,047 items


def most_rated(indices: np.ndarray, counts: np.ndarray, limit: int = MAP_POINTS, always=()) -> np.ndarray:
    """(m,) sorted item indices: the `limit` most rated of `indices` (ties by index), plus `always` (the
    query, its neighbours: items a map must show whatever their count). All of them when there are fewer."""
    indices = np.asarray(indices, dtype=np.int64)  # (n,)
    if len(indices) > limit:
        indices = indices[np.argsort(-np.asarray(counts)[indices], kind="stable")[:limit]]  # (limit,)
    return np.union1d(indices, np.asarray(list(always), dtype=np.int64))


def sample(n: int, limit: int = MAP_POINTS, seed: int = 0) -> np.ndarray:
    """(min(n, limit),) sorted positions of a seeded uniform sample of n rows: for a chart whose point is the
    whole distribution (rare items included), where `most_rated` would keep only one end of it."""
    if n <= limit:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, limit, replace=False))


def candidate_items(trained: TrainedModel, top_n_most_rated: int | None = 1000,
                    min_ratings: int | None = None) -> np.ndarray:
    """Items eligible for a ranking: the top-N most rated (the lesson uses 1,000), or those with at least
    `min_ratings` ratings when that is given instead. An imported run without rating counts has no "most
    rated": all its items are eligible."""
    if not trained.has_counts:
        return np.arange(trained.n_items)
    if min_ratings is not None:
        return trained.catalog.with_min_ratings(min_ratings)
    return trained.catalog.top_items(top_n_most_rated)


def bias_ranking(trained: TrainedModel, n: int = 15, top_n_most_rated: int | None = 1000,
                 min_ratings: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(highest, lowest) n items by learned bias among the candidates, with mean rating and count alongside.

    A low bias on a well-rated film means: people who like films like this still rate it lower than the
    factors predict, i.e. the bias separates "what kind of film" from "how good".
    """
    if not trained.has_bias:
        if trained.imported:
            raise CollabError("this imported run has no item biases to rank: its metadata had no bias column")
        raise CollabError(f"a {trained.config.model!r} model has no biases to rank; train 'dot_bias'")
    table = item_table(trained, candidate_items(trained, top_n_most_rated, min_ratings))
    ordered = table.sort_values("bias", ascending=False, kind="stable")
    return _ranked(ordered.head(n)), _ranked(ordered.tail(n).iloc[::-1])


def _ranked(table: pd.DataFrame) -> pd.DataFrame:
    return table.reset_index().rename(columns={"index": "item_index"}).assign(rank=np.arange(1, len(table) + 1))


def user_bias_table(trained: TrainedModel) -> pd.DataFrame:
    """One row per user: user (raw id), bias, mean_rating, count."""
    biases = trained.user_biases()
    return pd.DataFrame({"user": trained.users.ids, "bias": biases if biases is not None else np.nan,
                         "mean_rating": trained.user_means, "count": trained.user_counts})


# ---------------------------------------------------------------------- PCA
@dataclass(frozen=True)
class PCAResult:
    """PCA of a (n_samples, n_features) matrix."""

    coords: np.ndarray  # (n_samples, k): each sample in component space
    components: np.ndarray  # (k, n_features): unit directions, as sklearn's components_
    explained_variance_ratio: np.ndarray  # (k,)
    mean: np.ndarray  # (n_features,) subtracted before projecting


def pca(matrix: np.ndarray, k: int = 3) -> PCAResult:
    """Exact PCA by SVD of the centred matrix. Signs are fixed so each component's largest loading is
    positive; scikit-learn picks signs differently, so results agree with it up to sign."""
    matrix = np.asarray(matrix, dtype=np.float64)
    n, width = matrix.shape
    if n < 2:
        raise CollabError(f"PCA needs at least 2 rows, got {n}")
    k = int(min(k, n, width))
    mean = matrix.mean(axis=0)
    centred = matrix - mean
    u, s, vt = np.linalg.svd(centred, full_matrices=False)  # u (n, r), s (r,), vt (r, width)
    signs = np.sign(vt[np.arange(len(vt)), np.abs(vt).argmax(axis=1)])
    signs[signs == 0] = 1
    u, vt = u * signs, vt * signs[:, None]
    total = (s**2).sum()
    ratio = (s**2) / total if total > 0 else np.zeros_like(s)
    return PCAResult(coords=u[:, :k] * s[:k], components=vt[:k], explained_variance_ratio=ratio[:k], mean=mean)


def item_pca(trained: TrainedModel, indices: np.ndarray, k: int = 3) -> PCAResult:
    """PCA of the chosen items' factors (the lesson fits it on the 1,000 most-rated movies)."""
    return pca(trained.item_factors()[indices], k)


def pca_map(factors: np.ndarray, fitted_on: np.ndarray, k: int = 2) -> np.ndarray:
    """(n_items, k): every row of `factors` projected on the first k principal components of the rows
    `fitted_on` (e.g. the items with enough ratings), so a rarely-rated item still has a place on the map.
    Fewer than 2 such rows: fitted on all of them."""
    result = pca(factors[fitted_on] if len(fitted_on) >= 2 else factors, k)
    return (np.asarray(factors, dtype=np.float64) - result.mean) @ result.components.T


def component_extremes(result: PCAResult, titles: np.ndarray, n: int = 10) -> list[dict]:
    """For each component, the n titles at its top and bottom: the lesson's fac0/fac1/fac2 tables,
    which are how a person names a component ("connoisseur" vs "blockbuster"). `titles`: (n_samples,) as shown,
    e.g. catalog.display_titles of the items fitted."""
    out = []
    for c in range(result.coords.shape[1]):
        order = np.argsort(result.coords[:, c], kind="stable")
        out.append({
            "component": c,
            "explained_variance_ratio": float(result.explained_variance_ratio[c]),
            "top": [(str(titles[i]), float(result.coords[i, c])) for i in order[::-1][:n]],
            "bottom": [(str(titles[i]), float(result.coords[i, c])) for i in order[:n]],
        })
    return out


def transposed_pca(matrix: np.ndarray, k: int = 3) -> np.ndarray:
    """The lesson's `pca.fit(factors.T).components_`: PCA with the factor dimensions as samples and the
    items as features. Returns (n_items, k): how much each item weighs in each component."""
    return pca(np.asarray(matrix).T, k).components.T


# ---------------------------------------------------------------------- UMAP
def umap_embed(matrix: np.ndarray, n_components: int = 2, n_neighbors: int = 15, min_dist: float = 0.1,
               metric: str = "euclidean", seed: int | None = 42) -> np.ndarray:
    """(n, n_components) UMAP layout of the rows. A fixed seed makes it reproducible (single-threaded).

    Guarded for tiny inputs: n_neighbors is capped at n-1, and below 4 rows UMAP is refused with a message.
    """
    import umap  # lazy: importing umap pulls numba and takes seconds

    matrix = np.asarray(matrix, dtype=np.float32)
    n = len(matrix)
    if n_components not in (2, 3):
        raise CollabError(f"UMAP dimensions must be 2 or 3, got {n_components}")
    if n < 4 or n <= n_components + 1:
        raise CollabError(f"UMAP needs at least {max(4, n_components + 2)} points, got {n}; choose more items")
    if not 0.0 <= min_dist <= 1.0:
        raise CollabError(f"UMAP min_dist must be in [0, 1], got {min_dist}")
    reducer = umap.UMAP(n_components=n_components, n_neighbors=int(max(2, min(n_neighbors, n - 1))),
                        min_dist=min_dist, metric=metric, random_state=seed,
                        # spectral init needs a well-connected graph; tiny sets get a random init instead
                        init="spectral" if n > 50 else "random")
    return reducer.fit_transform(matrix)


# ---------------------------------------------------------------------- nearest neighbours
METRICS = ("euclidean", "cosine")


class NeighbourIndex:
    """Exact k-nearest neighbours over item factors with scikit-learn's KDTree.

    `candidates` restricts the answers to some items (e.g. those with at least 20 ratings: weight decay
    pulls rarely-rated items towards the origin, where they crowd every neighbourhood); any item can
    still be the query. Cosine: vectors are scaled to unit length, where euclidean distance d and cosine
    distance relate by cos_dist = d^2 / 2, so one tree answers both; distances are reported as cosine
    distance. Above ~20 dimensions a KD-tree is no faster than brute force (sklearn's docs say so;
    `bench` measures both), but it is exact either way.
    """

    def __init__(self, factors: np.ndarray, metric: str = "euclidean", candidates: np.ndarray | None = None,
                 leaf_size: int = 40):
        if metric not in METRICS:
            raise CollabError(f"metric must be one of {', '.join(METRICS)}, got {metric!r}")
        self.metric = metric
        self.points = _prepare(np.asarray(factors, dtype=np.float64), metric)  # (n_items, width)
        self.candidates = np.arange(len(self.points)) if candidates is None else np.asarray(candidates, dtype=np.int64)
        if len(self.candidates) == 0:
            raise CollabError("no items to search among: lower the minimum number of ratings")
        self.tree = KDTree(self.points[self.candidates], leaf_size=leaf_size)  # over (n_candidates, width)

    def __len__(self) -> int:
        return len(self.candidates)

    def query_index(self, index: int, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """(item indices (k,), distances (k,)) of the k nearest candidates to item `index`, itself excluded."""
        if not 0 <= index < len(self.points):
            raise CollabError(f"item index {index} out of range (0..{len(self.points) - 1})")
        k = _check_k(k, len(self) - int(np.isin(index, self.candidates)))
        distances, positions = self.tree.query(self.points[index: index + 1], k=min(k + 1, len(self)))
        found = self.candidates[positions[0]]
        keep = found != index
        if keep.all():  # the query is not a candidate, or duplicates pushed it out: drop the farthest
            keep[-1] = len(found) <= k
        return found[keep][:k], self._distance(distances[0][keep][:k])

    def query_vector(self, vector: np.ndarray, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """(item indices (k,), distances (k,)) of the k nearest candidates to an arbitrary vector."""
        vector = np.asarray(vector, dtype=np.float64).reshape(1, -1)
        if vector.shape[1] != self.points.shape[1]:
            raise CollabError(f"query vector has {vector.shape[1]} dimensions, the items have {self.points.shape[1]}")
        k = _check_k(k, len(self))
        distances, positions = self.tree.query(_prepare(vector, self.metric), k=k)
        return self.candidates[positions[0]], self._distance(distances[0])

    def _distance(self, euclidean: np.ndarray) -> np.ndarray:
        return euclidean**2 / 2 if self.metric == "cosine" else euclidean


def _prepare(points: np.ndarray, metric: str) -> np.ndarray:
    if metric == "euclidean":
        return points
    norms = np.linalg.norm(points, axis=1, keepdims=True)
    return points / np.where(norms == 0, 1.0, norms)  # a zero vector stays zero


def _check_k(k: int, available: int) -> int:
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise CollabError(f"k must be a whole number >= 1, got {k!r}")
    if available < 1:
        raise CollabError("there are no other items to compare with")
    return int(min(k, available))


def brute_force_neighbours(factors: np.ndarray, index: int, k: int, metric: str = "euclidean",
                           candidates: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Reference answer by computing every distance: what the KD-tree must match exactly."""
    points = _prepare(np.asarray(factors, dtype=np.float64), metric)
    candidates = np.arange(len(points)) if candidates is None else np.asarray(candidates)
    candidates = candidates[candidates != index]
    distances = np.sqrt(((points[candidates] - points[index]) ** 2).sum(axis=1))
    order = np.argsort(distances, kind="stable")[:k]
    found = distances[order]
    return candidates[order], (found**2 / 2 if metric == "cosine" else found)


def umap_warm_up() -> None:
    """One tiny UMAP fit: pays numba's one-off compilation (seconds; docs/performance.md, "At ML-25M size") in
    whichever process calls it."""
    umap_embed(np.random.default_rng(0).normal(size=(60, 8)), 2, n_neighbors=10)
