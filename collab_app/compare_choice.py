"""Which run the Compare page sets beside run A, and what it says when two runs cannot be compared.

Compare took the newest other run as its default B and opened on an error when that run could not be compared
with A (a tiny upload on other items, another dataset). Now:
- the default B is the newest other run that can be compared with A (`collab_core.analysis.compare.why_not_comparable`,
  a cheap check, cached per pair), so the newest run stays the default whenever it can be; when no other run
  can, B is A itself (every figure then shows perfect agreement, as with a single run) and `no_partner` says
  what to train;
- a B that cannot be compared with A (from a link, or chosen) gets `advice`: why, in plain words, and which run
  to pick instead or what to train. The page shows it as a notice, not an error.
Messages are Markdown with every run name, dataset and reason escaped (collab_app.text.md).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

from . import cached
from .text import md


def comparable_partner(run_a: str, run_ids: Sequence[str], min_ratings: int) -> str | None:
    """The first of `run_ids` (newest first), other than A, that can be compared with A, a run on A's own data
    first (another data whose ids happen to overlap A's is compared only when nothing else can be); None when
    none can."""
    dataset = cached.load_run(run_a).dataset
    same = [r for r in run_ids if cached.run_dataset(r) == dataset]
    return next((r for r in [*same, *[r for r in run_ids if r not in same]]
                 if r != run_a and cached.why_not_comparable(run_a, r, min_ratings) is None), None)


def default_b(run_a: str, run_ids: Sequence[str], min_ratings: int) -> str:
    """Compare's default run B: the newest other run comparable with A, else A itself."""
    return comparable_partner(run_a, run_ids, min_ratings) or run_a


def advice(run_a: str, run_b: str, run_ids: Sequence[str], min_ratings: int, name: Callable[[str], str]
           ) -> str | None:
    """Why run B cannot be compared with run A and what to pick or train instead (Markdown); None when it can.
    `name`: how a run id reads on the page."""
    reason = cached.why_not_comparable(run_a, run_b, min_ratings)
    if reason is None:
        return None
    which = (f"Run A ({md(name(run_a))}) cannot be compared with itself" if run_a == run_b else
             f"Run B ({md(name(run_b))}) cannot be compared with run A ({md(name(run_a))})")
    partner = comparable_partner(run_a, [r for r in run_ids if r != run_b], min_ratings)
    if partner is not None:
        instead = (f" Pick {md(name(partner))} for B: it shares enough "
                   f"{md(cached.load_run(run_a).item_noun.many)} with A.")
    elif min_ratings > 0 and cached.why_not_comparable(run_a, run_b, 0) is None:
        instead = ""  # the reason says it: lower the minimum number of ratings
    else:
        instead = " " + _train_another(run_a)
    return f"{which}: {md(reason)}.{instead}"


def no_partner(run_a: str, run_ids: Sequence[str], min_ratings: int, name: Callable[[str], str]) -> str:
    """The notice when no other run can be compared with A, so B is A itself (Markdown)."""
    newest = next(r for r in run_ids if r != run_a)
    reason = cached.why_not_comparable(run_a, newest, min_ratings) or ""
    return (f"No other run can be compared with run A ({md(name(run_a))}), so B is A itself and every figure below "
            f"shows perfect agreement. The newest other run, {md(name(newest))}, cannot: {md(reason)}. "
            + _train_another(run_a))


def _train_another(run_a: str) -> str:
    dataset = cached.load_run(run_a).dataset
    return (f"Train another run on {md(dataset)} (the same settings with another seed shows how much of a run is "
            f"chance), or pick another run A.")
