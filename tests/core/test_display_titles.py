"""Display titles: where two items share a title, every person-facing table shows the id beside it; the raw
titles stay the data (search, exports)."""
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from collab_core.analysis import compare, diagnostics, foldin, foldin_explain, interpret
from collab_core.data import search
from collab_core.data.catalog import ID_MARK, distinct_titles, reads_as
from collab_core.data.ratings import random_split
from collab_core.errors import AmbiguousTitleError
from collab_core.runs import export
from tests.core.planted_models import planted_model
from tests.planted import planted_ratings

SHARED = "Kull the Conqueror (1997)"


def test_a_unique_title_stays_as_it_is_and_a_shared_one_gets_each_id():
    shown = distinct_titles(["Air Bud (1997)", SHARED, "Fargo (1996)", SHARED], ["1", "266", "100", "1336"])
    assert list(shown) == ["Air Bud (1997)", f"{SHARED}{ID_MARK}266", "Fargo (1996)", f"{SHARED}{ID_MARK}1336"]


def test_titles_that_read_the_same_on_a_screen_collide():
    """Case and runs of spaces do not tell two titles apart in a table cell."""
    titles = [SHARED, "kull the  conqueror (1997) ", "Other"]
    shown = distinct_titles(titles, ["a", "b", "c"])
    assert [s.endswith(f"{ID_MARK}{i}") for s, i in zip(shown, "abc")] == [True, True, False]


def test_a_title_equal_to_another_items_shown_form_gets_its_own_id():
    titles = [SHARED, SHARED, f"{SHARED}{ID_MARK}1"]
    shown = distinct_titles(titles, ["1", "2", "3"])
    assert not reads_as(shown).duplicated().any()
    assert shown[2] == f"{SHARED}{ID_MARK}1{ID_MARK}3"


@pytest.mark.parametrize("seed", range(5))
def test_display_titles_never_read_the_same_and_only_shared_titles_change(seed):
    rng = np.random.default_rng(seed)
    titles = rng.choice(["A", "a", "B", "B ", "C", "D", "E"], size=40)  # many collisions, some unique
    ids = rng.permutation(1000)[:40].astype(str)
    shown = distinct_titles(titles, ids)
    assert not reads_as(shown).duplicated().any()
    shared = reads_as(titles).duplicated(keep=False).to_numpy()
    np.testing.assert_array_equal(shown[~shared], titles[~shared])
    assert all(s == f"{t}{ID_MARK}{i}" for s, t, i in zip(shown[shared], titles[shared], ids[shared]))


def test_movielens_100k_shows_kull_the_conqueror_with_its_ids():
    from collab_core.data.datasets import load_builtin

    catalog = load_builtin().catalog
    kull = np.flatnonzero(catalog.titles == SHARED)
    assert len(kull) == 2  # MovieLens 100K's own pair: two ids, one title
    assert [catalog.display_titles[i] for i in kull] == [f"{SHARED}{ID_MARK}{catalog.vocab.ids[i]}" for i in kull]
    tagged = np.array([ID_MARK in t for t in catalog.display_titles])
    np.testing.assert_array_equal(tagged, pd.Series(catalog.titles).duplicated(keep=False).to_numpy())
    assert len(set(catalog.display_titles)) == len(catalog.display_titles)
    assert catalog.display_titles is catalog.display_titles  # computed once per catalog
    assert catalog.display_title(catalog.vocab.ids[kull[0]]) == catalog.display_titles[kull[0]]


@pytest.fixture(scope="module")
def twins():
    """A planted dot_bias whose items all share one title but items 0 and 1 ('Air Bud (1997)', 'Fargo (1996)'),
    and its ratings and split."""
    ratings, truth = planted_ratings(60, 40, 2400, n_factors=4, seed=0)
    titles = [SHARED] * ratings.n_items
    titles[0], titles[1] = "Air Bud (1997)", "Fargo (1996)"
    ratings = replace(ratings, items=ratings.items.assign(title=titles))
    return planted_model("dot_bias", ratings=ratings, truth=truth), ratings, random_split(ratings, 0.2, 0)


def shows_display_titles(trained, table: pd.DataFrame, title: str = "title", item: str = "item") -> None:
    """Each row's title is the display title of its item; the table shows no title twice for two items."""
    catalog = trained.catalog
    rows = table[table[title] != "item bias"]  # explain_item's last row is the movie's own bias
    assert len(rows), "no rows to check"
    assert list(rows[title]) == [catalog.display_title(i) for i in rows[item]]
    assert rows.drop_duplicates(item)[title].is_unique


def test_every_core_table_of_items_shows_display_titles(twins):
    trained, ratings, split = twins
    shows_display_titles(trained, interpret.item_table(trained))
    for ranking in interpret.bias_ranking(trained, n=10, top_n_most_rated=None):
        shows_display_titles(trained, ranking)

    result = compare.compare_runs(trained, trained, k=5)
    for table in (result.biases, result.neighbours, result.moved_most(10)):
        shows_display_titles(trained, table)
    compared = result.match.raw_ids[result.positions]
    np.testing.assert_array_equal(result.titles, [trained.catalog.display_title(i) for i in compared])
    both = compare.neighbours_in_both(result, trained, trained, compared[0])
    assert set(both["title_a"]) | set(both["title_b"]) <= set(trained.catalog.display_titles)

    rated = {int(i): 5.0 if i % 2 else 1.0 for i in range(2, 8)}
    fold = foldin.fold_in(trained, rated)
    shows_display_titles(trained, foldin_explain.fitted_table(trained, fold))
    shows_display_titles(trained, foldin_explain.explain_item(trained, fold, 10))
    found = foldin_explain.recommend(trained, fold, 8, min_ratings=0)
    shows_display_titles(trained, found)
    shows_display_titles(trained, pd.DataFrame([b for row in found["because"] for b in row]))

    item = trained.catalog.vocab.ids[5]
    assert diagnostics.explain_prediction(trained, "0", item).title == trained.catalog.display_title(item)
    shows_display_titles(trained, diagnostics.norms_vs_popularity(trained, 0).items)
    wrong = diagnostics.where_wrong(trained, ratings, split, n_worst=30)
    shows_display_titles(trained, wrong.worst)
    shows_display_titles(trained, wrong.errors)


def test_search_and_exports_keep_the_raw_titles(twins):
    trained, _, _ = twins
    catalog = trained.catalog
    assert len(search.match_items(catalog, "Kull the Conq", limit=100).offered) == len(catalog.vocab) - 2
    with pytest.raises(AmbiguousTitleError):
        catalog.find_item(SHARED)
    assert catalog.find_item("Fargo (1996)") == 1
    exported = export.item_metadata(trained)
    assert list(exported["title"]) == list(catalog.titles)
    metadata = export.projector_files(trained)[1].decode().splitlines()
    assert [line.split("\t")[0] for line in metadata[1:]] == list(catalog.titles)
