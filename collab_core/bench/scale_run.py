"""A run shaped like one trained on MovieLens 25M, built directly (no training), to measure the dashboard at scale.

Training 25M ratings takes minutes on the 2-core development machine; what the pages do with a run depends only
on its shape: 162,541 users x 59,047 items, 50 factors, long-tailed rating counts, and factors whose norms grow
with the log of the rating count (weight decay shrinks every vector and only ratings push back, so a movie rated
once sits near the origin). `scale_run()` builds such a TrainedModel in a few seconds, with planted structure
(genre clusters) so maps and neighbour lists look like something; `save_scale_runs()` saves it (and a second run
of the same items, perturbed and rotated, for Compare) with RunStore. The figures in docs/performance.md say
which were measured on these runs and which on real training.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from collab_core.bench.synthetic import ML25M_ITEMS, ML25M_RATINGS, ML25M_USERS, long_tailed_counts
from collab_core.data.catalog import ItemCatalog, Vocab
from collab_core.data.rating_values import discrete_scale
from collab_core.model.config import default_config
from collab_core.model.trained import TrainedModel

# MovieLens 25M's shape (its README): 25,000,095 ratings by 162,541 users of 59,047 movies
GENRES = ("Drama", "Comedy", "Thriller", "Romance", "Action", "Horror", "Documentary", "Crime", "Adventure",
          "Sci-Fi", "Children", "Animation", "Mystery", "Fantasy", "War", "Western", "Musical", "Film-Noir",
          "IMAX")
_ADJECTIVES = ("Silent", "Last", "Red", "Lost", "Golden", "Dark", "Secret", "Broken", "Wild", "Little", "Hidden",
               "Burning", "Frozen", "Endless", "Crimson", "Midnight", "Eternal", "Savage", "Lonely", "Electric",
               "Distant", "Hollow", "Brave", "Restless", "Bitter", "Sweet", "Iron", "Paper", "Glass", "Star")
_NOUNS = ("River", "City", "Night", "Road", "Heart", "Garden", "Storm", "King", "Summer", "Shadow", "War", "Island",
          "Dream", "Mountain", "Station", "Letter", "Promise", "Empire", "Harbor", "Kingdom", "Winter", "Stranger",
          "Machine", "Ocean", "Forest", "Dance", "Hunter", "Wars", "Voyage", "Mirror", "Crown", "Bridge", "Fire",
          "Sky", "Angel", "Witness", "Desert", "Circus", "Signal", "Horizon")
_SUBTITLES = ("", "", "", " Returns", " II", " III", ": The Beginning", ": Reloaded", " of the North", " at Dawn",
              " in Paris", " of Tomorrow", ": Part One", " Forever", " Rising", " of Fire", " in Winter", " Again",
              " of the Lost", " Unchained", ": Legacy", " of Glass", " at Sea", " of Gold", " Redux", " Diaries",
              " Chronicles", " Affair", " Story", " Tapes")


@dataclass(frozen=True)
class ScaleShape:
    """How big the run is; the defaults are MovieLens 25M's."""

    n_users: int = ML25M_USERS
    n_items: int = ML25M_ITEMS
    n_ratings: int = ML25M_RATINGS
    n_factors: int = 50


def _trained_like(rng: np.random.Generator, counts: np.ndarray, centres: np.ndarray, group: np.ndarray
                  ) -> np.ndarray:
    """(n, width) float32 factors: a direction near the row's group centre, of a length that grows with
    log10(1 + count) (about 0.15 for one rating, 1.7 for 80K), as weight decay leaves trained factors."""
    width = centres.shape[1]
    noise = rng.normal(0.0, 1.0, (len(counts), width)) / np.sqrt(width)  # (n, width), unit length on average
    directions = centres[group] + 0.9 * noise  # (n, width)
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    lengths = (0.1 + 0.33 * np.log10(1 + counts)) * rng.lognormal(0.0, 0.15, len(counts))  # (n,)
    return (directions * lengths[:, None]).astype(np.float32)


def _titles(rng: np.random.Generator, years: np.ndarray) -> list[str]:
    """'The Silent River Returns (1994)'-like titles: 36,000 word combinations, so a search word matches many
    titles and some titles repeat (as in MovieLens 25M, where about a hundred titles name two movies)."""
    adjectives, nouns, subtitles = (rng.choice(words, len(years)) for words in (_ADJECTIVES, _NOUNS, _SUBTITLES))
    return [f"The {a} {n}{s} ({y})" for a, n, s, y in zip(adjectives, nouns, subtitles, years)]


def _catalog(rng: np.random.Generator, shape: ScaleShape, item_counts: np.ndarray, genre: np.ndarray,
             item_bias: np.ndarray) -> ItemCatalog:
    ids = np.sort(rng.choice(np.arange(1, 209_172), shape.n_items, replace=False))  # ML-25M's ids reach 209,171
    years = np.clip(np.round(2015 - rng.gamma(2.0, 12.0, shape.n_items)), 1902, 2019).astype(int)
    extra = rng.integers(0, len(GENRES), (shape.n_items, 2))
    n_genres = rng.integers(1, 4, shape.n_items)
    genres = [list(dict.fromkeys([GENRES[g], GENRES[e0], GENRES[e1]][:k]))
              for g, e0, e1, k in zip(genre, extra[:, 0], extra[:, 1], n_genres)]
    items = pd.DataFrame({"title": _titles(rng, years), "year": pd.array(years, dtype="Int64"), "genres": genres})
    # a mean rating that follows the bias, noisier for rarely rated movies, on the half-star scale's range
    means = np.clip(3.5 + 0.8 * item_bias + rng.normal(0, 0.6, shape.n_items) / np.sqrt(item_counts), 0.5, 5.0)
    return ItemCatalog(Vocab(ids.astype(str).astype(object), "item"), items, item_counts, means)


def scale_run(seed: int = 0, shape: ScaleShape = ScaleShape(), structure_seed: int = 0,
              name: str = "") -> TrainedModel:
    """A dot_bias TrainedModel of `shape` whose factors look trained. Runs that share `structure_seed` have the
    same items, users, counts and planted structure; `seed` changes the noise on top and turns the factor space
    (a second seed of the same training, as Compare expects: the same structure along other axes)."""
    base = np.random.default_rng(structure_seed)
    item_counts = long_tailed_counts(base, shape.n_items, shape.n_ratings, 1, 2.2,
                                     max_share=192 / shape.n_items)  # ML-25M's most rated: 192x the mean count
    user_counts = long_tailed_counts(base, shape.n_users, shape.n_ratings, 20, 1.4)
    genre = base.choice(len(GENRES), shape.n_items, p=_genre_shares())
    centres = base.normal(0.0, 1.0, (len(GENRES), shape.n_factors)) / np.sqrt(shape.n_factors)
    item_bias = base.normal(0.0, 0.5, shape.n_items) * item_counts / (item_counts + 10)  # rare: shrunk to 0
    catalog = _catalog(base, shape, item_counts, genre, item_bias)
    user_taste = base.choice(len(GENRES), shape.n_users, p=_genre_shares())

    rng = np.random.default_rng(1000 + seed)
    rotation = np.linalg.qr(rng.normal(size=(shape.n_factors, shape.n_factors)))[0] if seed else np.eye(
        shape.n_factors)  # (width, width) orthogonal: another seed learns the same space along other axes
    items = _trained_like(rng, item_counts, centres, genre) @ rotation.astype(np.float32)  # (n_items, width)
    users = _trained_like(rng, user_counts, centres, user_taste) @ rotation.astype(np.float32)  # (n_users, width)
    config = default_config("dot_bias", n_factors=shape.n_factors, y_range=(0.0, 5.5))
    model = config.kind.build(config, shape.n_users, shape.n_items)
    with torch.no_grad():
        model.item_factors.weight.copy_(torch.from_numpy(items))
        model.user_factors.weight.copy_(torch.from_numpy(users))
        model.item_bias.weight.copy_(torch.from_numpy(
            (item_bias + rng.normal(0, 0.05, shape.n_items)).astype(np.float32)[:, None]))
        model.user_bias.weight.copy_(torch.from_numpy(base.normal(0.0, 0.4, (shape.n_users, 1)).astype(np.float32)))
    user_means = np.clip(3.5 + base.normal(0, 0.45, shape.n_users), 0.5, 5.0)
    history = [{"epoch": e, "train_loss": 0.9 - 0.08 * e, "valid_mse": 0.78 - 0.02 * e + 0.004 * seed,
                "valid_rmse": float(np.sqrt(0.78 - 0.02 * e + 0.004 * seed)), "elapsed": 60.0 * e}
               for e in range(1, 5)]
    metrics = {"rmse": history[-1]["valid_rmse"], "mse": history[-1]["valid_mse"], "fit_seconds": 240.0,
               "device": "none (built by collab_core.bench.scale_run, not trained)",
               "n_train": int(shape.n_ratings * 0.9),
               "n_valid": shape.n_ratings - int(shape.n_ratings * 0.9)}
    users_vocab = Vocab(np.arange(1, shape.n_users + 1).astype(str).astype(object), "user")
    return TrainedModel(model.eval(), config, users_vocab, user_counts, user_means, catalog, metrics, history,
                        dataset=f"ML-25M-shaped synthetic run ({shape.n_ratings:,} ratings, not trained)", name=name,
                        recorded_scale=discrete_scale(np.arange(1, 11) / 2))  # ML-25M's half stars, 0.5 to 5


def _genre_shares() -> np.ndarray:
    """How often each genre is a movie's first: Zipf-like, Drama and Comedy most (as in MovieLens)."""
    shares = 1.0 / np.arange(1, len(GENRES) + 1) ** 0.9
    return shares / shares.sum()


def save_scale_runs(root, count: int = 2, shape: ScaleShape = ScaleShape()) -> list[str]:
    """Save `count` runs of the same items (seeds 0, 1, ...) in the runs folder `root`; returns their ids
    ('scale-run-0', ...). At full size each takes seconds to build and tens of MB on disk (docs/performance.md,
    "At ML-25M size")."""
    from collab_core.runs.store import RunStore

    store = RunStore(root)
    ids = []
    for seed in range(count):
        run_id = f"scale-run-{seed}"
        if not store.exists(run_id):
            store.save(scale_run(seed, shape), run_id, name=f"ML-25M-shaped, seed {seed}")
        ids.append(run_id)
    return ids
