"""Run the dashboard as a subprocess on a free loopback port, and drive it with Debian's Chromium.

Shared by the browser tests and the UI latency benchmark (`python -m collab_core.bench.ui`). Chromium
comes from Debian (`/usr/bin/chromium`); `playwright install` cannot download browsers here."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository
CHROMIUM = Path("/usr/bin/chromium")
# Without the networking flags Chromium keeps trying to reach Google, which this machine refuses.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-quic", "--no-first-run"]
APP_IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(runs_dir: Path, log_dir: Path, extra_env: dict | None = None,
                 timeout: float = 60.0) -> tuple[subprocess.Popen, str]:
    """The app (via collab_server.serve, as `make run` starts it) headless on 127.0.0.1; returns (process, base url)
    once /_stcore/health answers."""
    port = free_port()
    env = {**os.environ, "COLLAB_RUNS_DIR": str(runs_dir), **(extra_env or {})}
    log_path = Path(log_dir) / f"server-{port}.log"
    log = open(log_path, "w")  # noqa: SIM115 - the server writes to it until stop_server(); the process owns it
    process = subprocess.Popen(
        [sys.executable, "-m", "collab_server.serve", "--server.headless", "true", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    process.log_path = log_path  # the benchmark reads the per-run timings from it
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited early; see {log_path}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return process, url
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"streamlit did not become healthy in {timeout:.0f} s; see {log_path}")


def print_result(result: dict, as_json: bool, report) -> int:
    """A benchmark's last step: its result as one JSON object, or `report(result)` for people."""
    if as_json:
        print(json.dumps(result))
    else:
        report(result)
    return 0


def stop_server(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


def launch_chromium(playwright):
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)


# set by collab_app.browser's component once it has run in the page: the app is then past its first, empty run
BROWSER_CONNECTED = "() => window.__collabHistory === true"


def wait_for_app(page, timeout: float = 60_000) -> None:
    """Wait until Streamlit has finished the current script run (checked twice: a rerun may follow), past the
    first run of a fresh page, which draws nothing until the app's browser component has reported."""
    page.wait_for_selector(APP_IDLE, timeout=timeout)
    page.wait_for_function(BROWSER_CONNECTED, timeout=timeout)
    page.wait_for_timeout(300)
    page.wait_for_selector(APP_IDLE, timeout=timeout)


def set_epochs(page, epochs: int) -> None:
    """Fill the Train page's Epochs box and commit it with Tab, as a person leaving the field does."""
    box = page.get_by_label("Epochs", exact=True)
    box.fill(str(epochs))
    box.press("Tab")
