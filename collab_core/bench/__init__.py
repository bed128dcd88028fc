"""Benchmarks: numbers, not assertions. Every benchmark lives here but the dashboard's at scale, which runs
pages in Streamlit's AppTest and so sits above the engine: collab_app/bench_scale.py.

Engine benchmarks run with `python -m collab_core bench [--foldin | --small-data | --synthetic N | --loading]`;
the dashboard's run as modules and drive the app in headless Chromium (Playwright, a dev dependency):

  models      accuracy and speed of each model kind, the defaults' checks, GPU throughput (`bench`)
  small_data  the settings for uploads of 500-40,000 ratings (`bench --small-data`)
  ranking_peers  `python -m collab_core.bench.ranking_peers`: the ranking objective beside implicit and cornac
              (nDCG@10 on a per-user split; the peers from requirements-bench.txt, imported where used)
  steps       the cost of one training step at scale (`bench --step-cost`)
  loading     parsing and caching MovieLens-25M-sized files (`bench --loading`)
  synthetic   MovieLens-25M-shaped ratings with a planted structure
  scale_run   ML-25M-shaped runs built without training, for the UI at scale
  ranking     `python -m collab_core.bench.ranking`: time and memory of the top-k evaluation at ML-25M's shape
  ui          `python -m collab_core.bench.ui`: server and browser time of every widget change
  soak        `python -m collab_core.bench.soak`: memory over hundreds of page changes and trainings
  reasons     `python -m collab_core.bench.reasons`: the timings the code's comments give as reasons
  harness, procstat  starting a server and a browser, reading a process's CPU time and memory
  plotly_page reading the Plotly charts drawn in a browser page, by their public figure (also for tests/e2e)

May import everything in collab_core, never Streamlit (Playwright only inside the function that needs it);
nothing outside collab_core.cli, collab_app.bench_scale and the tests imports this package.
"""
