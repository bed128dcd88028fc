"""Memory soak: `python -m collab_app.bench_soak` (or `make bench-soak`).

Starts the app as `make run` does, warms it up (every page once, one training), records the resident
memory (RSS) of the server process and of its worker processes, then makes 100 page changes through the
sidebar and 20 trainings in a row from the Train page, and records RSS again. Caches are bounded
(`max_entries` everywhere, at most 50 finished jobs kept, progress histories capped), so growth should
level off; this measures whether it does.
"""
from __future__ import annotations

import argparse
import json
import re
import tempfile
import time
from pathlib import Path

from collab_app.server import launch_chromium, start_server, stop_server, wait_for_app

PAGES = ["Data", "Train", "Biases", "Projections", "Neighbours"]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def memory(pid: int) -> dict:
    workers = children(pid)
    return {"server_mib": rss_kib(pid) / 1024, "workers_mib": sum(rss_kib(c) for c in workers) / 1024,
            "workers": len(workers)}


def train_once(page, epochs: int = 1) -> None:
    page.get_by_role("link", name="Train").click()
    wait_for_app(page)
    box = page.get_by_label("Epochs", exact=True)
    box.fill(str(epochs))
    box.press("Tab")
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text(re.compile(r"trained: validation RMSE")).wait_for(timeout=300_000)
    wait_for_app(page)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--page-changes", type=int, default=100)
    parser.add_argument("--trainings", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="bench-soak-"))
    (work / "runs").mkdir()
    process, url = start_server(work / "runs", work)
    result = {}
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
            start = time.perf_counter()
            for i in range(args.page_changes):
                page.get_by_role("link", name=PAGES[i % len(PAGES)]).click()
                wait_for_app(page)
            result["page_changes_seconds"] = time.perf_counter() - start
            result["after_page_changes"] = memory(process.pid)
            start = time.perf_counter()
            for _ in range(args.trainings):
                train_once(page)
            result["trainings_seconds"] = time.perf_counter() - start
            result["after_trainings"] = memory(process.pid)
            browser.close()
    finally:
        stop_server(process)
    if args.json:
        print(json.dumps(result))
    else:
        for stage in ("before", "after_page_changes", "after_trainings"):
            m = result[stage]
            print(f"{stage:<20} server RSS {m['server_mib']:7.1f} MiB, {m['workers']} worker processes "
                  f"{m['workers_mib']:7.1f} MiB")
        print(f"{args.page_changes} page changes in {result['page_changes_seconds']:.0f} s, "
              f"{args.trainings} trainings in {result['trainings_seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
