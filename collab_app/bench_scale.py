"""Every page at MovieLens 25M's size: `python -m collab_app.bench_scale` (or `make bench-scale`).

Numbers, not assertions. On two runs shaped like one trained on ML-25M (collab_core.bench.scale_run: 162,541 users x
59,047 items x 50 factors, built without training) it measures:
- build: building and saving the two runs (and their size on disk);
- neighbours: exact KD-tree query vs brute force at 59,047 x 50 (collab_core.bench.models.neighbour_timing, the same
  code `python -m collab_core bench` runs at 100K);
- umap: a 2D UMAP of all 59,047 items, the app's way (fixed seed: single-threaded) and unseeded (parallel),
  after numba's one-off compilation, each in this process;
- server: each page's script run in AppTest (the real app.py), first run (cold caches: loading the run and
  building its tables) and a rerun, and Projections of all 59,047 items in 2D and 3D; with the widest selectbox,
  the longest table and the size of the charts' JSON each page sends;
- browser: the real server (collab_server.serve) and headless Chromium: Projections of all 59,047 items in 2D
  and 3D, from navigation until Plotly has drawn every item (as points, or in a density layer's cells), and a
  widget change's rerun on that page (browser and server time); the other maps of every item (Neighbours with
  no minimum, Biases of every item, You after the demo ratings, Compare), from navigation until every chart of
  the page is drawn, and a widget change on Neighbours; and the server's resident memory (its process and
  workers) with a scale run active, after switching to the second and back, and after Compare.
- payload32m: a run shaped like MovieLens 32M (200,948 users x 87,585 items), and the size of every chart's JSON
  the server pages send with all 87,585 items (Streamlit's message limit is 200 MB).

Everything shares the machine's cores with Chromium and with whatever else runs: each section records the load
average beside its figures. `--json PATH` writes the whole result; `--only` picks sections.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from collab_core.bench.harness import ROOT, launch_chromium, start_server, stop_server, wait_for_app
from collab_core.bench.plotly_page import CHARTS_DRAWN, ITEMS_SHOWN  # what Plotly drew, read in the page
from collab_core.bench.procstat import descendants, rss_kib

SECTIONS = ("build", "neighbours", "umap", "server", "browser", "payload32m")
RUNS = ("scale-run-0", "scale-run-1")
# the server pages measured in AppTest: (page file, query parameters beyond the run)
SERVER_PAGES = [("pages/home.py", {}), ("pages/biases.py", {}),
                ("pages/biases.py", {"among": "min ratings", "min": "0"}),
                ("pages/projections.py", {}), ("pages/projections.py", {"items": str(59_047)}),
                ("pages/projections.py", {"items": str(59_047), "dims": "3"}), ("pages/neighbours.py", {}),
                ("pages/neighbours.py", {"min": "0"}), ("pages/you.py", {}), ("pages/you.py", {"demo": "clicked"}),
                ("pages/compare.py", {}),
                ("pages/diagnostics.py", {})]
# MovieLens 32M's shape (its README): 32,000,204 ratings by 200,948 users of 87,585 movies
ML32M = dict(n_users=200_948, n_items=87_585, n_ratings=32_000_204)
ML32M_PAGES = [("pages/projections.py", {"items": str(ML32M["n_items"])}),
               ("pages/projections.py", {"items": str(ML32M["n_items"]), "dims": "3"}),
               ("pages/neighbours.py", {"min": "0"}), ("pages/biases.py", {"among": "min ratings", "min": "0"}),
               ("pages/you.py", {"demo": "clicked"}), ("pages/compare.py", {})]
# the other maps of every item, in the browser: (what, address after the host, a button to click first (its CSS
# selector) or None)
BROWSER_MAPS = [("Neighbours, every candidate (min 0)", "neighbours?run={run}&min=0", None),
                ("Biases, every item (min 0)", "biases?run={run}&among=min%20ratings&min=0", None),
                ("You, after the demo ratings", "you?run={run}", ".st-key-you_demo button"),
                ("Compare of the two runs", "compare?run={run}&a={run}&b={other}", None)]
NEXT_FRAMES = "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(() => done(true))))"


def loadavg() -> list[float]:
    return [float(v) for v in Path("/proc/loadavg").read_text().split()[:3]]


def folder_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


# ---------------------------------------------------------------------- sections
def measure_build(runs_dir: Path) -> dict:
    from collab_core.bench.scale_run import save_scale_runs, scale_run

    start = time.perf_counter()
    scale_run(0)
    build_s = time.perf_counter() - start
    shutil.rmtree(runs_dir, ignore_errors=True)
    start = time.perf_counter()
    save_scale_runs(runs_dir, len(RUNS))
    return {"build_one_s": build_s, "build_and_save_two_s": time.perf_counter() - start,
            "disk_mb_per_run": folder_mb(runs_dir / RUNS[0]), "loadavg": loadavg()}


def measure_neighbours(runs_dir: Path) -> dict:
    from collab_core.bench.models import neighbour_timing
    from collab_core.runs.store import RunStore

    factors = RunStore(runs_dir).load(RUNS[0]).item_factors()  # (59047, 50)
    return {**neighbour_timing(factors, k=10, queries=100), "loadavg": loadavg()}


def measure_umap(runs_dir: Path) -> dict:
    from collab_core.analysis import interpret
    from collab_core.runs.store import RunStore

    factors = RunStore(runs_dir).load(RUNS[0]).item_factors()  # (59047, 50)
    out = {"n_items": len(factors), "cpu_count": os.cpu_count()}
    start = time.perf_counter()
    interpret.umap_warm_up()
    out["numba_warm_up_s"] = time.perf_counter() - start
    for name, seed in (("seeded_s", 42), ("unseeded_s", None)):
        out[f"loadavg_before_{name[:-2]}"] = loadavg()
        start = time.perf_counter()
        interpret.umap_embed(factors, 2, 15, 0.1, "euclidean", seed)
        out[name] = time.perf_counter() - start
    return out


def measure_server(runs_dir: Path, repeats: int, pages: list = SERVER_PAGES) -> dict:
    """Script-run times in AppTest: the first run of each page in a fresh session (run loading and table
    building are cached per process, so only the very first page pays them) and `repeats` reruns."""
    from streamlit.testing.v1 import AppTest

    from collab_app.apptest import chart_json, navigation_only

    os.environ.update({"COLLAB_RUNS_DIR": str(runs_dir), "COLLAB_UMAP_PREWARM": "0"})
    rows = []
    with navigation_only():  # as tests/app/conftest.navigation_mode: st.navigation only, no extra hop
        for page, query in pages:
            at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
            for key, value in {"run": RUNS[0], **query}.items():  # "demo" is not the page's: it is ignored
                at.query_params[key] = value
            at.switch_page(page)
            start = time.perf_counter()
            at.run()
            if query.get("demo"):  # You with five ratings: fold-in, recommendations, map, users like you
                at.button(key="you_demo").click().run()
            first = time.perf_counter() - start
            reruns = []
            for _ in range(repeats):
                start = time.perf_counter()
                at.run()
                reruns.append(time.perf_counter() - start)
            widest = max([len(s.options) for s in at.selectbox] or [0])
            charts_mb = [len(chart_json(c)) / 1e6 for c in at.get("plotly_chart")]  # the figures' JSON, as sent
            rows.append({"page": page, "query": query, "first_s": first, "rerun_median_s": statistics.median(reruns),
                         "exceptions": [e.value for e in at.exception], "largest_selectbox": widest,
                         "largest_table_rows": max([len(d.value) for d in at.dataframe] or [0]),
                         "charts_mb": sum(charts_mb), "largest_chart_mb": max(charts_mb or [0]),
                         "loadavg": loadavg()})
    return {"pages": rows}


def server_tree_rss_mb(pid: int) -> dict:
    own = rss_kib(pid) / 1024
    workers = sum(rss_kib(child) for child in descendants(pid)) / 1024
    return {"server_mb": own, "workers_mb": workers}


def measure_browser(runs_dir: Path, work: Path) -> dict:
    from playwright.sync_api import sync_playwright

    from collab_core.bench.ui import TIMING_LOG, measured, set_number

    env = {"COLLAB_UMAP_PREWARM": "0", "COLLAB_UMAP_WORKER": "0", **TIMING_LOG}
    process, url = start_server(runs_dir, work, env)
    out = {"memory": [], "projections": []}
    try:
        out["memory"].append({"when": "started, no page open", **server_tree_rss_mb(process.pid)})
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            page.set_default_timeout(300_000)
            for dims in (2, 3, 2):  # the second 2D view: the server's caches are warm
                start = time.perf_counter()
                page.goto(f"{url}/projections?run={RUNS[0]}&items=59047&dims={dims}&labels=30")
                wait_for_app(page, timeout=300_000)
                page.wait_for_function(f"() => ({ITEMS_SHOWN})() >= 59047", timeout=300_000, polling=100)
                page.evaluate(NEXT_FRAMES)
                total = (time.perf_counter() - start) * 1000
                out["projections"].append({"dims": dims, "load_to_drawn_ms": total, "loadavg": loadavg()})
            # a widget change on the 59,047-point 2D page: server script time and what the browser waits
            changes = [measured(page, process.log_path, "projections",
                                set_number(page, "Labels", value)) for value in (40, 50, 60)]
            out["projections_change"] = {"browser_ms": [b for b, _ in changes], "server_ms": [s for _, s in changes],
                                         "loadavg": loadavg()}
            out["memory"].append({"when": f"{RUNS[0]} on Projections (59,047 points, 2D)",
                                  **server_tree_rss_mb(process.pid)})
            for when, path in ((f"switched to {RUNS[1]} (Neighbours)", f"neighbours?run={RUNS[1]}"),
                               (f"back to {RUNS[0]} (Neighbours)", f"neighbours?run={RUNS[0]}"),
                               ("Compare of the two", f"compare?run={RUNS[0]}&a={RUNS[0]}&b={RUNS[1]}"),
                               ("You (demo ratings)", f"you?run={RUNS[0]}")):
                start = time.perf_counter()
                page.goto(f"{url}/{path}")
                wait_for_app(page, timeout=300_000)
                if path.startswith("you"):
                    page.locator(".st-key-you_demo button").first.click()  # its label names the run's noun
                    wait_for_app(page, timeout=300_000)
                seconds = time.perf_counter() - start - 0.3
                errors = page.locator("[data-testid='stException']").count()
                out["memory"].append({"when": when, "page_s": seconds, "exceptions": errors,
                                      **server_tree_rss_mb(process.pid), "loadavg": loadavg()})
            out["maps"] = measure_maps(page, url, process.log_path)  # after memory's first visits to these pages
            browser.close()
    finally:
        stop_server(process)
    return out


def measure_maps(page, url: str, log_path: Path) -> list[dict]:
    """Each of BROWSER_MAPS from navigation until every chart is drawn, twice (the second with the server's caches
    warm); a widget change on Neighbours (k) as on Projections."""
    from collab_core.bench.ui import measured, set_number

    rows = []
    for what, address, button in BROWSER_MAPS:
        times = []
        for _ in range(2):
            start = time.perf_counter()
            page.goto(f"{url}/{address.format(run=RUNS[0], other=RUNS[1])}")
            wait_for_app(page, timeout=300_000)
            if button:
                page.locator(button).first.click()
                wait_for_app(page, timeout=300_000)
            page.wait_for_function(CHARTS_DRAWN, timeout=300_000, polling=100)
            page.evaluate(NEXT_FRAMES)
            times.append((time.perf_counter() - start) * 1000)
        row = {"what": what, "load_to_drawn_ms": times, "loadavg": loadavg()}
        if address.startswith("neighbours"):
            changes = [measured(page, log_path, "neighbours", set_number(page, "k", value)) for value in (11, 12, 13)]
            row["change"] = {"browser_ms": [b for b, _ in changes], "server_ms": [s for _, s in changes]}
        rows.append(row)
    return rows


def measure_payload32m(work: Path, repeats: int) -> dict:
    """Every chart's JSON at ML-32M's 87,585 items, in AppTest (two runs of that shape, built in a temporary folder)."""
    from collab_core.bench.scale_run import ScaleShape, save_scale_runs

    runs_dir = work / "runs-32m"
    start = time.perf_counter()
    save_scale_runs(runs_dir, len(RUNS), ScaleShape(**ML32M))
    build_s = time.perf_counter() - start
    return {"shape": ML32M, "build_s": build_s, **measure_server(runs_dir, repeats, ML32M_PAGES)}


# ---------------------------------------------------------------------- report
def report(result: dict) -> None:
    env = result["environment"]
    print(f"At ML-25M size ({env['cpu_count']} cores; load average at start {env['loadavg_start']})")
    if "build" in result:
        b = result["build"]
        print(f"  build: one run {b['build_one_s']:.1f} s; build+save two {b['build_and_save_two_s']:.1f} s; "
              f"{b['disk_mb_per_run']:.0f} MB per run on disk   (load {b['loadavg']})")
    if "neighbours" in result:
        n = result["neighbours"]
        print(f"  neighbours at {n['n_items']:,} x {n['dims']}, k={n['k']}  (load {n['loadavg']})")
        for metric in ("euclidean", "cosine"):
            m = n[metric]
            print(f"    {metric:<9} KD-tree {m['kdtree_query_ms']:6.2f} ms/query   brute force "
                  f"{m['brute_force_query_ms']:6.2f} ms/query   tree build {m['build_ms']:.0f} ms")
    if "umap" in result:
        u = result["umap"]
        print(f"  UMAP 2D of {u['n_items']:,} items: numba warm-up {u['numba_warm_up_s']:.1f} s; seeded (the app) "
              f"{u['seeded_s']:.1f} s (load before {u['loadavg_before_seeded']}); unseeded {u['unseeded_s']:.1f} s "
              f"(load before {u['loadavg_before_unseeded']})")
    if "server" in result:
        report_pages("server script runs (AppTest)", result["server"]["pages"])
    if "payload32m" in result:
        report_pages(f"at ML-32M size ({result['payload32m']['shape']['n_items']:,} items; built in "
                     f"{result['payload32m']['build_s']:.0f} s)", result["payload32m"]["pages"])
    if "browser" in result:
        br = result["browser"]
        for p in br["projections"]:
            print(f"  browser: Projections {p['dims']}D, 59,047 points: {p['load_to_drawn_ms'] / 1000:.1f} s from "
                  f"navigation to drawn   (load {p['loadavg']})")
        c = br["projections_change"]
        print(f"  browser: a widget change there: browser {statistics.median(c['browser_ms']):.0f} ms, server "
              f"{statistics.median(c['server_ms']):.0f} ms (medians of {len(c['server_ms'])})")
        for m in br.get("maps", []):
            load = " / ".join(f"{t / 1000:.1f}" for t in m["load_to_drawn_ms"])
            print(f"  browser: {m['what']:<38} {load} s from navigation to every chart drawn, first / again"
                  f"   (load {m['loadavg']})")
            if "change" in m:
                print(f"    a widget change there (k): browser {statistics.median(m['change']['browser_ms']):.0f} ms, "
                      f"server {statistics.median(m['change']['server_ms']):.0f} ms (medians of 3)")
        for m in br["memory"]:
            extra = f"; page {m['page_s']:.1f} s" if "page_s" in m else ""
            print(f"  memory: {m['when']:<44} server {m['server_mb']:6.0f} MB + workers {m['workers_mb']:5.0f} MB"
                  f"{extra}")


def report_pages(title: str, pages: list[dict]) -> None:
    print(f"  {title:<50}first     rerun  widest select  rows  charts MB  load")
    for row in pages:
        name = row["page"].removeprefix("pages/") + (" " + " ".join(f"{k}={v}" for k, v in row["query"].items())
                                                     if row["query"] else "")
        flag = " EXCEPTION" if row["exceptions"] else ""
        print(f"    {name:<46} {row['first_s']:6.2f} s {row['rerun_median_s']:6.2f} s  "
              f"{row['largest_selectbox']:>9}  {row['largest_table_rows']:>6}  {row['charts_mb']:7.2f}  "
              f"{row['loadavg'][0]:.2f}{flag}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--runs", type=Path, help="a folder holding the scale runs (built there when missing); "
                                                  "default: a temporary folder")
    parser.add_argument("--repeats", type=int, default=3, help="reruns per page in the server section")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the result as JSON here")
    args = parser.parse_args(argv)
    with contextlib.ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-scale-")))
        runs_dir = args.runs or work / "runs"
        result = {"environment": {"cpu_count": os.cpu_count(), "loadavg_start": loadavg(),
                                  "started": time.strftime("%Y-%m-%d %H:%M:%S %Z")}}
        if "build" in args.only or not all((runs_dir / r).is_dir() for r in RUNS):
            result["build"] = measure_build(runs_dir)
        steps = {"neighbours": lambda: measure_neighbours(runs_dir), "umap": lambda: measure_umap(runs_dir),
                 "server": lambda: measure_server(runs_dir, args.repeats),
                 "browser": lambda: measure_browser(runs_dir, work),
                 "payload32m": lambda: measure_payload32m(work, args.repeats)}
        for name in SECTIONS[1:]:
            if name in args.only:
                print(f"[{time.strftime('%H:%M:%S')}] {name} ...", flush=True)
                result[name] = steps[name]()
        result["environment"]["loadavg_end"] = loadavg()
    report(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
