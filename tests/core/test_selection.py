"""Region membership (box, lasso) and the plain-words description of a selection."""
import numpy as np
import pandas as pd
import pytest

from collab_core.analysis.selection import describe_selection, in_box, in_polygon, members


def test_a_box_includes_its_edges_and_takes_corners_in_any_order():
    x = np.array([0.0, 1.0, 2.0, 3.0, np.nan])
    y = np.array([0.0, 1.0, 2.0, 3.0, 1.0])
    assert in_box(x, y, [2, 1], [2.5, 0.5]).tolist() == [False, True, True, False, False]


SQUARE = ([0, 4, 4, 0], [0, 0, 4, 4])


def test_a_polygon_is_closed_whether_or_not_its_last_vertex_repeats_the_first():
    x, y = np.array([2.0, 5.0, -1.0, 2.0]), np.array([2.0, 2.0, 2.0, 3.9])
    open_, closed = in_polygon(x, y, *SQUARE), in_polygon(x, y, SQUARE[0] + [0], SQUARE[1] + [0])
    assert open_.tolist() == closed.tolist() == [True, False, False, True]


def test_the_even_odd_rule_leaves_a_concave_notch_out():
    # a "U": the notch between its arms (x 1..3, y 2..4) is outside
    xs, ys = [0, 4, 4, 3, 3, 1, 1, 0], [0, 0, 4, 4, 2, 2, 4, 4]
    x, y = np.array([2.0, 2.0, 0.5, 3.5]), np.array([1.0, 3.0, 3.0, 3.0])
    assert in_polygon(x, y, xs, ys).tolist() == [True, False, True, True]


def test_a_self_crossing_lasso_follows_the_even_odd_rule():
    # a bow tie: both lobes are inside, a point beside the crossing is outside
    xs, ys = [0, 4, 4, 0], [0, 4, 0, 4]
    x, y = np.array([3.5, 0.5, 2.0]), np.array([2.0, 2.0, 3.5])
    assert in_polygon(x, y, xs, ys).tolist() == [True, True, False]


@pytest.mark.parametrize("xs, ys", [([], []), ([1], [1]), ([1, 2], [1, 2]), ([1, 2, 1], [1, 2, 1]),
                                    ([0, 1, 2], [0, 1, 2]), ([0, np.nan, 2], [0, 1, np.nan])])
def test_degenerate_polygons_enclose_nothing(xs, ys):
    x, y = np.array([1.0, 0.5, 1.5]), np.array([1.0, 0.5, 1.4])
    assert not in_polygon(x, y, xs, ys).any()


def test_many_points_against_a_brute_force_count():
    rng = np.random.default_rng(0)
    x, y = rng.uniform(-1, 1, 2000), rng.uniform(-1, 1, 2000)
    angle = np.linspace(0, 2 * np.pi, 60, endpoint=False)
    inside = in_polygon(x, y, np.cos(angle) * 0.8, np.sin(angle) * 0.8)
    assert np.array_equal(inside[np.hypot(x, y) < 0.78], np.ones((np.hypot(x, y) < 0.78).sum(), dtype=bool))
    assert not inside[np.hypot(x, y) > 0.81].any()


def test_members_of_the_event_shapes_union_boxes_and_lassos():
    x, y = np.array([0.5, 5.0, 9.0]), np.array([0.5, 5.0, 9.0])
    boxes = [{"xref": "x", "yref": "y", "x": [0, 1], "y": [0, 1]}]
    lassos = [{"x": [8, 10, 10, 8], "y": [8, 8, 10, 10]}]
    assert members(x, y, boxes, lassos).tolist() == [True, False, True]
    assert members(x, y, [{"x": [], "y": []}], [{"x": [1], "y": [1]}]).tolist() == [False] * 3


def hand_made():
    """20 items: 5 Horror films from the 1980s with few ratings (rows 0-4), 15 others (Comedy, Drama)."""
    horror = pd.DataFrame({"title": [f"H{i}" for i in range(5)], "genres": ["Horror, Thriller"] * 4 + ["Horror"],
                           "year": [1981, 1983, 1985, 1987, 1989], "count": [10, 20, 23, 30, 40],
                           "mean_rating": [2.5, 2.8, 3.0, 2.6, 2.9], "bias": [-0.4, -0.3, -0.2, -0.35, -0.25]})
    rest = pd.DataFrame({"title": [f"R{i}" for i in range(15)],
                         "genres": ["Comedy"] * 8 + ["Drama, Comedy"] * 6 + ["Thriller"],
                         "year": np.arange(1990, 2005), "count": np.arange(50, 200, 10),
                         "mean_rating": [3.8] * 15, "bias": [0.2] * 15})
    return pd.concat([horror, rest], ignore_index=True)


def test_describing_a_hand_made_selection():
    items = hand_made()
    selected = np.arange(20) < 5
    summary = describe_selection(items, selected)
    assert (summary.count, summary.total) == (5, 20)
    horror = next(g for g in summary.genres if g.genre == "Horror")
    assert (horror.share, horror.all_share, horror.lift) == (1.0, 0.25, 4.0)
    assert summary.genres[0].genre == "Horror"  # the most lifted first
    thriller = next(g for g in summary.genres if g.genre == "Thriller")
    assert thriller.share == pytest.approx(0.8) and thriller.all_share == pytest.approx(0.25)
    assert all(g.genre != "Comedy" for g in summary.genres)  # none selected: no support here
    assert summary.year.median == 1985 and summary.year.all_median == pytest.approx(1994.5)
    assert summary.ratings.median == 23 and summary.ratings.all_median == pytest.approx(95.0)
    assert summary.mean_rating[0] == pytest.approx(2.76) and summary.mean_bias[0] == pytest.approx(-0.3)
    words = summary.sentences("movies")
    assert words[0] == "5 of the 20 movies shown."
    assert "Mostly Horror: 100% of these vs 25% of all shown (4.0x)." in words
    assert "Mostly Thriller: 80% of these vs 25% of all shown (3.2x)." in words
    assert "Rated less often: median 23 ratings vs 95." in words
    assert any(s.startswith("Older: median year 1985") for s in words)
    assert "Rated lower: mean rating 2.76 vs 3.54." in words
    assert "Learned bias lower on average: -0.300 vs +0.075." in words


def test_a_genre_rarer_in_a_larger_selection_is_said():
    items = hand_made()
    selected = np.arange(20) >= 4  # the 15 others and one horror film
    words = describe_selection(items, selected).sentences()
    assert any(s.startswith("Less Horror than usual: 6% of these vs 25%") for s in words)


def test_a_small_difference_in_bias_is_called_about_the_same():
    items = hand_made().assign(bias=np.r_[[0.12] * 5, [0.1] * 15])
    assert "Learned bias about the same on average: +0.120 vs +0.105." in \
        describe_selection(items, np.arange(20) < 5).sentences()


def test_an_empty_selection_and_a_wrong_mask():
    items = hand_made()
    assert describe_selection(items, np.zeros(20, bool)).sentences() == []
    with pytest.raises(ValueError, match="shape"):
        describe_selection(items, np.ones(3, bool))


def test_the_selection_csv_holds_no_formula():
    from collab_core.runs.export import items_csv

    table = pd.DataFrame({"item": ["=1+1"], "title": ["=HYPERLINK(\"https://evil.example\")"], "genres": ["@x"],
                          "count": [-3]})
    text = items_csv(table).decode()
    assert text.splitlines()[1] == "'=1+1,\"'=HYPERLINK(\"\"https://evil.example\"\")\",'@x,-3"


def test_a_run_without_counts_or_bias_says_less():
    items = hand_made().assign(count=0, bias=np.nan)
    words = describe_selection(items, np.arange(20) < 5).sentences()
    assert not any("ratings vs" in s or "bias" in s for s in words)
