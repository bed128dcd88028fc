"""UI latency benchmark: `python -m collab_app.bench_ui` (or `make bench-ui`).

Trains the default run on the built-in MovieLens 100K into a temporary runs directory, starts the app,
and drives it with headless Chromium, measuring in the browser:
- first page load: from navigation to the end of the first script run, on a just-started server;
- first UMAP view: until the Projections page shows a UMAP layout (waits for numba's warm-up);
- widget change: from the input event to the end of the rerun it causes, for one widget per page;
- neighbour query: the KD-tree time the Neighbours page reports, and the page's whole rerun.
Numbers are medians over `--repeats` changes. Chromium runs on the same 2 cores as the server, so these
are upper bounds of what a user on another machine sees.
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import tempfile
import time
from pathlib import Path

from collab_app.server import launch_chromium, start_server, stop_server, wait_for_app

# Records each change of Streamlit's script state with the page's clock.
OBSERVER = """() => {
  window.__states = [];
  const app = document.querySelector("[data-testid='stApp']");
  new MutationObserver(() => window.__states.push([performance.now(), app.getAttribute('data-test-script-state')]))
    .observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
}"""


def server_ms(log_path: Path, since_line: int) -> list[float]:
    """Durations of the script runs the server logged after line `since_line`."""
    lines = log_path.read_text().splitlines()[since_line:]
    return [float(m.group(1)) for m in (re.search(r"script-run page=\S+ ms=([\d.]+)", l) for l in lines) if m]


def log_length(log_path: Path) -> int:
    return len(log_path.read_text().splitlines())


def timed_rerun(page, action, timeout_s: float = 30.0) -> float:
    """Milliseconds from `action` to the end of the rerun it triggers."""
    page.evaluate(OBSERVER)
    start = page.evaluate("performance.now()")
    action()
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        states = page.evaluate("window.__states")
        ran = [t for t, s in states if s == "running" and t >= start]
        done = [t for t, s in states if s == "notRunning" and ran and t >= ran[0]]
        if done:
            return done[-1] - start if len(done) == 1 else done[0] - start
        page.wait_for_timeout(10)
    raise TimeoutError("no rerun finished")


def set_number(page, label: str, value: int):
    def act():
        box = page.get_by_label(label, exact=True)
        box.fill(str(value))
        box.press("Enter")
    return act


def measured(page, log_path: Path, action) -> tuple[float, float]:
    """(browser ms, server ms) of the rerun `action` causes."""
    before = log_length(log_path)
    browser = timed_rerun(page, action)
    page.wait_for_timeout(100)  # let the log line land
    return browser, sum(server_ms(log_path, before))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--background-training", type=int, metavar="EPOCHS", default=0,
                        help="measure while a second session trains EPOCHS epochs (cancelled at the end)")
    args = parser.parse_args(argv)

    from playwright.sync_api import sync_playwright

    from collab_core.config import default_config
    from collab_core.datasets import load_builtin
    from collab_core.ratings import random_split
    from collab_core.runs import RunStore
    from collab_core.training import fit

    work = Path(tempfile.mkdtemp(prefix="bench-ui-"))
    ratings = load_builtin()
    run_id = RunStore(work / "runs").save(fit(ratings, random_split(ratings, 0.1, 42), default_config()))
    process, url = start_server(work / "runs", work)
    results: dict = {"run_id": run_id}
    try:
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            start = time.perf_counter()
            page.goto(f"{url}/neighbours")
            wait_for_app(page)
            page.get_by_text(re.compile(r"Exact KD-tree search")).wait_for()
            # wait_for_app adds a 300 ms settle pause; subtract it from the load time
            results["first_page_load_ms"] = (time.perf_counter() - start) * 1000 - 300
            log_path = process.log_path
            results["first_page_server_ms"] = server_ms(log_path, 0)[0]
            # The first UMAP view waits for the worker's numba warm-up, started with the server; measuring
            # it first also means the widget timings below are not competing with that compilation.
            start = time.perf_counter()
            page.goto(f"{url}/projections?method=UMAP")
            page.get_by_text(re.compile(r"UMAP of [\d,]+ items")).wait_for(timeout=180_000)
            results["first_umap_view_s"] = time.perf_counter() - start
            trainer = None
            if args.background_training:
                trainer = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
                trainer.goto(f"{url}/train")
                wait_for_app(trainer)
                box = trainer.get_by_label("Epochs", exact=True)
                box.fill(str(args.background_training))
                box.press("Tab")
                trainer.get_by_role("button", name="Train", exact=True).click()
                trainer.get_by_text(re.compile(r"Training dot_bias")).wait_for(timeout=120_000)
                results["background_training_epochs"] = args.background_training
            pages = {}
            for path, label, values in [
                ("", "Rows", [10, 12, 14, 16, 18, 20, 22, 24]),
                ("projections", "Label the K most rated", [10, 20, 30, 40, 50, 60, 70, 80]),
                ("neighbours", "k", [5, 6, 7, 8, 9, 10, 11, 12]),
                ("data", "Min ratings per item", [1, 2, 3, 4, 5, 6, 7, 8]),
                ("train", None, None),
            ]:
                start = time.perf_counter()
                page.goto(f"{url}/{path}")
                wait_for_app(page)
                load_ms = (time.perf_counter() - start) * 1000 - 300
                changes = [measured(page, log_path, set_number(page, label, v)) for v in values[: args.repeats + 1]] \
                    if label else []
                changes = changes[1:]  # the first change may still warm a cache
                pages[path or "biases"] = {
                    "page_load_ms": load_ms,
                    "browser_change_median_ms": statistics.median(b for b, _ in changes) if changes else None,
                    "server_change_median_ms": statistics.median(s for _, s in changes) if changes else None,
                    "server_change_max_ms": max(s for _, s in changes) if changes else None,
                }
            results["pages"] = pages
            page.goto(f"{url}/neighbours")
            wait_for_app(page)
            queries = []
            for title in ["GoldenEye (1995)", "Toy Story (1995)", "Fargo (1996)", "Contact (1997)", "Scream (1996)",
                          "Star Wars (1977)", "Titanic (1997)"][: args.repeats + 1]:
                def choose(title=title):
                    box = page.get_by_role("combobox", name="Movie (type to search)")
                    box.click()
                    page.keyboard.type(title)
                    page.get_by_role("option", name=title).click()
                queries.append(measured(page, log_path, choose))
                caption = page.get_by_text(re.compile(r"Exact KD-tree search")).inner_text()
                results.setdefault("kdtree_query_ms", []).append(float(re.search(r": ([\d.]+) ms", caption).group(1)))
            results["neighbour_rerun_browser_median_ms"] = statistics.median(b for b, _ in queries[1:])
            results["neighbour_rerun_server_median_ms"] = statistics.median(s for _, s in queries[1:])
            if trainer is not None:
                still = trainer.get_by_text(re.compile(r"Training dot_bias")).count() > 0
                results["training_still_running_at_end"] = still
                if still:
                    trainer.get_by_role("button", name="Cancel").click()
            browser.close()
    finally:
        stop_server(process)
    if args.json:
        print(json.dumps(results))
    else:
        if args.background_training:
            print(f"(measured while another session trained {args.background_training} epochs; still running at "
                  f"the end: {results.get('training_still_running_at_end')})")
        print(f"first page load (fresh server, /neighbours): {results['first_page_load_ms']:.0f} ms in the browser, "
              f"of which the server's script run {results['first_page_server_ms']:.0f} ms")
        print(f"first UMAP view (includes the worker's numba warm-up): {results['first_umap_view_s']:.1f} s")
        for name, r in results["pages"].items():
            change = (f"widget change: server {r['server_change_median_ms']:.0f} ms median "
                      f"(max {r['server_change_max_ms']:.0f}), seen in the browser {r['browser_change_median_ms']:.0f} ms"
                      if r["server_change_median_ms"] is not None else "no widget measured")
            print(f"{name:<12} page load {r['page_load_ms']:.0f} ms; {change}")
        print(f"neighbour query: KD-tree {statistics.median(results['kdtree_query_ms']):.2f} ms (median); choosing a "
              f"movie reruns the page in {results['neighbour_rerun_server_median_ms']:.0f} ms on the server, "
              f"{results['neighbour_rerun_browser_median_ms']:.0f} ms seen in the browser")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
