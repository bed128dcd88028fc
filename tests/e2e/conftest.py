"""Real-browser fixtures: the app served by `streamlit run` on a free loopback port, and Debian's Chromium
driven by Playwright (`playwright install` cannot download browsers here).

Without /usr/bin/chromium the e2e tests skip with a message, except in CI (CI=true), where that fails."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-quic", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(runs_dir: Path, extra_env: dict | None = None) -> tuple[subprocess.Popen, str]:
    """`streamlit run app.py` headless on 127.0.0.1; returns (process, base url) once /_stcore/health is ok."""
    port = free_port()
    env = {**os.environ, "COLLAB_RUNS_DIR": str(runs_dir), **(extra_env or {})}
    log = open(runs_dir.parent / f"server-{port}.log", "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited early; see {log.name}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return process, url
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError(f"streamlit did not become healthy in 60 s; see {log.name}")


def stop_server(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="module")
def app_server(tmp_path_factory):
    runs_dir = tmp_path_factory.mktemp("e2e") / "runs"
    runs_dir.mkdir()
    process, url = start_server(runs_dir)
    yield url, runs_dir
    stop_server(process)


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: install Debian's chromium (`apt-get install -y chromium`) for browser tests"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture()
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    yield page
    context.close()


def wait_for_app(page, timeout: float = 60_000) -> None:
    """Wait until Streamlit has finished the current script run."""
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=timeout)
    page.wait_for_timeout(300)  # let the last deltas paint
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=timeout)


def screenshot(page, name: str) -> Path:
    """Screenshots go to test-artifacts/screenshots, and to docs/screenshots when COLLAB_SCREENSHOTS=docs."""
    folders = [ROOT / "test-artifacts" / "screenshots"]
    if os.environ.get("COLLAB_SCREENSHOTS") == "docs":
        folders.append(ROOT / "docs" / "screenshots")
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
    return folders[0] / f"{name}.png"
