"""What a picker says about a search agrees with the list it shows (collab_app.picker).

The class of bug: a count or caption computed over another set than the one shown (the list also keeps the
current selection, so "Star Wars", once selected, was reported as matching nothing). Every picker of every page
is searched for text matching one item, several and none, and the caption's count is checked against the
options whose title (or id) holds the text."""
import re

import pytest

from .conftest import no_exceptions, open_app, pick, shown

# (page, selectbox key); You's explain picker needs ratings first, so its page is opened with the demo
PICKERS = [("pages/neighbours.py", "p_nb_movie"), ("pages/projections.py", "p_pj_highlight"),
           ("pages/you.py", "you_pick"), ("pages/you.py", "p_you_explain"), ("pages/diagnostics.py", "p_dg_movie"),
           ("pages/diagnostics.py", "p_dg_user")]
QUERIES = {"one": "Star Wars", "several": "Star Trek", "none": "no such film at all"}
USER_QUERIES = {"one": "943", "several": "94", "none": "no such user"}


def caption_count(text: str, query: str) -> int:
    """The number of matching items the caption about `query` reports."""
    words = text.split(f"“{query}”")[0] + "“”" + text.split(f"“{query}”")[1] if f"“{query}”" in text else text
    if words.startswith("No ") or "matches only" in words:
        return 0
    if words.startswith("One "):
        return 1
    return int(re.match(r"([\d,]+) ", words).group(1).replace(",", ""))


@pytest.mark.parametrize("how_many", list(QUERIES))
@pytest.mark.parametrize("page,key", PICKERS)
def test_the_search_caption_counts_what_the_list_shows(with_run, page, key, how_many):
    _, run_id = with_run
    at = open_app(page, {"run": run_id})
    if key == "p_you_explain":  # shown once there are ratings
        at.button(key="you_demo").click().run()
    query = (USER_QUERIES if key == "p_dg_user" else QUERIES)[how_many]
    before = at.selectbox(key=key).value
    pick(at, key, query)
    assert no_exceptions(at), [e.value for e in at.exception]
    captions = [c for c in at.caption if f"“{query}”" in shown([c])]
    assert len(captions) == 1, shown(at.caption)
    box = at.selectbox(key=key)
    labels = [str(label) for label in box.options]  # what the person reads: titles, or "id (n ratings)"
    searched = [label.split(" (")[0] if key == "p_dg_user" else label for label in labels]
    matching = [label for label, text in zip(labels, searched) if query.lower() in text.lower()]
    reported = caption_count(shown(captions), query)
    assert reported == len(matching), (shown(captions), labels)
    if how_many == "one":
        assert reported == 1 and labels == matching  # Enter selected the one match: nothing else is listed
    elif how_many == "several":
        assert reported > 1
    else:
        assert reported == 0 and box.value == before  # nothing found: the selection stays
        hint = "part of an id" if key == "p_dg_user" else "part of a title, or an id"  # what users can type
        assert f"try {hint}" in shown(captions)


def test_a_search_that_finds_only_rated_movies_says_so(with_run):
    _, run_id = with_run
    at = open_app("pages/you.py", {"run": run_id})
    pick(at, "you_pick", "Star Wars (1977)")
    at.segmented_control(key="you_stars").set_value(5.0).run()
    at.button(key="you_add").click().run()
    pick(at, "you_pick", "Star Wars (1977)")
    assert "“Star Wars (1977)” matches only 1 movie you rated already" in shown(at.caption)
