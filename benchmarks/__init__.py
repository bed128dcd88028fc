"""Benchmarks and the browser harness: numbers, not assertions. The app never imports this package; the
browser tests use its harness (start the server, drive Chromium). `make bench-ui`, `make bench-soak`."""
