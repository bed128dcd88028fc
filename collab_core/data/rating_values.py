"""The rating scale of a run: the rating values its training data holds, recorded with the run.

A scale is a fact about the data, so it is read from the ratings when a model is trained (`observed_scale`),
saved in run.json (`RatingScale.to_json`, key "rating_scale") and read back when the run is loaded (checked by
run_schema, within the bounds set here: MAX_DISTINCT values, MAX_CONTINUOUS_STEPS steps). Front ends offer its
`values()` as star buttons; fold-in takes only those values from a person when the scale is `exact`.

Two kinds of recorded scale:
- discrete (at most MAX_DISTINCT distinct values, as every star scale is): the values themselves, e.g.
  [1, 2, 3, 4, 5] for MovieLens 100K, [0.5, 1, ..., 5] for the half stars of MovieLens 10M and later;
- continuous (more distinct values than that, e.g. Jester's -10 to 10 in hundredths, or a 0-100 score):
  the data's lowest and highest rating and a round step, 1, 2 or 5 times a power of ten, that cuts the
  range into at most ten steps. The values offered are the two ends and the multiples of the step between
  them (those within half a step of an end are left out, so no two buttons nearly repeat).

A run without recorded values, imported vectors (no ratings at all) or a run saved before runs recorded
them, gets `assumed_scale`: whole stars 1 to 5, flagged `assumed`, with a note in plain words saying so.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

# A 0-10 scale in half points has 21 values, the most of any star scale in common use; more distinct values
# than this are a continuous scale (and more buttons than this would not fit beside a movie anyway).
MAX_DISTINCT = 21
CONTINUOUS_STEPS = 10  # a continuous scale is offered in about this many round steps (5 to 10)
MAX_CONTINUOUS_STEPS = 2 * CONTINUOUS_STEPS  # the most a recorded continuous scale may have (run_schema checks)
_DECIMALS = 6  # ratings are float32 (about 7 significant digits): 4.1 is stored as 4.1, not 4.099999904632568
_CHUNK = 1_000_000  # ratings read at a time by observed_scale
_TOLERANCE = 1e-6  # a rating this close to a value of an exact scale is that value

ASSUMED_VALUES = (1.0, 2.0, 3.0, 4.0, 5.0)
NOTE_IMPORTED = ("Imported vectors come without their ratings, so this run does not know its rating scale: "
                 "whole stars 1 to 5 are offered.")
NOTE_UNRECORDED = ("This run was saved before runs recorded the rating values of their data, so its scale is "
                   "unknown: whole stars 1 to 5 are offered. Train it again to offer its data's own scale.")


@dataclass(frozen=True)
class RatingScale:
    """The ratings a person can give in a run (the star buttons), and where they come from."""

    points: tuple[float, ...]  # the ratings offered, lowest first
    step: float | None = None  # a continuous scale's round step between points; None: discrete (or assumed)
    assumed: bool = False  # True: nothing was recorded with the run; `points` are whole stars 1 to 5
    note: str = ""  # for an assumed scale: why, in plain words, to show beside the stars

    @property
    def low(self) -> float:
        return self.points[0]

    @property
    def high(self) -> float:
        return self.points[-1]

    @property
    def continuous(self) -> bool:
        return self.step is not None

    @property
    def exact(self) -> bool:
        """True when `points` are every rating the data holds, so no other value is a rating on this scale
        (a recorded discrete scale). A continuous scale's ends are only the lowest and highest rating seen,
        and an assumed scale is a guess: neither rules out a value between or beyond its points."""
        return not self.assumed and not self.continuous

    def values(self) -> list[float]:
        """Every rating offered, lowest first."""
        return list(self.points)

    def nearest(self, rating: float) -> float:
        """The offered rating closest to `rating` (ties go up)."""
        values = np.array(self.points)
        return float(values[np.argmin(np.abs(values - rating - 1e-9))])  # the nudge sends a tie to the higher value

    def holds(self, ratings: np.ndarray) -> np.ndarray:
        """(n,) bool: which of `ratings` (n,) are one of `points` (to within float32 rounding)."""
        ratings = np.asarray(ratings, dtype=np.float64)
        return np.isclose(ratings[:, None], np.array(self.points)[None, :], rtol=_TOLERANCE,
                          atol=_TOLERANCE).any(axis=1)  # (n, n_points) -> (n,)

    def describe(self) -> str:
        """'1, 2, 3, 4, 5' / 'any value from -9.95 to 10 (offered in steps of 2)' / the assumed note."""
        if self.assumed:
            return self.note
        if self.continuous:
            return f"any value from {self.low:g} to {self.high:g} (offered in steps of {self.step:g})"
        return ", ".join(f"{v:g}" for v in self.points)

    def to_json(self) -> dict:
        """run.json's "rating_scale": {"values": [...]} or {"low", "high", "step"}; an assumed scale is not saved."""
        if self.assumed:
            raise ValueError("an assumed rating scale is not a fact about the data: it is not saved")
        if self.continuous:
            return {"low": self.low, "high": self.high, "step": self.step}
        return {"values": list(self.points)}


def observed_scale(ratings: np.ndarray) -> RatingScale:
    """The scale of `ratings` (n,) (finite, n >= 1): its distinct values, or for more than MAX_DISTINCT of
    them a continuous scale (see the module docstring).

    Read a million ratings at a time, stopping as soon as there are too many distinct values to list: a star
    scale of 25M ratings is read in a fraction of a second (docs/performance.md, "Figures behind choices in the code"),
    and continuous ratings do not hash millions of distinct values."""
    ratings = np.asarray(ratings).ravel()
    if len(ratings) == 0:
        raise ValueError("no ratings: a rating scale needs at least one")
    distinct = np.empty(0)
    for start in range(0, len(ratings), _CHUNK):
        found = np.round(pd.unique(ratings[start:start + _CHUNK]).astype(np.float64), _DECIMALS)
        distinct = np.union1d(distinct, found)  # sorted, without repeats
        if len(distinct) > MAX_DISTINCT:
            low, high = round(float(ratings.min()), _DECIMALS), round(float(ratings.max()), _DECIMALS)
            return continuous_scale(low, high, _round_step((high - low) / CONTINUOUS_STEPS))
    return discrete_scale(distinct)


def discrete_scale(values) -> RatingScale:
    """The scale of these distinct values, increasing."""
    return RatingScale(tuple(float(v) for v in values))


def continuous_scale(low: float, high: float, step: float) -> RatingScale:
    """A continuous scale from `low` to `high` (low < high), offered at the ends and the multiples of `step`
    between them that are at least half a step from either end."""
    inside = np.arange(math.ceil(low / step), math.floor(high / step) + 1) * step  # multiples of step in range
    inside = inside[(inside >= low + step / 2) & (inside <= high - step / 2)]
    points = [low, *(round(float(v), _DECIMALS) for v in inside), high]
    return RatingScale(tuple(points), step=float(step))


def assumed_scale(note: str) -> RatingScale:
    """Whole stars 1 to 5, flagged as assumed, with `note` saying why."""
    return RatingScale(ASSUMED_VALUES, assumed=True, note=note)


def _round_step(size: float) -> float:
    """The 1, 2 or 5 times a power of ten nearest above `size` (> 0)."""
    power = 10.0 ** math.floor(math.log10(size))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= size * (1 - 1e-9))
    return float(f"{step:.12g}")  # 0.2, not 0.20000000000000004
