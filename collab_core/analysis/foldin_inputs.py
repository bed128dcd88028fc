"""A new user's ratings for the fold-in, read and checked against the run's scale; the scale itself; and
the made-up ratings a demo starts with (popular items at both ends of the map)."""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np

from collab_core.analysis.interpret import pca
from collab_core.data.rating_values import NOTE_IMPORTED, NOTE_UNRECORDED, RatingScale, assumed_scale
from collab_core.errors import AmbiguousTitleError, CollabError, UnknownIdError
from collab_core.model.trained import TrainedModel


class RatingError(CollabError):
    """A typed rating is malformed, outside the run's scale, repeats an item, or there are none."""


# ---------------------------------------------------------------------- reading the user's ratings
def rating_bounds(trained: TrainedModel) -> tuple[float, float] | None:
    """(low, high) ratings accepted for this run: the model's y_range; None ('dot', imported: any finite rating)."""
    if not trained.kind.bounded:
        return None
    low, high = trained.config.y_range
    return float(low), float(high)


def check_rating(trained: TrainedModel, rating, what: str = "rating") -> float:
    """`rating` as a float, or RatingError saying what the run accepts (see the module docstring)."""
    try:
        value = float(rating)
    except (TypeError, ValueError):
        raise RatingError(f"{what}: {rating!r} is not a number") from None
    if not math.isfinite(value):
        raise RatingError(f"{what}: {rating!r} is not a finite number")
    scale = rating_scale(trained)
    if scale.exact and not scale.holds(np.array([value]))[0]:
        raise RatingError(f"{what}: {value:g} is not on this run's scale; its data holds the ratings "
                          f"{scale.describe()}")
    bounds = rating_bounds(trained)
    if bounds is not None and not bounds[0] <= value <= bounds[1]:
        raise RatingError(f"{what}: {value:g} is outside this run's scale {bounds[0]:g} to {bounds[1]:g} "
                          f"(the model's y_range)")
    return value


def _accepted(trained: TrainedModel, values: np.ndarray) -> np.ndarray:
    """(n,) bool: which of `values` (n,) float64 check_rating accepts, at once."""
    bounds = rating_bounds(trained) or (-math.inf, math.inf)
    ok = np.isfinite(values) & (values >= bounds[0]) & (values <= bounds[1])
    scale = rating_scale(trained)
    return ok & scale.holds(values) if scale.exact else ok


def parse_rating(trained: TrainedModel, text: str) -> tuple[int, float]:
    """'Star Wars (1977)=5' or '50=4.5' -> (item index, rating). The item goes through `catalog.find_item`
    (raw id, exact title, or an unambiguous part of one); the rating must be one the run accepts."""
    item_text, sep, rating_text = str(text).rpartition("=")
    if not sep or not item_text.strip() or not rating_text.strip():
        raise RatingError(f"{text!r}: expected TITLE=RATING or ID=RATING, e.g. 'Star Wars (1977)=5'")
    try:
        index = trained.catalog.find_item(item_text.strip())
    except AmbiguousTitleError as exc:
        raise AmbiguousTitleError(f"{text!r}: {exc}", exc.candidates) from None
    except UnknownIdError as exc:
        raise UnknownIdError(f"{text!r}: {exc}") from None
    return index, check_rating(trained, rating_text.strip(), f"{text!r}")


def parse_ratings(trained: TrainedModel, texts: Iterable[str]) -> dict[int, float]:
    """Several 'item=rating' texts -> {item index: rating}. The same item twice is refused."""
    ratings: dict[int, float] = {}
    sources: dict[int, str] = {}
    for text in texts:
        index, value = parse_rating(trained, text)
        if index in ratings:
            raise RatingError(f"{trained.catalog.label(index)} is rated twice ({sources[index]!r} and {text!r}); "
                              f"give each item once")
        ratings[index], sources[index] = value, text
    return ratings


def rated_arrays(trained: TrainedModel, ratings: Mapping[int, float]) -> tuple[np.ndarray, np.ndarray]:
    """(item indices (n_rated,) int64, ratings (n_rated,) float64), checked."""
    if len(ratings) < 1:
        raise RatingError("no ratings given: rate at least one item")
    items = np.fromiter((int(i) for i in ratings), dtype=np.int64, count=len(ratings))
    bad = items[(items < 0) | (items >= trained.n_items)]
    if len(bad):
        raise RatingError(f"item index {int(bad[0])} is out of range (0..{trained.n_items - 1})")
    raw = list(ratings.values())
    try:
        values = np.array(raw, dtype=np.float64)  # (n_rated,)
        ok = _accepted(trained, values)
    except (TypeError, ValueError):  # something that is not a number: the loop below names it
        values, ok = None, np.zeros(len(raw), dtype=bool)
    for j in np.flatnonzero(~ok):  # the scalar check says what is wrong with which item
        check_rating(trained, raw[j], f"rating of {trained.catalog.label(int(items[j]))}")
    return items, values



def rating_scale(trained: TrainedModel) -> RatingScale:
    """The ratings a person can give in this run: the values its training data holds, recorded with the run
    (collab_core.data.rating_values); whole stars 1 to 5, flagged `assumed` with a note saying why, for a run
    that has none recorded (imported vectors, or a run saved before runs recorded them)."""
    if trained.recorded_scale is not None:
        return trained.recorded_scale
    return assumed_scale(NOTE_IMPORTED if trained.imported else NOTE_UNRECORDED)


def demo_ratings(trained: TrainedModel, n: int = 5, pool: int = 40,
                 fitted_on: np.ndarray | None = None) -> dict[int, float]:
    """{item index: rating} of a made-up person for a demo: `n` movies from the `pool` most rated, those
    at one end of the item map's first axis rated at the top of the scale and those at the other end one step
    above its bottom, so the folded-in user has a clear taste to show (a ranking run, which ignores stars: all `n`
    from one end, at the top of the scale). The map is the PCA of the items
    `fitted_on` (default: the pool), as `user_on_map` draws it. Deterministic."""
    pool_items = trained.catalog.top_items(max(pool, n))
    scale = rating_scale(trained)
    if len(pool_items) < 2:
        return {int(i): scale.values()[-1] for i in pool_items}
    factors = trained.item_factors().astype(np.float64)
    fit_rows = pool_items if fitted_on is None or len(fitted_on) < 2 else np.asarray(fitted_on)
    projection = pca(factors[fit_rows], 1)
    pc1 = (factors[pool_items] - projection.mean) @ projection.components[0]  # (pool,)
    order = pool_items[np.argsort(-pc1, kind="stable")]
    # a ranking run learned which items people rate, not their stars: a taste is the items chosen, all at one end
    loved = order[:n] if trained.kind.ranking else order[: (n + 1) // 2]
    disliked = order[::-1][: n - len(loved)]
    top, bottom = scale.values()[-1], scale.values()[min(1, len(scale.values()) - 1)]
    return {**{int(i): top for i in loved}, **{int(i): bottom for i in disliked}}


