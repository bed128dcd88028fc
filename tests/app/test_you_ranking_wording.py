"""Review of the ranking fold-in (failing tests): the You page's words on a ranking run must fit that run. The demo
button's help must not promise high/low stars that the ranking demo does not give and that change nothing, and on a
`dot` ranking run (no biases) no caption or help may speak of the item's bias."""
import pytest

from collab_app.apptest import column_config

from .conftest import no_exceptions, open_app, shown, use_copy_of


@pytest.fixture(scope="module")
def ranking_runs(tmp_path_factory):
    from collab_core.data.ratings import random_split
    from collab_core.model.config import default_config
    from collab_core.model.training import fit
    from collab_core.runs.store import RunStore
    from tests.planted import planted_ratings

    ratings, _ = planted_ratings(n_users=60, n_items=40, n_ratings=1500, n_factors=2, seed=4)
    root = tmp_path_factory.mktemp("ranking-wording") / "runs"
    for model in ("dot", "dot_bias"):
        trained = fit(ratings, random_split(ratings, 0.1, 0), default_config(model, "ranking", epochs=2, n_factors=4))
        RunStore(root).save(trained, f"ranking-{model}")
    return root


def demo(runs, tmp_path, monkeypatch, run_id):
    use_copy_of(runs, tmp_path, monkeypatch)
    at = open_app("pages/you.py", {"run": run_id})
    at.button(key="you_demo").click().run()
    at.number_input(key="p_you_min").set_value(0).run()
    assert no_exceptions(at), [e.value for e in at.exception]
    return at


def test_the_demo_help_on_a_ranking_run_does_not_promise_high_and_low_stars(ranking_runs, tmp_path, monkeypatch):
    at = demo(ranking_runs, tmp_path, monkeypatch, "ranking-dot_bias")
    help_text = next(b.help for b in at.button if b.key == "you_demo")
    assert "rated high" not in help_text and "Change the stars" not in help_text, help_text


def test_a_dot_ranking_run_never_speaks_of_an_item_bias(ranking_runs, tmp_path, monkeypatch):
    at = demo(ranking_runs, tmp_path, monkeypatch, "ranking-dot")
    recs = next(d for d in at.dataframe if "because" in d.value.columns)
    said = shown(at.caption) + " " + str(column_config(recs)["score"].get("help"))
    assert "bias" not in said.replace("no user bias", "").replace("biases left out", "").replace("(no bias)", ""), said
