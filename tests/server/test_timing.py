"""The server's per-run timing lines are what the UI benchmark parses: writer and reader must agree."""
from __future__ import annotations

import logging
import re
import time

from benchmarks import bench_ui
from collab_server import timing


def test_script_run_logs_wall_and_cpu_time_that_the_benchmark_reads(tmp_path):
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
