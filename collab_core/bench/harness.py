"""Run the dashboard as a subprocess on a free loopback port, and drive it with Debian's Chromium.

Shared by the browser tests and the UI latency benchmark (`python -m collab_core.bench.ui`). Chromium
comes from Debian (`/usr/bin/chromium`); `playwright install` cannot download browsers here."""
from __future__ import annotations

import functools
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
    """Debian's Chromium, headless. Every page it opens carries the settle probe that `wait_for_app` reads: the
    browser's `new_context` and `new_page` are wrapped to add it as an init script (Playwright has no
    browser-wide one), so that it sees the page's WebSocket from the first message."""
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
    new_context, new_page = browser.new_context, browser.new_page

    def probed_context(*args, **kwargs):
        context = new_context(*args, **kwargs)
        context.add_init_script(probe_script())
        return context

    def probed_page(*args, **kwargs):
        page = new_page(*args, **kwargs)  # about:blank: the probe is in every document it goes to next
        page.context.add_init_script(probe_script())
        return page

    browser.new_context, browser.new_page = probed_context, probed_page
    return browser


# set by collab_app.browser's component once it has run in the page: the app is then past its first, empty run
BROWSER_CONNECTED = "() => window.__collabHistory === true"
# the page's options are in the address: collab_app.browser writes them a moment after a run (see there)
ADDRESS_WRITTEN = "() => !(window.__collabAddressPending && window.__collabAddressPending())"


# The protobuf field numbers the probe reads from Streamlit's messages (BackMsg, ClientState, ForwardMsg and its
# metadata). Written out because the engine never imports Streamlit; tests/e2e/test_probe.py checks them against
# the installed Streamlit's own message descriptors.
FIELDS = {
    "rerun": 11, "fragment": 5, "auto": 6,  # BackMsg.rerun_script: ClientState.fragment_id, .is_auto_rerun
    "asks": [16, 19], "answers": [19, 27],  # file_urls_request, backend_operation_request and their responses
    "metadata": 2, "run": 6, "runId": 1, "fragments": 2,  # ForwardMsg.metadata.run: script_run_id, fragment_ids
    "newSession": 4, "finished": 6, "early": 2,  # ForwardMsg.new_session, .script_finished, FINISHED_EARLY_FOR_RERUN
}


# How long the page must stay unchanged after a run's end arrived when Streamlit drew that run without ever
# showing it as running (a busy browser handles the run's messages in one go): its drawing then has had its turn.
QUIET_MS = 150

# The settle probe, in every page (see launch_chromium). It reads Streamlit's WebSocket: a rerun the page asks for
# (a click, a typed value, a component's report; not a fragment's timed rerun) is outstanding until a run of that
# kind that started after the ask has ended (script_finished, not "stopped early for a rerun"); so are file-URL
# requests and HTTP requests (uploads) in flight. The app is settled when nothing is outstanding, the app element
# says notRunning and that was drawn after the run's end arrived. Field numbers: FIELDS.
_PROBE = r"""
(() => {
  if (window.__collabProbe) return;
  const F = __FIELDS__;
  const now = () => performance.now();
  const probe = window.__collabProbe = {
    asked: null,        // {fragment, runId}: the rerun asked for and not yet ended
    requests: 0, http: 0, socket: null,
    endedAt: 0, idleDrawnAt: 0, changedAt: 0, runs: 0,
  };
  // protobuf: the top-level fields of a message, as [number, value] (a varint's number or a byte array)
  const fields = (bytes) => {
    const out = [];
    let i = 0;
    const varint = () => {
      let v = 0, m = 1, b;
      do { b = bytes[i++]; v += (b & 127) * m; m *= 128; } while (b & 128);
      return v;
    };
    while (i < bytes.length) {
      const tag = varint(), wire = tag % 8, number = Math.floor(tag / 8);
      if (wire === 0) out.push([number, varint()]);
      else if (wire === 2) { const n = varint(); out.push([number, bytes.subarray(i, i + n)]); i += n; }
      else if (wire === 1) i += 8;
      else if (wire === 5) i += 4;
      else break;
    }
    return out;
  };
  const get = (list, number) => (list.find(([n]) => n === number) || [])[1];
  const text = (bytes) => bytes ? new TextDecoder().decode(bytes) : "";
  const bytesOf = (data) => data instanceof ArrayBuffer ? new Uint8Array(data)
    : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : null;
  const sent = (data) => {
    const bytes = bytesOf(data);
    if (!bytes) return;
    const message = fields(bytes), rerun = get(message, F.rerun);
    if (rerun !== undefined) {
      const state = fields(rerun);
      if (!get(state, F.auto)) probe.asked = {fragment: text(get(state, F.fragment)), runId: null};
    }
    if (message.some(([n]) => F.asks.includes(n))) probe.requests += 1;
  };
  const received = (data) => {
    const bytes = bytesOf(data);
    if (!bytes) return;
    const message = fields(bytes);
    if (message.some(([n]) => F.answers.includes(n))) probe.requests = Math.max(0, probe.requests - 1);
    const started = get(message, F.newSession) !== undefined, status = get(message, F.finished);
    if (!started && status === undefined) return;
    const metadata = get(message, F.metadata), run = metadata && get(fields(metadata), F.run);
    const runFields = run ? fields(run) : [];
    const runId = text(get(runFields, F.runId));
    const fragments = runFields.filter(([n]) => n === F.fragments).map(([, v]) => text(v));
    const asked = probe.asked;
    if (started && asked && (asked.fragment ? fragments.includes(asked.fragment) : fragments.length === 0))
      asked.runId = runId;  // the run that answers the ask (a rerun it asks for in turn replaces it)
    if (status !== undefined && status !== F.early) {
      if (fragments.length === 0) probe.runs += 1;
      if (asked && asked.runId === runId) { probe.asked = null; probe.endedAt = now(); }
    }
  };
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      probe.socket = this;
      this.addEventListener("message", (event) => received(event.data));
    }
    send(data) {
      sent(data);
      return super.send(data);
    }
  };
  const xhrSend = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.send = function (...args) {
    probe.http += 1;
    this.addEventListener("loadend", () => { probe.http -= 1; });
    return xhrSend.apply(this, args);
  };
  const fetch = window.fetch;
  window.fetch = function (...args) {
    probe.http += 1;
    return fetch.apply(this, args).finally(() => { probe.http -= 1; });
  };
  const APP = "[data-testid='stApp']";
  const state = () => document.querySelector(APP)?.getAttribute("data-test-script-state");
  new MutationObserver((records) => {
    probe.changedAt = now();
    if (records.some(r => r.attributeName === "data-test-script-state") && state() === "notRunning")
      probe.idleDrawnAt = now();
  }).observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
  const drawn = () => probe.endedAt === 0 || probe.idleDrawnAt > probe.endedAt
    || now() - Math.max(probe.endedAt, probe.changedAt) >= __QUIET__;
  probe.busy = () => {
    const why = [];
    if (!probe.socket || probe.socket.readyState !== Native.OPEN) why.push("not connected");
    if (probe.asked) why.push(`a rerun asked for has not ended (${JSON.stringify(probe.asked)})`);
    if (probe.requests) why.push(`${probe.requests} request(s) unanswered`);
    if (probe.http) why.push(`${probe.http} HTTP request(s) in flight`);
    if (state() !== "notRunning") why.push(`script state ${state()}`);
    else if (!drawn()) why.push("the run's end is not drawn yet");
    return why;
  };
  const macrotask = () => new Promise(resolve => setTimeout(resolve, 0));
  // Resolves with [] once settled, or with what still keeps it busy at the deadline. It first lets the timers
  // due now run (a widget sends its change from a zero-delay timer after the event), and checks twice.
  probe.settle = async (timeout) => {
    const deadline = now() + timeout;
    for (;;) {
      await macrotask();
      if (probe.busy().length === 0) {
        await new Promise(resolve => requestAnimationFrame(() => setTimeout(resolve, 0)));
        if (probe.busy().length === 0) return [];
      }
      if (now() > deadline) return probe.busy();
      await new Promise(resolve => setTimeout(resolve, 20));
    }
  };
})();
"""
@functools.cache
def probe_script() -> str:
    return _PROBE.replace("__FIELDS__", json.dumps(FIELDS)).replace("__QUIET__", str(QUIET_MS))


def wait_for_app(page, timeout: float = 60_000) -> None:
    """Wait until the app has settled: past the first run of a fresh page (which draws nothing until the app's
    browser component has reported), every rerun the page has asked for run to its end and drawn, no upload in
    flight (see _PROBE), and the address written (collab_app.browser writes a page's options into it a moment
    after the run that set them). Robust to a busy machine: it waits for those events, never for a fixed time."""
    page.wait_for_function(BROWSER_CONNECTED, timeout=timeout)
    busy = page.evaluate("(timeout) => window.__collabProbe.settle(timeout)", timeout)
    if busy:
        raise TimeoutError(f"the app did not settle in {timeout / 1000:.0f} s: {'; '.join(busy)}")
    page.wait_for_function(ADDRESS_WRITTEN, timeout=timeout)


def set_epochs(page, epochs: int) -> None:
    """Fill the Train page's Epochs box and commit it with Tab, as a person leaving the field does."""
    box = page.get_by_label("Epochs", exact=True)
    box.fill(str(epochs))
    box.press("Tab")
