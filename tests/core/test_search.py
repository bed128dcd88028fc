"""collab_core.data.search: what a picker offers for a typed fragment, without Streamlit."""
import numpy as np
import pandas as pd

from collab_core.data.catalog import ItemCatalog, Vocab
from collab_core.data.search import match_ids, match_items


def catalog() -> ItemCatalog:
    titles = ["GoldenEye (1995)", "Toy Story (1995)", "The Golden Child (1986)", "Heat (1995)", "2 Days (1996)",
              "goldfinger (1964)"]
    items = pd.DataFrame({"title": titles, "year": pd.array([1995] * 6, dtype="Int64"), "genres": [[]] * 6})
    counts = np.array([50, 90, 10, 70, 5, 60])
    return ItemCatalog(Vocab(np.array(["1", "2", "3", "4", "5", "6"], dtype=object)), items, counts, np.ones(6))


def test_nothing_typed_offers_the_most_rated_first_within_the_limit():
    assert match_items(catalog(), "", limit=3).offered == ["2", "4", "6"]
    assert match_items(catalog(), None, limit=10).offered == ["2", "4", "6", "1", "3", "5"]


def test_a_fragment_matches_titles_case_insensitively_most_rated_first():
    assert match_items(catalog(), "  GOLD ").offered == ["6", "1", "3"]
    assert match_items(catalog(), "gold", limit=2).offered == ["6", "1"]
    assert match_items(catalog(), "no such film").offered == []


def test_an_exact_id_comes_before_titles_that_contain_it():
    assert match_items(catalog(), "2").offered == ["2", "5"]  # id 2 (Toy Story), then "2 Days"


def test_the_selection_is_kept_ahead_of_the_matches_and_excluded_ids_never_offered():
    assert match_items(catalog(), "gold", keep=["4"]).offered == ["4", "6", "1", "3"]
    assert match_items(catalog(), "gold", keep=["1"]).offered == ["1", "6", "3"]  # no repeat
    assert match_items(catalog(), "", limit=2, exclude=["2", "4"]).offered == ["6", "1"]
    assert match_items(catalog(), "gold", keep=["6"], exclude=["6"]).offered == ["1", "3"]


def test_ids_match_by_fragment_exact_first_then_most_active():
    vocab = Vocab(np.array(["7", "17", "70", "170", "8"], dtype=object), "user")
    activity = np.array([5, 50, 20, 30, 100])
    assert match_ids(vocab, activity, "", limit=2).offered == ["8", "17"]
    assert match_ids(vocab, activity, "7").offered == ["7", "17", "170", "70"]
    assert match_ids(vocab, activity, "17", keep=["8"]).offered == ["8", "17", "170"]
    assert match_ids(vocab, activity, "x").offered == []


def test_a_scale_sized_catalog_answers_within_a_bounded_list():
    from collab_core.bench.scale_run import ScaleShape, scale_run

    run = scale_run(0, ScaleShape(n_users=1_000, n_items=20_000, n_ratings=400_000, n_factors=4))
    found = match_items(run.catalog, "the", limit=100).offered
    assert len(found) == 100  # every synthetic title has "The": bounded all the same
    counts = run.catalog.counts[run.catalog.vocab.to_index(found)]
    assert (np.diff(counts) <= 0).all()
    assert len(match_ids(run.users, run.user_counts, "1", limit=50).offered) == 50


def test_the_counts_are_over_what_the_text_matches_whatever_is_kept_beside_it():
    only_one = match_items(catalog(), "toy", keep=["2"])  # the match is also the selection
    assert only_one.offered == ["2"] and only_one.matched == 1 and only_one.excluded == 0
    several = match_items(catalog(), "gold", limit=2, keep=["4"])
    assert several.offered == ["4", "6", "1"] and several.matched == 3 and several.cut
    none = match_items(catalog(), "no such film", keep=["4"])
    assert none.offered == ["4"] and none.matched == 0 and not none.cut
    rated = match_items(catalog(), "gold", exclude=["1", "6"])
    assert rated.offered == ["3"] and rated.matched == 1 and rated.excluded == 2
    assert match_items(catalog(), "2").matched == 2  # id 2, and "2 Days": Toy Story is not counted twice
    assert not match_items(catalog(), "").typed
