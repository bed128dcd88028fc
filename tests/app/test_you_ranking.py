"""The You page on a run trained for ranking (AppTest): it folds you in by the softmax the run trained and speaks
of scores and ranks, never of predicted ratings; a rating run's page keeps its words (tests/app/test_instruments)."""
import pytest

from collab_app.apptest import chart_spec, column_config
from collab_core.runs.store import RunStore

from .conftest import no_exceptions, open_app, pick, shown, use_copy_of

RATED = ("Star Wars (1977)", "Return of the Jedi (1983)", "Empire Strikes Back, The (1980)")


@pytest.fixture(scope="session")
def ranking_run(tmp_path_factory):
    """A small ranking dot_bias on the built-in MovieLens 100K (5 epochs, 16 factors: about a second), saved once."""
    from collab_core.data.datasets import load_builtin
    from collab_core.data.splits import stratified_split
    from collab_core.model.config import default_config
    from collab_core.model.training import fit

    ratings = load_builtin()
    trained = fit(ratings, stratified_split(ratings, 0.75, 42),
                  default_config("dot_bias", "ranking", epochs=5, n_factors=16, seed=0))
    root = tmp_path_factory.mktemp("ranking-runs") / "runs"
    RunStore(root).save(trained, "ranking-run")
    return root


@pytest.fixture()
def runs(ranking_run, tmp_path, monkeypatch):
    return use_copy_of(ranking_run, tmp_path, monkeypatch)


def everything_said(at) -> str:
    return " ".join([shown(at.markdown), shown(at.caption), shown(at.info), " ".join(h.value for h in at.subheader),
                     " ".join(str(c.help or "") for c in at.caption)])


def rate(at, title: str, stars: float):
    pick(at, "you_pick", title)
    at.segmented_control(key="you_stars").set_value(stars).run()
    return at.button(key="you_add").click().run()


def test_rating_three_movies_on_a_ranking_run_recommends_by_score_and_ranks_your_choices(runs):
    at = open_app("pages/you.py", {"run": "ranking-run"})
    assert no_exceptions(at), [e.value for e in at.exception]
    for title, stars in zip(RATED, (5.0, 1.0, 3.0)):
        at = rate(at, title, stars)
        assert no_exceptions(at), [e.value for e in at.exception]
    assert not at.error, shown(at.error)  # no refusal any more
    said = everything_said(at)
    assert "trained for ranking" in said and "predicts no ratings" in said
    assert "predicted rating" not in said and "sigmoid" not in said  # its scores are logits, not ratings
    recs = next(d for d in at.dataframe if "because" in d.value.columns)
    assert len(recs.value) == 10 and recs.value["score"].is_monotonic_decreasing
    assert column_config(recs)["score"]["label"] == "score"
    assert not set(recs.value["title"]) & set(RATED)
    # the three films of one saga: the recommendations follow them (another saga film or its neighbours in taste)
    assert all(any(t in because for t in RATED) for because in recs.value["because"])
    ranks = next(d for d in at.dataframe if "rank" in d.value.columns and "because" not in d.value.columns)
    assert set(ranks.value["title"]) == set(RATED) and list(ranks.value.columns) == ["title", "rank", "score"]
    assert ranks.value["rank"].is_monotonic_increasing and column_config(ranks)["rank"]["label"] == "rank of 1,682"
    # the map's colour is the score; the explained movie shows its score and parts without a rating column
    figure = next(chart_spec(c) for c in at.get("plotly_chart"))
    assert figure["layout"]["coloraxis"]["colorbar"]["title"]["text"] == "your score"
    assert "your score" in shown(at.markdown)
    parts = next(d for d in at.dataframe if "contribution" in d.value.columns)
    assert "item bias" in set(parts.value["title"]) and column_config(parts)["rating"].get("hidden")
    assert "Why this score?" in [h.value for h in at.subheader]


def test_the_demo_on_a_ranking_run_picks_one_taste_and_the_stars_change_nothing(runs):
    at = open_app("pages/you.py", {"run": "ranking-run"})
    at.button(key="you_demo").click().run()
    assert no_exceptions(at), [e.value for e in at.exception]
    first = list(next(d for d in at.dataframe if "because" in d.value.columns).value["title"])
    rated = [c for c in at.segmented_control if str(c.key).startswith("you_r_")]
    assert len(rated) == 5 and {c.value for c in rated} == {5.0}
    rated[0].set_value(1.0).run()
    assert list(next(d for d in at.dataframe if "because" in d.value.columns).value["title"]) == first
