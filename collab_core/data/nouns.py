"""What the items (and users) of a run are called, so every page speaks of "movies" for MovieLens and of the
data's own things otherwise ("items" when nothing says what they are).

A page written for MovieLens says "Search movies" and "5 popular movies"; shown over imported vectors of foods,
those words are wrong in front of a room. Every text that names the items takes its noun from here.
"""
from __future__ import annotations

from dataclasses import dataclass

from collab_core.errors import DataError


@dataclass(frozen=True)
class Noun:
    """A countable noun: `one` for a single thing, `many` for several."""

    one: str
    many: str

    def count(self, n: int) -> str:
        """'1 movie', '1,682 movies'."""
        return f"{n:,} {self.of(n)}"

    def of(self, n: int) -> str:
        """The noun that goes with `n` ('movie' or 'movies')."""
        return self.one if n == 1 else self.many

    @property
    def a(self) -> str:
        """The singular with its article: 'a movie', 'an item'."""
        return ("an " if self.one[:1].lower() in "aeiou" else "a ") + self.one

    @property
    def One(self) -> str:  # noqa: N802 - reads as the capitalised word at the start of a sentence or label
        return self.one[:1].upper() + self.one[1:]

    @property
    def Many(self) -> str:  # noqa: N802
        return self.many[:1].upper() + self.many[1:]


MOVIE = Noun("movie", "movies")
ITEM = Noun("item", "items")
USER = Noun("user", "users")
MAX_NOUN = 40  # characters of each form of a noun a person typed
MAX_NOUN_INPUT = 2 * MAX_NOUN + 3  # what they may type: both forms, "one / many"
MOVIELENS_PREFIX = "MovieLens"  # every MovieLens dataset's name starts so (the built-in one, a folder, a fetch)


def from_words(words: str | None) -> Noun | None:
    """A noun a person typed: "foods", or both forms as "person / people" (singular / plural, a slash between
    spaces: "TV/film titles" is one plural); None when blank. A plural alone gives its singular by the regular
    English rule (dishes -> dish, foods -> food); an irregular one needs both forms. Raises DataError for a form
    with no letter or digit in it, or longer than MAX_NOUN."""
    text = " ".join((words or "").split())
    if not text:
        return None
    if len(text) > MAX_NOUN_INPUT:
        raise DataError(f"the name of the items must be at most {MAX_NOUN} characters (each form, as in "
                        f"'person / people'), got {len(text)} in all")
    if " / " in text:
        one, many = (part.strip() for part in text.split(" / ", 1))
    else:
        one, many = singular(text), text
    for word in (one, many):
        if not any(c.isalnum() for c in word):
            raise DataError(f"the name of the items needs a word, such as foods (or person / people for both "
                            f"forms); got {text!r}")
        if len(word) > MAX_NOUN:
            raise DataError(f"the name of the items must be at most {MAX_NOUN} characters, got {word[:MAX_NOUN]!r}…")
    return Noun(one, many)


def singular(plural: str) -> str:
    """The regular English singular of `plural` ("dishes" -> "dish", "foods" -> "food", "glasses" -> "glass");
    a word that does not end in a plural 's' is its own singular ("sheep")."""
    lowered = plural.lower()
    if lowered.endswith(("ches", "shes", "sses", "xes", "zes")):
        return plural[:-2]
    if lowered.endswith("s") and not lowered.endswith(("ss", "us", "is")) and len(plural) > 1:
        return plural[:-1]
    return plural


def item_noun(dataset: str, stored: dict | None = None) -> Noun:
    """The noun for a run's items: the one stored with the run (an import names its own), else movies for
    MovieLens data and items for anything else."""
    if stored and stored.get("one") and stored.get("many"):
        return Noun(str(stored["one"]), str(stored["many"]))
    return MOVIE if str(dataset).startswith(MOVIELENS_PREFIX) else ITEM
