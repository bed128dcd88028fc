"""Many visitors on one server: `python -m collab_core.bench.visitors --sessions 10` (or `make bench-visitors`).

A study group: one server, N people. Seeds a runs folder with two small runs (the CLI, before the server starts),
starts the app as `make run` does with the per-run timing log on, and drives N headless Chromium sessions against
it, each in its own browser context (its own cookie and local storage: another person, not another tab). Each
session loops for `--duration-s`: it picks a page from the sidebar, changes one or two options to values only it
uses, waits until the app is idle and pauses `--pause-s`. `--trainers` sessions also train a short run whenever they
land on Train; `--uploaders` sessions upload a tiny ratings CSV named after themselves on the Data page.

Measured over the loops (after every session's first page load):
- the server's script-run time per page, p50/p95 (from the `script-run` lines of collab_server.timing), and the
  browser's step time (navigation + changes + waits) per page;
- RSS of the server process and of all its descendants (training/UMAP workers), sampled every few seconds;
- errors: exceptions drawn on a page, st.error boxes, steps that timed out or failed, tracebacks in the server log;
- isolation: after every step each session reads its page (text, input values, address) and checks that
  (a) no other session's marker is there: its search text (a swapped-case title, which no page writes by itself),
  its upload's file name, its training's progress or result; and (b) its own options (k, rows, labels, epochs...),
  its run and its rated movies are what it set. A value that belongs to another session is a violation; any other
  mismatch is counted as a state mismatch (a lost input, or a stale address).

Chromium runs on the same cores as the server; it is reniced (`--nice-browser`) so that the figures are closer to
what people on their own machines see, as in collab_core.bench.ui. UMAP is off (COLLAB_UMAP_PREWARM=0): its numba
warm-up would take a core for the first minute and no step here asks for it.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from collab_core.bench.harness import (
    ADDRESS_WRITTEN,
    BROWSER_CONNECTED,
    CHROMIUM,
    CHROMIUM_ARGS,
    ROOT,
    print_result,
    probe_script,
    start_server,
    stop_server,
)
from collab_core.bench.procstat import descendants, rss_kib

PAGES = ["home", "data", "train", "biases", "projections", "neighbours", "you", "compare", "diagnostics"]
TITLES = {p: p.capitalize() for p in PAGES}  # sidebar link names
# option -> (page, url parameter or None for the box's value, lowest value): session i uses lowest + i and
# lowest + N + i, so every value names its session. The ranges start above each page's default (a reset to the
# default is not another session's value) and end within the widget's bounds (Compare's k stops at 50, hence at
# most 20 sessions).
OWN_NUMBERS = {
    "nb_k": ("neighbours", "k", 11),
    "bias_rows": ("biases", "n", 16),
    "pj_labels": ("projections", "labels", 31),
    "cmp_k": ("compare", "k", 11),
    "dg_worst": ("diagnostics", "worst", 21),
    "data_min": ("data", None, 2),  # the Data page's filter is not in the address
    "epochs": ("train", None, 7),
}
# The Train form keeps what a browser sent (pressed Train with), not what it typed: a typed, unsent value is gone
# after a page change, by design (pages/train.py), so it is changed but not checked.
UNCHECKED = {"epochs"}
LABELS = {"nb_k": "k", "bias_rows": "Rows", "pj_labels": "Labels", "cmp_k": "Neighbours (k)",
          "dg_worst": "Worst predictions shown", "data_min": "Min ratings per item", "epochs": "Epochs"}
MAX_SESSIONS = 20
RATINGS_PER_ROUND = 3  # movies a session rates on You before it clears them and starts again
TRAINER_EPOCHS = 3
# text only a session that trains sees: its live progress, its queue place, its result
TRAINING_TEXT = re.compile(r"Queued: position|trained: validation RMSE|Training \w+ on \S")
STEP_TIMEOUT_MS = 90_000
TRAIN_TIMEOUT_MS = 300_000
SAMPLE_EVERY_S = 3.0
READ_PAGE = """() => [document.body.innerText,
  Array.from(document.querySelectorAll('input, textarea')).map(e => e.value).join('\\n'),
  Array.from(document.querySelectorAll("[class*='st-key-you_rm_']"))
    .map(e => (e.className.match(/st-key-you_rm_(\\S+)/) || [])[1]).filter(Boolean)]"""
RUN_LINE = re.compile(r"script-run page=(\S+) ms=([\d.]+) cpu_ms=([\d.]+)")
GC_LINE = re.compile(r"gc-pause ms=([\d.]+)")


# ------------------------------------------------------------------------------------------- figures
def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0-100) by linear interpolation between closest ranks; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary(values: list[float]) -> dict:
    return {"n": len(values), "p50": percentile(values, 50), "p95": percentile(values, 95),
            "max": max(values) if values else None}


def script_runs(lines: list[str]) -> dict[str, dict]:
    """Per page: the summary of its script runs' wall ms, and the median CPU ms (wall minus CPU is waiting)."""
    wall, cpu = {}, {}
    for match in filter(None, map(RUN_LINE.search, lines)):
        wall.setdefault(match.group(1), []).append(float(match.group(2)))
        cpu.setdefault(match.group(1), []).append(float(match.group(3)))
    return {page: {**summary(wall[page]), "cpu_p50": percentile(cpu[page], 50)} for page in sorted(wall)}


def tracebacks(lines: list[str]) -> list[str]:
    """The last line of each traceback in the server log (the exception), in order."""
    found, inside = [], False
    for line in lines:
        if line.startswith("Traceback"):
            inside = True
        elif inside and line and not line.startswith((" ", "\t")):
            found.append(line[:300])
            inside = False
    return found


def memory(pid: int) -> dict:
    workers = descendants(pid)
    total = 0
    for worker in workers:
        try:
            total += rss_kib(worker)
        except OSError:  # exited in between
            continue
    return {"t": time.time(), "server_mib": rss_kib(pid) / 1024, "workers_mib": total / 1024, "workers": len(workers)}


class Sampler(threading.Thread):
    """Reads the server's and its workers' RSS every few seconds, and renices the browsers (Chromium starts a
    process per context, at its own priority)."""

    def __init__(self, server_pid: int, niceness: int):
        super().__init__(daemon=True)
        self.server_pid, self.niceness = server_pid, niceness
        self.samples: list[dict] = []
        self.stop = threading.Event()

    def run(self) -> None:
        from collab_core.bench.ui import renice_browsers

        while not self.stop.is_set():
            try:
                self.samples.append(memory(self.server_pid))
                if self.niceness:
                    renice_browsers(self.server_pid, self.niceness)
            except OSError:  # the server is gone: the benchmark is ending
                return
            self.stop.wait(SAMPLE_EVERY_S)

    def figures(self) -> dict:
        samples = self.samples
        if not samples:
            return {}
        return {"samples": len(samples), "start": samples[0], "end": samples[-1],
                "peak_server_mib": max(s["server_mib"] for s in samples),
                "peak_workers_mib": max(s["workers_mib"] for s in samples),
                "peak_workers": max(s["workers"] for s in samples)}


# ------------------------------------------------------------------------------------------- sessions
@dataclass
class Visitor:
    """One person: their own marker values, what they expect to see, and what they saw."""
    index: int
    sessions: int
    trainer: bool
    uploader: bool
    neighbour_search: str  # a swapped-case title: typed by this session only
    rate_searches: list[str]
    rng: random.Random
    expected: dict = field(default_factory=dict)  # option key -> value last set (this Streamlit session)
    run: str | None = None  # the run its address shows; only its own training changes it
    rated: set = field(default_factory=set)  # item ids it rated (per browser)
    rating_turn: int = 0
    upload_name: str | None = None
    uploaded: bool = False
    trainings: list = field(default_factory=list)  # seconds from Train to its result
    steps: list = field(default_factory=list)  # (page, ms)
    errors: list = field(default_factory=list)
    violations: list = field(default_factory=list)
    mismatches: list = field(default_factory=list)
    started_training: bool = False

    def own(self, key: str, turn: int) -> int:
        return OWN_NUMBERS[key][2] + self.index + (self.sessions if turn % 2 else 0)

    def owner_of_number(self, key: str, value: int) -> int | None:
        offset = value - OWN_NUMBERS[key][2]
        index = offset % self.sessions if offset >= 0 else None
        return index if index is not None and offset < 2 * self.sessions else None


def movie_titles(runs_dir: Path, run_id: str, count: int) -> list[str]:
    """`count` most rated titles that no other title contains (a search for one selects it first)."""
    from collab_core.runs.store import RunStore

    catalog = RunStore(runs_dir).load(run_id).catalog
    titles = [str(t) for t in catalog.titles]
    lowered = [t.lower() for t in titles]
    chosen = []
    for index in catalog.top_items(None):
        title = lowered[index]
        if sum(title in other for other in lowered) == 1 and title.swapcase() != titles[index]:
            chosen.append(titles[index])
        if len(chosen) == count:
            break
    return chosen


def make_visitors(sessions: int, trainers: int, uploaders: int, titles: list[str]) -> list[Visitor]:
    per = 1 + RATINGS_PER_ROUND
    visitors = []
    for i in range(sessions):
        mine = titles[i * per:(i + 1) * per]
        visitor = Visitor(i, sessions, trainer=i < trainers, uploader=trainers <= i < trainers + uploaders,
                          neighbour_search=mine[0].swapcase(), rate_searches=[t.swapcase() for t in mine[1:]],
                          rng=random.Random(i))
        if visitor.uploader:
            visitor.upload_name = f"visitor{i:02d}-ratings.csv"
        visitors.append(visitor)
    return visitors


def upload_table(visitor: Visitor) -> bytes:
    """A tiny ratings table whose ids carry the session's marker."""
    rows = "".join(f"v{visitor.index:02d}u{u},v{visitor.index:02d}m{m},{(u * m) % 5 + 1}\n"
                   for u in range(12) for m in range(9))
    return ("user,item,rating\n" + rows).encode()


# ------------------------------------------------------------------------------------------- browser steps
async def wait_idle(page, timeout: float = STEP_TIMEOUT_MS) -> None:
    """collab_core.bench.harness.wait_for_app for the async API: past the first run, then settled (every rerun the
    page asked for has run and been drawn; the probe the context carries, harness.probe_script)."""
    await page.wait_for_function(BROWSER_CONNECTED, timeout=timeout)
    busy = await page.evaluate("(timeout) => window.__collabProbe.settle(timeout)", timeout)
    if busy:
        raise TimeoutError(f"the app did not settle in {timeout / 1000:.0f} s: {'; '.join(busy)}")
    await page.wait_for_function(ADDRESS_WRITTEN, timeout=timeout)


async def set_number(page, label: str, value: int, commit: str = "Enter") -> None:
    box = page.get_by_label(label, exact=True)
    await box.fill(str(value))
    await box.press(commit)
    await wait_idle(page)


async def search(page, label: str, text: str) -> None:
    """The picker's search box: Enter selects the best match."""
    box = page.get_by_label(label, exact=True)
    await box.fill(text)
    await box.press("Enter")
    await wait_idle(page)


async def change_number(page, visitor: Visitor, key: str, turn: int) -> None:
    value = visitor.own(key, turn)
    await set_number(page, LABELS[key], value, "Tab" if key == "epochs" else "Enter")
    visitor.expected[key] = value


async def step_neighbours(page, visitor: Visitor, turn: int) -> None:
    if await page.get_by_label("Search movies", exact=True).input_value() != visitor.neighbour_search:
        await search(page, "Search movies", visitor.neighbour_search)
    await change_number(page, visitor, "nb_k", turn)


async def step_you(page, visitor: Visitor, turn: int) -> None:
    """Rate the next of this session's movies; after RATINGS_PER_ROUND, clear them and start again."""
    if visitor.rating_turn == RATINGS_PER_ROUND:
        await page.get_by_role("button", name="Clear my ratings").click()
        await page.get_by_text("Rate at least one movie").wait_for(timeout=STEP_TIMEOUT_MS)
        await wait_idle(page)
        visitor.rated, visitor.rating_turn = set(), 0
        return
    await search(page, "Find a movie to rate", visitor.rate_searches[visitor.rating_turn])
    stars = f"{1 + (visitor.index + visitor.rating_turn) % 5} ★"
    await page.get_by_role("radiogroup", name="Your rating").get_by_role("radio", name=stars, exact=True).click()
    await wait_idle(page)
    await page.get_by_role("button", name="Rate", exact=True).click()
    await wait_idle(page)
    visitor.rating_turn += 1
    visitor.rated = None  # learnt from the page below: the new id is the one not rated before


async def step_data(page, visitor: Visitor, turn: int) -> None:
    if visitor.uploader and not visitor.uploaded:
        await upload(page, visitor)
    elif not visitor.uploader:
        await change_number(page, visitor, "data_min", turn)


async def upload(page, visitor: Visitor) -> None:
    await page.get_by_text("Upload CSV / Parquet").click()
    await wait_idle(page)
    await page.locator("input[type=file]").set_input_files(
        files=[{"name": visitor.upload_name, "mimeType": "text/csv", "buffer": upload_table(visitor)}])
    button = page.get_by_role("button", name="Use this dataset")
    await button.wait_for(timeout=STEP_TIMEOUT_MS)
    await wait_idle(page)
    await button.click()
    await page.get_by_text(f"Training now uses {visitor.upload_name}").wait_for(timeout=STEP_TIMEOUT_MS)
    await wait_idle(page)
    visitor.uploaded = True


async def step_train(page, visitor: Visitor, turn: int) -> None:
    if not visitor.trainer:
        await change_number(page, visitor, "epochs", turn)
        return
    await set_number(page, "Epochs", TRAINER_EPOCHS, "Tab")
    start = time.perf_counter()
    visitor.started_training = True
    await page.get_by_role("button", name="Train", exact=True).click()
    await page.get_by_text(re.compile(r"trained: validation RMSE")).wait_for(timeout=TRAIN_TIMEOUT_MS)
    await wait_idle(page)
    visitor.trainings.append(time.perf_counter() - start)
    visitor.run = None  # its own new run: learnt from the address
    visitor.expected.clear()  # options of the old run may not carry over to the new one


def step_simple(key: str):
    """A step that changes one number of the page to this session's next value."""
    async def step(page, visitor: Visitor, turn: int) -> None:
        await change_number(page, visitor, key, turn)
    return step


async def step_home(page, visitor: Visitor, turn: int) -> None:
    return None


def page_steps() -> dict:
    return {"home": step_home, "data": step_data, "train": step_train, "neighbours": step_neighbours,
            "you": step_you, "biases": step_simple("bias_rows"), "projections": step_simple("pj_labels"),
            "compare": step_simple("cmp_k"), "diagnostics": step_simple("dg_worst")}


# ------------------------------------------------------------------------------------------- checks
def url_params(url: str) -> dict[str, str]:
    from urllib.parse import parse_qsl, urlparse

    return dict(parse_qsl(urlparse(url).query))


async def read_page(page) -> tuple[str, list[str]]:
    """(the page's text, its input values and its address in one string; the ids of its rated movies)."""
    text, inputs, rated = await page.evaluate(READ_PAGE)
    return f"{text}\n{inputs}\n{page.url}", rated


def foreign_markers(visitor: Visitor, visitors: list[Visitor]) -> dict[str, int]:
    """marker -> the session it belongs to, for every other session."""
    markers = {}
    for other in visitors:
        if other is visitor:
            continue
        for marker in [other.neighbour_search, *other.rate_searches, other.upload_name]:
            if marker:
                markers[marker] = other.index
    return markers


def check_foreign(visitor: Visitor, visitors: list[Visitor], name: str, seen: str, rated: list[str],
                  rated_by: dict) -> None:
    for marker, owner in foreign_markers(visitor, visitors).items():
        if marker in seen:
            visitor.violations.append({"session": visitor.index, "page": name, "leaked": marker, "from": owner})
    if not visitor.started_training and TRAINING_TEXT.search(seen):
        visitor.violations.append({"session": visitor.index, "page": name, "from": "a training session",
                                   "leaked": TRAINING_TEXT.search(seen).group(0)})
    for item in rated:
        owner = rated_by.get(item)
        if owner is not None and owner != visitor.index:
            visitor.violations.append({"session": visitor.index, "page": name, "leaked": f"rated movie {item}",
                                       "from": owner})


async def check_own(page, visitor: Visitor, visitors: list[Visitor], name: str, rated: list[str],
                    rated_by: dict) -> None:
    """The options, run and ratings this session set are the ones it sees (the address follows a run ~250 ms
    late, so it is read again for a few seconds before a difference counts)."""
    if name == "you":
        check_ratings(visitor, rated, rated_by)
    wanted = {key: value for key, value in visitor.expected.items()
              if OWN_NUMBERS[key][0] == name and key not in UNCHECKED}
    for _ in range(20):
        found = await observed(page, name, wanted)
        params = url_params(page.url)
        run_ok = visitor.run is None or params.get("run") in (None, visitor.run)
        if run_ok and all(found.get(key) == str(value) for key, value in wanted.items()):
            break
        await page.wait_for_timeout(250)
    if visitor.run is None and params.get("run"):
        visitor.run = params["run"]
    elif not run_ok:
        record_mismatch(visitor, visitors, name, "run", visitor.run, params.get("run"))
    for key, value in wanted.items():
        if found.get(key) != str(value):
            record_mismatch(visitor, visitors, name, key, value, found.get(key))


async def observed(page, name: str, wanted: dict) -> dict[str, str]:
    """The current value of each wanted option: from the address, or from its box when it has no parameter."""
    params, found = url_params(page.url), {}
    for key in wanted:
        param = OWN_NUMBERS[key][1]
        if param is not None:
            found[key] = params.get(param)
        else:
            found[key] = await page.get_by_label(LABELS[key], exact=True).input_value()
    return found


def check_ratings(visitor: Visitor, rated: list[str], rated_by: dict) -> None:
    """The movies listed under "Your ratings" are this session's: as many as it rated, none rated by another."""
    if visitor.rated is None:  # just rated one: the ids on the page are its set now
        visitor.rated = set(rated)
        for item in rated:
            rated_by.setdefault(item, visitor.index)
    if len(rated) != visitor.rating_turn or set(rated) != visitor.rated:
        visitor.mismatches.append({"session": visitor.index, "page": "you", "what": "rated movies",
                                   "expected": sorted(visitor.rated), "found": sorted(rated)})


def record_mismatch(visitor: Visitor, visitors: list[Visitor], name: str, key: str, expected, found) -> None:
    owner = None
    if key in OWN_NUMBERS and found is not None and str(found).isdigit():
        owner = visitor.owner_of_number(key, int(found))
    elif key == "run":
        owner = next((v.index for v in visitors if v is not visitor and v.run == found and v.trainer), None)
    entry = {"session": visitor.index, "page": name, "what": key, "expected": expected, "found": found}
    if owner is not None and owner != visitor.index:
        visitor.violations.append({**entry, "leaked": f"{key}={found}", "from": owner})
    else:
        visitor.mismatches.append(entry)


async def count_errors(page, visitor: Visitor, name: str) -> None:
    for testid, kind in (("stException", "exception"), ("stAlertContentError", "error box")):
        boxes = page.get_by_test_id(testid)
        for i in range(await boxes.count()):
            text = (await boxes.nth(i).inner_text())[:300]
            visitor.errors.append({"session": visitor.index, "page": name, "kind": kind, "text": text})


# ------------------------------------------------------------------------------------------- the loop
async def visit(page, visitor: Visitor, visitors: list[Visitor], name: str, turn: int, steps: dict,
                rated_by: dict) -> float:
    """One step: go to `name` through the sidebar, check it, change its options, check it again; returns the
    seconds the checks took (not part of the step's time: a person does not do them)."""
    await page.get_by_test_id("stSidebarNav").get_by_role("link", name=TITLES[name], exact=True).click()
    await page.wait_for_function(f"() => location.pathname.endsWith('/{'' if name == 'home' else name}')",
                                 timeout=STEP_TIMEOUT_MS)
    await wait_idle(page)
    checked = await checks(page, visitor, visitors, name, rated_by)
    await steps[name](page, visitor, turn)
    return checked + await checks(page, visitor, visitors, name, rated_by)


async def checks(page, visitor: Visitor, visitors: list[Visitor], name: str, rated_by: dict) -> float:
    """Every check of a page; returns the seconds they took."""
    start = time.perf_counter()
    seen, rated = await read_page(page)
    if name == "data" and visitor.uploaded and visitor.upload_name not in seen:
        visitor.mismatches.append({"session": visitor.index, "page": name, "what": "upload",
                                   "expected": visitor.upload_name, "found": None})
    await check_own(page, visitor, visitors, name, rated, rated_by)
    check_foreign(visitor, visitors, name, seen, rated, rated_by)
    await count_errors(page, visitor, name)
    return time.perf_counter() - start


def next_page(visitor: Visitor, last: str | None) -> str:
    """A random page but the last one; a trainer or uploader goes to Train / Data first."""
    if visitor.uploader and not visitor.uploaded and last != "data":
        return "data"
    if visitor.trainer and not visitor.trainings and last != "train":
        return "train"
    return visitor.rng.choice([p for p in PAGES if p != last])


async def session_loop(page, visitor: Visitor, visitors: list[Visitor], url: str, deadline: float, pause_s: float,
                       rated_by: dict) -> None:
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    steps, last, turn = page_steps(), None, 0
    while time.time() < deadline:
        name = next_page(visitor, last)
        start = time.perf_counter()
        try:
            checking = await visit(page, visitor, visitors, name, turn, steps, rated_by)
            visitor.steps.append((name, (time.perf_counter() - start - checking) * 1000))
        except PlaywrightTimeout as exc:
            await recover(page, visitor, url, name, "timeout", exc)
        except Exception as exc:  # noqa: BLE001 - a failed step is a finding; the session carries on
            await recover(page, visitor, url, name, "step failed", exc)
        last, turn = name, turn + 1
        await asyncio.sleep(pause_s)


async def recover(page, visitor: Visitor, url: str, name: str, kind: str, exc: Exception) -> None:
    """Record the failure and reload the page: a new Streamlit session of the same browser, so the options it
    set are gone (its ratings, upload and run are kept per browser)."""
    visitor.errors.append({"session": visitor.index, "page": name, "kind": kind,
                           "text": str(exc).splitlines()[0][:300]})
    visitor.expected.clear()
    visitor.run = None
    try:
        await page.goto(f"{url}/{'' if name == 'home' else name}", timeout=STEP_TIMEOUT_MS)
        await wait_idle(page)
    except Exception as again:  # noqa: BLE001
        visitor.errors.append({"session": visitor.index, "page": name, "kind": "reload failed",
                               "text": str(again).splitlines()[0][:300]})


async def open_session(browser, visitor: Visitor, url: str, run_id: str, pause: float):
    await asyncio.sleep(pause)  # people arrive a little apart
    context = await browser.new_context(viewport={"width": 1024, "height": 768})
    await context.add_init_script(probe_script())  # what wait_idle reads
    page = await context.new_page()
    page.set_default_timeout(STEP_TIMEOUT_MS)
    await page.goto(f"{url}/?run={run_id}", timeout=STEP_TIMEOUT_MS)
    await wait_idle(page)
    return context, page


async def drive(url: str, visitors: list[Visitor], run_id: str, args, on_start) -> None:
    """Open every session, then run their loops together for the duration; `on_start` marks the beginning of
    the measured window (every session has loaded its first page)."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        opened = await asyncio.gather(*(open_session(browser, v, url, run_id, 0.3 * v.index) for v in visitors))
        on_start()
        deadline = time.time() + args.duration_s
        rated_by: dict = {}
        await asyncio.gather(*(session_loop(page, v, visitors, url, deadline, args.pause_s, rated_by)
                               for (_, page), v in zip(opened, visitors)))
        for context, _ in opened:
            await context.close()
        await browser.close()


# ------------------------------------------------------------------------------------------- set-up and report
def seed_runs(runs_dir: Path) -> list[str]:
    """Two small default runs (other seeds), trained by the CLI before the server starts: every page has a run,
    and Compare has two."""
    run_ids = []
    for seed in (1, 2):
        out = subprocess.run([sys.executable, "-m", "collab_core", "train", "--epochs", "3", "--seed", str(seed),
                              "--runs-dir", str(runs_dir), "--quiet"], cwd=ROOT, check=True, capture_output=True,
                             text=True).stdout
        run_ids.append(json.loads(out.strip().splitlines()[-1])["run_id"])
    return run_ids


def loadavg() -> str:
    """The 1, 5 and 15 minute load averages: this machine is shared, so every figure comes with them."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def collect(visitors: list[Visitor], log_lines: list[str], sampler: Sampler, window_s: float) -> dict:
    browser_steps: dict[str, list[float]] = {}
    for visitor in visitors:
        for name, ms in visitor.steps:
            browser_steps.setdefault(name, []).append(ms)
    gc_pauses = [float(m.group(1)) for m in filter(None, map(GC_LINE.search, log_lines))]
    trainings = [s for v in visitors for s in v.trainings]
    return {
        "window_s": window_s,
        "server_ms": script_runs(log_lines),
        "browser_step_ms": {name: summary(ms) for name, ms in sorted(browser_steps.items())},
        "steps": sum(len(v.steps) for v in visitors),
        "steps_per_session": [len(v.steps) for v in visitors],
        "gc_pause_ms": summary(gc_pauses),
        "trainings_s": summary(trainings),
        "memory": sampler.figures(),
        "errors": [e for v in visitors for e in v.errors],
        "server_tracebacks": tracebacks(log_lines),
        "violations": [x for v in visitors for x in v.violations],
        "mismatches": [x for v in visitors for x in v.mismatches],
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=10, help=f"browser sessions (at most {MAX_SESSIONS})")
    parser.add_argument("--duration-s", type=float, default=120.0, help="how long the sessions loop")
    parser.add_argument("--trainers", type=int, default=2, help="sessions that also train a short run on Train")
    parser.add_argument("--uploaders", type=int, default=1, help="sessions that upload a tiny CSV on Data")
    parser.add_argument("--pause-s", type=float, default=1.0, help="pause after each step, as a person reads")
    parser.add_argument("--nice-browser", type=int, default=10, metavar="N",
                        help="run Playwright and Chromium at this niceness (0: let them compete with the server)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not 1 <= args.sessions <= MAX_SESSIONS or args.trainers + args.uploaders > args.sessions:
        parser.error(f"1 to {MAX_SESSIONS} sessions, with trainers + uploaders at most the sessions")

    work = Path(tempfile.mkdtemp(prefix="bench-visitors-"))
    runs = work / "runs"
    run_ids = seed_runs(runs)
    titles = movie_titles(runs, run_ids[0], args.sessions * (1 + RATINGS_PER_ROUND))
    visitors = make_visitors(args.sessions, args.trainers, args.uploaders, titles)
    env = {"COLLAB_TIMING_LOG": "1", "COLLAB_UMAP_PREWARM": "0", "COLLAB_DEFAULT_RUN": run_ids[0]}
    process, url = start_server(runs, work, env)
    sampler = Sampler(process.pid, args.nice_browser)
    result = {"sessions": args.sessions, "trainers": args.trainers, "uploaders": args.uploaders,
              "duration_s": args.duration_s, "pause_s": args.pause_s, "cores": os.cpu_count(), "work_dir": str(work),
              "loadavg_start": loadavg()}
    window: dict = {}

    def on_start() -> None:
        window["line"] = len(process.log_path.read_text().splitlines())
        window["t"] = time.perf_counter()
        result["loadavg_window_start"] = loadavg()
        sampler.start()

    try:
        asyncio.run(drive(url, visitors, run_ids[0], args, on_start))
        window_s = time.perf_counter() - window["t"]
        result["loadavg_end"] = loadavg()
        sampler.stop.set()
        sampler.join()
        lines = process.log_path.read_text().splitlines()[window["line"]:]
        result.update(collect(visitors, lines, sampler, window_s))
    finally:
        sampler.stop.set()
        stop_server(process)
    return print_result(result, args.json, report)


def _ms(value) -> str:
    return "-" if value is None else f"{value:.0f}"


def report(result: dict) -> None:
    print(f"{result['sessions']} sessions ({result['trainers']} training, {result['uploaders']} uploading) for "
          f"{result['window_s']:.0f} s on {result['cores']} cores, pause {result['pause_s']} s; load average "
          f"{result['loadavg_window_start']} at the start, {result['loadavg_end']} at the end")
    print(f"{result['steps']} steps (per session: {result['steps_per_session']}); trainings: "
          f"{result['trainings_s']['n']} (p50 {_ms(result['trainings_s']['p50'])} s)")
    print("\nper page: server script run ms (n, p50, p95, max, cpu p50) | browser step ms (n, p50, p95)")
    for name in PAGES:
        server, steps = result["server_ms"].get(name), result["browser_step_ms"].get(name)
        left = (f"{server['n']:4d} {_ms(server['p50']):>6} {_ms(server['p95']):>6} {_ms(server['max']):>6} "
                f"{_ms(server['cpu_p50']):>5}" if server else f"{'-':>30}")
        right = f"{steps['n']:4d} {_ms(steps['p50']):>6} {_ms(steps['p95']):>6}" if steps else "-"
        print(f"  {name:<12} {left} | {right}")
    gc = result["gc_pause_ms"]
    print(f"full GC pauses: {gc['n']}, p50 {_ms(gc['p50'])} ms, max {_ms(gc['max'])} ms")
    memory_report(result["memory"])
    print(f"\nerrors: {len(result['errors'])}; server tracebacks: {len(result['server_tracebacks'])}; isolation "
          f"violations: {len(result['violations'])}; own-state mismatches: {len(result['mismatches'])}")
    for kind in ("errors", "server_tracebacks", "violations", "mismatches"):
        for entry in result[kind][:15]:
            print(f"  {kind}: {entry}")
    print(f"(server log and runs in {result['work_dir']})")


def memory_report(memory: dict) -> None:
    if not memory:
        return
    start, end = memory["start"], memory["end"]
    print(f"RSS MiB, server / all its workers: start {start['server_mib']:.0f} / {start['workers_mib']:.0f} "
          f"({start['workers']}), end {end['server_mib']:.0f} / {end['workers_mib']:.0f} ({end['workers']}), peak "
          f"{memory['peak_server_mib']:.0f} / {memory['peak_workers_mib']:.0f} ({memory['peak_workers']} processes)")


if __name__ == "__main__":
    raise SystemExit(main())
