"""Memory soak: `python -m collab_core.bench.soak` (or `make bench-soak`).

Starts the app as `make run` does, warms it up (every page once, one training), records the resident
memory (RSS) of the server process and of its worker processes, then makes 100 page changes through the
sidebar and 20 trainings in a row from the Train page, reading RSS every `--every-pages` page changes and
every `--every-trainings` trainings, so that a long run (`--page-changes 300 --trainings 60`) shows
whether memory levels off. Caches are bounded (`max_entries` everywhere, at most 50 finished jobs kept,
progress histories capped), so growth should level off; this measures whether it does.
"""
from __future__ import annotations

import argparse
import re
import tempfile
import time
from pathlib import Path

from collab_core.bench.harness import launch_chromium, print_result, set_epochs, start_server, stop_server, wait_for_app
from collab_core.bench.procstat import children, rss_kib

PAGES = ["Data", "Train", "Biases", "Projections", "Neighbours"]


def memory(pid: int) -> dict:
    workers = children(pid)
    return {"server_mib": rss_kib(pid) / 1024, "workers_mib": sum(rss_kib(c) for c in workers) / 1024,
            "workers": len(workers)}


def train_once(page, epochs: int = 1) -> None:
    page.get_by_role("link", name="Train").click()
    wait_for_app(page)
    set_epochs(page, epochs)
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text(re.compile(r"trained: validation RMSE")).wait_for(timeout=300_000)
    wait_for_app(page)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--page-changes", type=int, default=100)
    parser.add_argument("--trainings", type=int, default=20)
    parser.add_argument("--every-pages", type=int, default=20, help="RSS reading every N page changes")
    parser.add_argument("--every-trainings", type=int, default=5, help="RSS reading every N trainings")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="bench-soak-"))
    (work / "runs").mkdir()
    process, url = start_server(work / "runs", work)
    result = {"page_changes": args.page_changes, "trainings": args.trainings}
    try:
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(120_000)
            page.goto(f"{url}/train")
            wait_for_app(page)
            train_once(page)
            for name in PAGES:
                page.get_by_role("link", name=name).click()
                wait_for_app(page)
            time.sleep(20)  # let the UMAP worker's warm-up finish so "before" includes it
            result["before"] = memory(process.pid)
            # a reading every `every` steps shows whether growth levels off, not just its total
            result["page_change_series"] = [{"done": 0, **result["before"]}]
            start = time.perf_counter()
            for i in range(1, args.page_changes + 1):
                page.get_by_role("link", name=PAGES[i % len(PAGES)]).click()
                wait_for_app(page)
                if i % args.every_pages == 0 or i == args.page_changes:
                    result["page_change_series"].append({"done": i, **memory(process.pid)})
            result["page_changes_seconds"] = time.perf_counter() - start
            result["after_page_changes"] = memory(process.pid)
            result["training_series"] = [{"done": 0, **result["after_page_changes"]}]
            start = time.perf_counter()
            for i in range(1, args.trainings + 1):
                train_once(page)
                if i % args.every_trainings == 0 or i == args.trainings:
                    result["training_series"].append({"done": i, **memory(process.pid)})
            result["trainings_seconds"] = time.perf_counter() - start
            result["after_trainings"] = memory(process.pid)
            browser.close()
    finally:
        stop_server(process)
    return print_result(result, args.json, report)


def report(result: dict) -> None:
    for stage in ("before", "after_page_changes", "after_trainings"):
        m = result[stage]
        print(f"{stage:<20} server RSS {m['server_mib']:7.1f} MiB, {m['workers']} worker processes "
              f"{m['workers_mib']:7.1f} MiB")
    for series, what in (("page_change_series", "page changes"), ("training_series", "trainings")):
        print(f"RSS after N {what} (server / workers, MiB): " + ", ".join(
            f"{m['done']}: {m['server_mib']:.0f} / {m['workers_mib']:.0f}" for m in result[series]))
    print(f"{result['page_changes']} page changes in {result['page_changes_seconds']:.0f} s, "
          f"{result['trainings']} trainings in {result['trainings_seconds']:.0f} s")


if __name__ == "__main__":
    raise SystemExit(main())
