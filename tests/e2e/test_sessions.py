"""Several browser sessions on one server over loopback: trainings queue and never change another
session's view; a restarted server still has every run."""
import re

import pytest

from collab_core.bench.harness import set_epochs, start_server, stop_server, wait_for_app

from .conftest import NO_UMAP

pytestmark = pytest.mark.e2e
N_SESSIONS = 8


@pytest.fixture(scope="module")
def seeded_runs(tmp_path_factory, save_small_run):
    """Two small runs on MovieLens 100K to explore."""
    root = tmp_path_factory.mktemp("sessions") / "runs"
    save_small_run(root, "run-a", n_factors=8)
    save_small_run(root, "run-b", n_factors=16)
    return root


@pytest.fixture(scope="module")
def server(seeded_runs):
    """The app on the seeded runs, one training at a time (a second one queues): (process, base URL). The restart
    test stops it and starts another on the same folder, so the module starts two servers, not three."""
    process, url = start_server(seeded_runs, seeded_runs.parent, NO_UMAP | {"COLLAB_MAX_TRAININGS": "1"})
    yield process, url
    stop_server(process)  # nothing happens if the restart test stopped it already


def set_k(page, value: int) -> None:
    """Change k and wait until the rerun has put it in the URL (Streamlit updates it in place)."""
    box = page.get_by_label("k", exact=True)
    box.fill(str(value))
    box.press("Enter")
    page.wait_for_function("(k) => location.search.includes(k)", arg=f"k={value}")
    wait_for_app(page)


def selected_movie(page) -> str:
    return page.get_by_role("combobox", name="Movie", exact=True).input_value()


def test_sessions_keep_their_own_runs_and_selections_while_others_train(seeded_runs, server, browser):
    _, url = server
    contexts = [browser.new_context(viewport={"width": 1200, "height": 900}) for _ in range(N_SESSIONS)]
    pages = [context.new_page() for context in contexts]
    for page in pages:
        page.set_default_timeout(120_000)  # 8 tabs and a training share 2 cores: be patient, not flaky
    try:
        trainers, explorers = pages[:2], pages[2:]
        movies = ["50", "2", "1", "100", "181", "258"]  # Star Wars, GoldenEye, Toy Story, Fargo, Jedi, Contact
        views = []
        for i, page in enumerate(explorers):
            run = "run-a" if i % 2 == 0 else "run-b"
            page.goto(f"{url}/neighbours?run={run}&movie={movies[i]}&k=5&metric=cosine&min=100")
            wait_for_app(page)
            views.append((run, page.get_by_role("combobox", name="Movie", exact=True).input_value()))
        for page, epochs in zip(trainers, ("200", "6")):
            page.goto(f"{url}/train?run=run-a")
            wait_for_app(page)
            set_epochs(page, epochs)
        # the first (long) training takes the only slot; the second waits and says where it is
        trainers[0].get_by_role("button", name="Train", exact=True).click()
        trainers[0].get_by_text(re.compile(r"Training EmbeddingDotBias")).wait_for(timeout=60_000)
        trainers[1].get_by_role("button", name="Train", exact=True).click()
        trainers[1].get_by_text(re.compile(r"Queued: position 1")).wait_for(timeout=60_000)
        # cancelling the first frees the slot; nothing of it is saved
        trainers[0].get_by_role("button", name="Cancel", exact=True).click()
        trainers[0].get_by_text("Training cancelled; nothing was saved.").wait_for(timeout=60_000)
        trainers[1].get_by_text(re.compile(r"Training EmbeddingDotBias")).wait_for(timeout=60_000)

        # explorers keep working while the trainings run: change k, keep run and movie
        for (run, title), page in zip(views, explorers):
            set_k(page, 7)
            assert f"run={run}" in page.url
            assert selected_movie(page) == title
            assert page.locator("[data-testid='stException']").count() == 0

        trainers[1].get_by_text(re.compile(r"trained: validation RMSE")).wait_for(timeout=180_000)
        # the announcement is drawn in the run that makes the new run active; the address follows a moment later
        trainers[1].wait_for_url(re.compile(r"run=(?!run-a\b|run-b\b)[\w.-]+"), timeout=60_000)
        new_run = re.search(r"run=([\w.-]+)", trainers[1].url).group(1)
        assert new_run not in ("run-a", "run-b")
        assert "run=run-a" in trainers[0].url  # the cancelled session kept its run

        # nobody else's view moved to the new runs
        for (run, title), page in zip(views, explorers):
            set_k(page, 6)
            assert f"run={run}" in page.url and selected_movie(page) == title
            rows = page.locator("[data-testid='stDataFrame']").first
            rows.wait_for()
    except Exception:
        for i, page in enumerate(pages):
            page.screenshot(path=str(seeded_runs.parent / f"session-{i}.png"))
        raise
    finally:
        for context in contexts:
            context.close()
    assert len([p for p in seeded_runs.iterdir() if not p.name.startswith(".")]) == 3  # run-a, run-b, the new one


def test_a_restarted_server_still_has_every_run(seeded_runs, server, browser):
    process, url = server
    for restarted in (False, True):  # the module's server, stopped, then a new one on the same folder
        if restarted:
            process, url = start_server(seeded_runs, seeded_runs.parent, NO_UMAP)
        page = browser.new_page()
        try:
            for run in ("run-a", "run-b"):
                page.goto(f"{url}/biases?run={run}")
                wait_for_app(page)
                page.get_by_role("heading", name="Highest bias").wait_for()
                assert f"run={run}" in page.url
                assert page.locator("[data-testid='stException']").count() == 0
        finally:
            page.close()
            stop_server(process)
