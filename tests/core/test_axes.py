"""collab_core.analysis.axes: a custom axis from two groups of items ranks a planted direction's items at its
ends; search terms resolve to items, and a term that matches nothing is named."""
import numpy as np
import pandas as pd
import pytest

from collab_core.analysis.axes import NoMatchError, axis_map, custom_axis, resolve_terms, split_terms
from collab_core.analysis.interpret import pca
from collab_core.data.catalog import ItemCatalog, Vocab
from collab_core.errors import CollabError
from tests.core.planted_models import planted_model

N_ITEMS, WIDTH, PLANTED = 300, 8, 20  # items, factors, items planted at each end


def planted_factors(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(N_ITEMS, WIDTH) factors: noise, plus items 0..19 placed at +3 along a random unit direction and items
    20..39 at -3; returns the factors and the two planted groups (positive end, negative end)."""
    rng = np.random.default_rng(seed)
    direction = rng.normal(size=WIDTH)
    direction /= np.linalg.norm(direction)  # (WIDTH,)
    factors = rng.normal(0, 0.4, (N_ITEMS, WIDTH))
    positive, negative = np.arange(PLANTED), np.arange(PLANTED, 2 * PLANTED)
    factors[positive] += 3 * direction
    factors[negative] -= 3 * direction
    return factors, positive, negative


def catalog_for(n: int, names: dict[int, str]) -> ItemCatalog:
    titles = [names.get(i, f"Filler {i} (1990)") for i in range(n)]
    items = pd.DataFrame({"title": titles, "year": pd.array([1990] * n, dtype="Int64"), "genres": [[]] * n})
    counts = np.arange(n, 0, -1)  # item 0 the most rated
    return ItemCatalog(Vocab(np.array([str(i + 1) for i in range(n)], dtype=object)), items, counts, np.ones(n))


def test_the_axis_from_a_few_items_of_each_end_ranks_every_planted_item_at_its_end():
    factors, positive, negative = planted_factors()
    positions = custom_axis(factors, left=negative[:3], right=positive[:3])  # (N_ITEMS,)
    order = np.argsort(positions)
    assert set(order[:PLANTED]) == set(negative)  # the left end: lowest positions
    assert set(order[-PLANTED:]) == set(positive)


def test_the_axis_is_normalised_and_centred_on_the_midpoint_of_the_ends():
    factors, positive, negative = planted_factors(1)
    positions = custom_axis(factors, negative, positive)
    left_mean, right_mean = factors[negative].mean(axis=0), factors[positive].mean(axis=0)
    half = np.linalg.norm(right_mean - left_mean) / 2
    assert positions[negative].mean() == pytest.approx(-half)
    assert positions[positive].mean() == pytest.approx(half)
    # scaling the factors scales the positions alike: the unit is the factors' own
    assert custom_axis(2 * factors, negative, positive) == pytest.approx(2 * positions)


def test_a_planted_run_ranks_its_planted_items_at_the_ends_of_an_axis_named_by_search_terms():
    factors, positive, negative = planted_factors(2)
    trained = planted_model(n_items=N_ITEMS, n_factors=WIDTH, n_ratings=6000, item_factors=factors)
    names = {**{int(i): f"Bright Pole {i} (1995)" for i in positive}, **{int(i): f"Dark Pole {i} (1995)"
                                                                        for i in negative}}
    catalog = catalog_for(N_ITEMS, names)
    left = resolve_terms(catalog, "Dark Pole 2, Dark Pole 3", per_term=2)
    right = resolve_terms(catalog, "Bright Pole 1", per_term=3)
    assert set(left) <= set(negative) and set(right) <= set(positive) and len(left) == 4 and len(right) == 3
    positions = custom_axis(trained.item_factors(), left, right)
    order = np.argsort(positions)
    assert set(order[:PLANTED]) == set(negative) and set(order[-PLANTED:]) == set(positive)


def test_terms_are_comma_separated_each_once_and_resolved_most_rated_first():
    assert split_terms(" Star Wars, ,Star Trek,star wars , Star Wars") == ["Star Wars", "Star Trek", "star wars"]
    catalog = catalog_for(6, {0: "Star Wars (1977)", 1: "Star Trek (1979)", 4: "Star Trek II (1982)",
                              5: "Emma (1996)"})
    assert list(resolve_terms(catalog, "star trek, Emma")) == [1, 4, 5]
    assert list(resolve_terms(catalog, "Star", per_term=2)) == [0, 1]
    assert list(resolve_terms(catalog, "Star Wars, star")) == [0, 1, 4]  # an item found twice counts once
    assert list(resolve_terms(catalog, "3")) == [2, 3]  # the exact raw id "3" first, then "Filler 3 (1990)"


def test_a_term_that_matches_nothing_is_named_in_the_error():
    catalog = catalog_for(6, {0: "Star Wars (1977)"})
    with pytest.raises(NoMatchError, match="Starr Wars") as caught:
        resolve_terms(catalog, "Star Wars, Starr Wars")
    assert caught.value.term == "Starr Wars"
    with pytest.raises(CollabError, match="no search terms"):
        resolve_terms(catalog, " , ")


def test_ends_with_the_same_mean_are_refused():
    factors, positive, _ = planted_factors()
    with pytest.raises(CollabError, match="same mean"):
        custom_axis(factors, positive, positive)
    with pytest.raises(CollabError, match="left end"):
        custom_axis(factors, [], positive)


def test_a_map_with_a_custom_x_shows_the_ends_and_pc1_or_a_second_axis():
    factors, positive, negative = planted_factors(3)
    shown = np.arange(100, 200)  # the ends are not among the items shown: they are added
    indices, coords, ratio = axis_map(factors, shown, (negative[:2], positive[:2]))
    assert set(indices) == set(shown) | set(negative[:2]) | set(positive[:2]) and coords.shape == (len(indices), 2)
    assert coords[:, 0] == pytest.approx(custom_axis(factors, negative[:2], positive[:2])[indices])
    assert 0 < ratio < 1
    fitted = pca(factors[shown], 1)
    assert coords[np.isin(indices, shown), 1] == pytest.approx(fitted.coords[:, 0])  # PC1 of the shown items
    _, both, none = axis_map(factors, shown, (negative[:2], positive[:2]), (positive[:2], negative[:2]))
    assert none is None and both[:, 1] == pytest.approx(-both[:, 0])  # y's ends swapped: y = -x
