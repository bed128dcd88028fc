"""Where a Labels change's browser time goes on Projections (issue 21; docs/performance.md):
`python -m collab_core.bench.widget_probe RUNS_DIR [N_ITEMS] [profile]`, RUNS_DIR holding bench_scale's runs.

Per change: browser ms (as bench.ui times it), ms until the drawn figure carries the new label count, server ms,
WebGL contexts created and whether the chart element was removed (a remount). `profile` also writes a Chrome
trace of the fourth change to /tmp/widget-probe-trace.json."""
from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from collab_core.bench.harness import launch_chromium, start_server, stop_server, wait_for_app
from collab_core.bench.plotly_page import ITEMS_SHOWN
from collab_core.bench.ui import TIMING_LOG, measured, set_number

# WebGL contexts created, and .js-plotly-plot elements added or removed, with the page's clock
INIT = r"""
window.__gl = [];
const getContext = HTMLCanvasElement.prototype.getContext;
HTMLCanvasElement.prototype.getContext = function(type, ...rest) {
  const had = this.__ctx;
  const context = getContext.call(this, type, ...rest);
  if (String(type).includes('webgl') && !had) { window.__gl.push([performance.now(), type]); this.__ctx = true; }
  return context;
};
window.__mut = [];
const isPlot = (n) => n.nodeType === 1 && (n.matches('.js-plotly-plot') || n.querySelector('.js-plotly-plot'));
document.addEventListener('DOMContentLoaded', () => {
  new MutationObserver(records => {
    for (const r of records) {
      for (const n of r.addedNodes) if (isPlot(n)) window.__mut.push([performance.now(), 'add']);
      for (const n of r.removedNodes) if (isPlot(n)) window.__mut.push([performance.now(), 'remove']);
    }
  }).observe(document.body, {childList: true, subtree: true});
});
"""
# from now until two frames after the chart's figure carries `v` labels wanted and its annotations are laid out
WATCH_DRAWN = """v => {
  window.__drawn = null;
  const t0 = performance.now();
  const tick = () => {
    const g = document.querySelector('.st-key-pj_plot .js-plotly-plot');
    const full = g && g._fullLayout && g._fullLayout.annotations;
    if (g && g.layout && g.layout.meta && g.layout.meta.labels_wanted === v && full
        && full.length === (g.layout.annotations || []).length)
      requestAnimationFrame(() => requestAnimationFrame(() => { window.__drawn = performance.now(); }));
    else requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  return t0;
}"""


def main() -> None:
    runs, n = Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 59047
    profile = "profile" in sys.argv[3:]
    work = Path(tempfile.mkdtemp(prefix="widget-probe-"))
    process, url = start_server(runs, work, {"COLLAB_UMAP_PREWARM": "0", "COLLAB_UMAP_WORKER": "0", **TIMING_LOG})
    try:
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            context.add_init_script(INIT)
            page = context.new_page()
            page.set_default_timeout(300_000)
            page.goto(f"{url}/projections?run=scale-run-0&items={n}&dims=2&labels=30")
            wait_for_app(page, timeout=300_000)
            page.wait_for_function(f"() => ({ITEMS_SHOWN})() >= {n}", timeout=300_000, polling=100)
            page.wait_for_timeout(500)
            rows = []
            for value in (40, 50, 60, 70, 80):
                page.evaluate("() => { window.__gl.length = 0; window.__mut.length = 0; }")
                if profile and value == 70:
                    browser.start_tracing(page=page, path="/tmp/widget-probe-trace.json",
                                          categories=["devtools.timeline", "disabled-by-default-devtools.timeline",
                                                      "v8.execute", "blink", "gpu", "cc", "viz"])
                start = page.evaluate(WATCH_DRAWN, value)
                browser_ms, server_ms = measured(page, process.log_path, "projections",
                                                 set_number(page, "Labels", value))
                page.wait_for_function("() => window.__drawn !== null", timeout=60_000)
                drawn_ms = page.evaluate("window.__drawn") - start
                page.wait_for_timeout(300)
                if profile and value == 70:
                    browser.stop_tracing()
                gl, changes = page.evaluate("() => [window.__gl, window.__mut]")
                rows.append((round(browser_ms), round(drawn_ms), round(server_ms), len(gl), [c[1] for c in changes]))
            print("browser_ms drawn_ms server_ms webgl_contexts_created chart_element_changes")
            for row in rows:
                print("  ", row)
            print("median browser", statistics.median(r[0] for r in rows),
                  "drawn", statistics.median(r[1] for r in rows), "load", Path("/proc/loadavg").read_text().split()[:3])
            browser.close()
    finally:
        stop_server(process)


if __name__ == "__main__":
    main()
