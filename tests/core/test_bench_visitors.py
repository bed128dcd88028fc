"""The visitors benchmark's arithmetic and its isolation check, on fixed inputs (no server, no browser)."""
import random

from collab_core.bench.visitors import Visitor, check_foreign, percentile, script_runs, tracebacks


def visitor(index: int, sessions: int = 3, **kwargs) -> Visitor:
    return Visitor(index, sessions, trainer=False, uploader=False, neighbour_search=f"sEARCH {index}",
                   rate_searches=[f"rATE {index}"], rng=random.Random(index), **kwargs)


def test_percentiles_interpolate_between_closest_ranks():
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert percentile(values, 50) == 50.5
    assert abs(percentile(values, 95) - 95.05) < 1e-9
    assert percentile([7.0], 95) == 7.0
    assert percentile([], 50) is None


def test_script_runs_are_grouped_by_page_and_tracebacks_give_their_exception():
    lines = ["script-run page=biases ms=10.0 cpu_ms=5.0", "noise", "script-run page=biases ms=30.0 cpu_ms=7.0",
             "script-run page=you ms=4.0 cpu_ms=1.0", "Traceback (most recent call last):", "  File x", "KeyError: 'k'"]
    runs = script_runs(lines)
    assert runs["biases"]["n"] == 2 and runs["biases"]["p50"] == 20.0 and runs["biases"]["cpu_p50"] == 6.0
    assert runs["you"]["max"] == 4.0
    assert tracebacks(lines) == ["KeyError: 'k'"]


def test_another_sessions_marker_or_number_is_a_violation_and_a_default_is_not():
    sessions = [visitor(i) for i in range(3)]
    me = sessions[0]
    check_foreign(me, sessions, "neighbours", "Neighbours sEARCH 0 ... sEARCH 2", [], {})
    assert [(v["leaked"], v["from"]) for v in me.violations] == [("sEARCH 2", 2)]
    assert me.own("nb_k", 0) == 11 and me.own("nb_k", 1) == 14  # lowest + i, lowest + N + i
    assert me.owner_of_number("nb_k", 13) == 2 and me.owner_of_number("nb_k", 10) is None  # 10: the default
