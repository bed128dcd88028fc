"""The server's per-run timing lines: off by default (a quiet log), on with COLLAB_TIMING_LOG, and then in the
format the UI benchmark parses: writer and reader must agree."""
from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from collab_core.bench import ui as bench_ui
from collab_server import timing

ROOT = Path(__file__).resolve().parents[2]
# What a server process does that writes timing lines: script runs, and full collections once serve has
# registered its callback. Printed to stderr, as in the server's log.
SERVER_LIKE = """
import gc
from collab_server import timing
timing.log_gc_pauses()
for page in ("home", "data", "progress-fragment"):
    with timing.script_run(page):
        gc.collect()
"""
TIMING_LINE = re.compile(r"^(script-run|gc-pause) ")


def server_log(env: dict) -> list[str]:
    environment = {k: v for k, v in os.environ.items() if k != "COLLAB_TIMING_LOG"} | env
    done = subprocess.run([sys.executable, "-c", SERVER_LIKE], cwd=ROOT, env=environment, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return (done.stdout + done.stderr).splitlines()


def test_the_default_server_log_holds_no_timing_line():
    assert [line for line in server_log({}) if TIMING_LINE.match(line)] == []


@pytest.mark.parametrize("value", ["1", "on"])
def test_the_setting_brings_the_timing_lines_back(value):
    lines = [line for line in server_log({"COLLAB_TIMING_LOG": value}) if TIMING_LINE.match(line)]
    assert [line.split()[1] for line in lines if line.startswith("script-run")] == [
        "page=home", "page=data", "page=progress-fragment"]
    assert sum(line.startswith("gc-pause ") for line in lines) >= 3  # one per full collection


@pytest.fixture()
def timing_on(monkeypatch):
    monkeypatch.setenv("COLLAB_TIMING_LOG", "1")
    timing.configure()
    yield
    monkeypatch.delenv("COLLAB_TIMING_LOG")
    timing.configure()


def test_script_run_logs_wall_and_cpu_time_that_the_benchmark_reads(tmp_path, timing_on):
    log_path = tmp_path / "server.log"
    handler = logging.FileHandler(log_path)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("collab_server.timing")
    logger.addHandler(handler)
    try:
        with timing.script_run("biases"):
            time.sleep(0.05)  # waiting: counts in ms, not in cpu_ms
        with timing.script_run("progress-fragment"):
            pass
    finally:
        logger.removeHandler(handler)
        handler.close()

    line = log_path.read_text().splitlines()[0]
    wall, cpu = map(float, re.fullmatch(r"script-run page=biases ms=([\d.]+) cpu_ms=([\d.]+)", line).groups())
    assert wall >= 50 and cpu < wall - 30
    # the benchmark picks one page's runs out of a log where other sessions' runs are interleaved
    assert bench_ui.server_ms(log_path, 0, "biases") == [wall]
    assert len(bench_ui.server_ms(log_path, 0)) == 2
