"""collab_app.browser: which owner id a session takes, whatever its browser sent."""
from collab_app.browser import choose_owner

STORED, COOKIE, PROPOSED = "a" * 32, "b" * 32, "c" * 32


def test_the_browsers_storage_wins_then_its_cookie_then_the_servers_proposal():
    assert choose_owner(STORED, COOKIE, PROPOSED) == STORED  # the cookie was cleared and set anew: storage knows
    assert choose_owner(None, COOKIE, PROPOSED) == COOKIE  # a reload, before the component has reported
    assert choose_owner(None, None, PROPOSED) == PROPOSED  # a browser seen for the first time


def test_a_forged_or_damaged_value_is_not_an_owner():
    for bad in ("", "x" * 32, "A" * 32, "a" * 31, "a" * 33, "<b>" + "a" * 29, "a" * 32 + "\\n", 42, ["a" * 32]):
        assert choose_owner(bad, None, PROPOSED) == PROPOSED, bad
        assert choose_owner(None, bad, PROPOSED) == PROPOSED, bad
