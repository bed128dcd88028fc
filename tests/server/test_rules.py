"""The rules of a shared server (collab_server.rules) as a table, the host key and passes, the memo of recent
changes, and how a run records its owner (collab_core.runs.owners, the run schema and store)."""
import json
import logging

import pytest

from collab_core.errors import RunStoreError
from collab_core.runs.owners import HOST_OWNER, owner_tag, valid_owner
from collab_core.runs.store import RunStore
from collab_server import rules
from collab_server.rules import Caller, HostKey, HostPasses, Refused
from collab_server.run_changes import RecentChanges

BROWSER, OTHER = "a" * 32, "b" * 32
HOST = Caller("s-host", BROWSER, host=True)
VISITOR = Caller("s-visitor", BROWSER, host=False)
DEMO_VISITOR = Caller("s-demo", BROWSER, host=False, demo=True)
DEMO_HOST = Caller("s-demo-host", BROWSER, host=True, demo=True)
MINE, THEIRS = owner_tag(BROWSER), owner_tag(OTHER)


@pytest.mark.parametrize("caller, action, run_owner, allowed", [
    *[(who, action, None, True) for who in (HOST, DEMO_HOST) for action in sorted(rules.ACTIONS)],
    *[(VISITOR, action, None, False) for action in sorted(rules.HOST_ONLY)],
    (VISITOR, rules.TRAIN, None, True), (VISITOR, rules.UPLOAD, None, True),
    (DEMO_VISITOR, rules.TRAIN, None, False), (DEMO_VISITOR, rules.UPLOAD, None, False),
    (VISITOR, rules.DELETE, MINE, True), (VISITOR, rules.RENAME, MINE, True),
    (VISITOR, rules.DELETE, THEIRS, False), (VISITOR, rules.RENAME, THEIRS, False),
    (VISITOR, rules.DELETE, HOST_OWNER, False), (VISITOR, rules.RENAME, None, False),
    (HOST, rules.DELETE, THEIRS, True),
])
def test_the_rule_table(caller, action, run_owner, allowed):
    reason = rules.refusal(caller, action, run_owner)
    assert (reason is None) == allowed
    assert reason is None or (reason.startswith(("Only the host", "This is a demo")) and "\n" not in reason)


def test_an_action_the_rules_do_not_know_opens_nothing():
    with pytest.raises(ValueError, match="unknown action"):
        rules.refusal(VISITOR, "delte")
    with pytest.raises(ValueError):
        rules.refusal(HOST, "delte")


def test_require_refuses_and_logs_the_session_not_the_browser(caplog):
    caplog.set_level(logging.WARNING, logger="collab_server.rules")
    rules.require(HOST, rules.PIN)
    with pytest.raises(Refused, match="Only the host"):
        rules.require(VISITOR, rules.PIN, what="run-1")
    (line,) = [r.getMessage() for r in caplog.records]
    assert "refused pin of run-1" in line and "s-visitor" in line and BROWSER not in line


def test_who_sees_which_run():
    assert rules.may_see(VISITOR, HOST_OWNER, visitor_runs_shared=False)
    assert rules.may_see(VISITOR, MINE, visitor_runs_shared=False)
    assert not rules.may_see(VISITOR, THEIRS, visitor_runs_shared=False)
    assert rules.may_see(VISITOR, THEIRS, visitor_runs_shared=True)
    assert rules.may_see(HOST, THEIRS, visitor_runs_shared=False)
    assert HOST.run_owner == HOST_OWNER and VISITOR.run_owner == MINE


def test_the_host_key_matches_only_itself_and_never_shows():
    key = HostKey("the-key-0123456789abc")
    assert key.matches("the-key-0123456789abc")
    assert not key.matches("the-key-0123456789abd") and not key.matches("") and not key.matches(None)
    assert not key.matches(["the-key-0123456789abc"])
    assert "the-key" not in repr(key) and "the-key" not in str(key)
    assert key.link("http://h:1/") == "http://h:1/?host=the-key-0123456789abc"


def test_an_unset_host_key_is_made_once_and_kept_for_the_process(monkeypatch):
    monkeypatch.delenv("COLLAB_HOST_TOKEN")
    first = rules.host_key()
    again = rules.host_key()  # as after a module reload in `make dev`: the environment keeps it
    token = first.link("")[len("/?host="):]
    assert len(token) >= 32 and again.matches(token)


def test_host_passes_are_random_kept_as_hashes_and_bounded():
    passes = HostPasses(limit=3)
    issued = [passes.issue() for _ in range(4)]
    assert len(set(issued)) == 4 and all(len(p) >= 40 for p in issued)
    assert not passes.valid(issued[0])  # the oldest went beyond the limit
    assert all(passes.valid(p) for p in issued[1:])
    assert not passes.valid("") and not passes.valid(None) and not passes.valid(issued[1][:-1])
    assert all(p not in repr(passes.__dict__) for p in issued)  # only hashes are kept


def test_recent_changes_keep_the_newest_per_run_and_one_pin():
    changes = RecentChanges(clock=iter(range(100)).__next__)
    changes.record(rules.DELETE, "run-a", HOST_OWNER)
    changes.record(rules.RENAME, "run-a", MINE)
    changes.record(rules.PIN, "run-a", HOST_OWNER)
    changes.record(rules.PIN, None, MINE)  # an unpin replaces the pin: one pin for the server
    assert changes.last(rules.DELETE, "run-a").by == HOST_OWNER
    assert changes.last(rules.RENAME, "run-a").by == MINE
    assert changes.last(rules.PIN).run_id is None and changes.last(rules.PIN).by == MINE
    assert changes.last(rules.DELETE, "run-b") is None


def test_an_owner_is_the_host_or_a_tag_never_a_browser_id():
    assert valid_owner(HOST_OWNER) and valid_owner(MINE)
    assert not valid_owner(BROWSER) and not valid_owner("Host") and not valid_owner(None) and not valid_owner("")
    assert owner_tag(BROWSER) != owner_tag(OTHER) and BROWSER not in owner_tag(BROWSER)


def test_the_store_records_checks_and_lists_owners(tmp_path, tiny_trained):
    store = RunStore(tmp_path)
    with pytest.raises(RunStoreError, match="invalid owner"):
        store.save(tiny_trained, "stolen", owner=BROWSER)
    store.save(tiny_trained, "theirs", owner=MINE)
    store.save(tiny_trained, "hosts")
    assert {info.run_id: info.owner for info in store.list()} == {"theirs": MINE, "hosts": HOST_OWNER}
    meta = json.loads((tmp_path / "theirs" / "run.json").read_text())
    (tmp_path / "theirs" / "run.json").write_text(json.dumps({**meta, "owner": "<b>admin</b>"}))
    (broken,) = [info for info in store.list() if info.run_id == "theirs"]
    assert not broken.ok and "'owner' must be" in broken.reason


def test_whether_visitors_see_each_others_runs_is_recorded_and_a_damaged_record_means_yes(tmp_path):
    store = RunStore(tmp_path)
    assert store.visitor_runs_shared()
    store.share_visitor_runs(False)
    assert not RunStore(tmp_path).visitor_runs_shared()
    (tmp_path / ".sharing.json").write_text("{not json")
    assert store.visitor_runs_shared()
    assert store.list() == []  # the record is never listed as a run
