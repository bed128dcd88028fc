# Two commands do all set-up on a fresh machine: `make run` and `make test`.
# Re-running is fast: the venv is rebuilt only when a requirements file changes.

PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# This kind of machine ships a CPU build of torch 2.13.0 on disk; pinning it avoids a multi-GB CUDA
# download. On a GPU machine use e.g. `make run TORCH_SPEC=torch` to get PyPI's CUDA build.
TORCH_SPEC ?= torch==2.13.0
PORT ?= 8501
# The built-in MovieLens 100K: data files shipped in this wheel, installed without its dependencies
# and never imported.
DATA_CARRIER := recbole==1.2.1

.PHONY: setup run dev test test-fast lint bench bench-ui bench-soak bench-visitors bench-scale browser clean

$(BIN)/python:
	$(PY) -m venv $(VENV)

$(STAMP): requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/python -m pip install --quiet -r requirements.txt -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps $(DATA_CARRIER)
	touch $(STAMP)

setup: $(STAMP)

# collab_server.serve = `streamlit run app.py` with torch & co. imported before the first visitor arrives
# `make run DEMO=1`: visitors only explore (COLLAB_DEMO); the host link it prints keeps every power
run: setup
	$(if $(DEMO),COLLAB_DEMO=$(DEMO) )$(BIN)/python -m collab_server.serve --server.headless true --server.port $(PORT)

# Reload pages when their files change. Polling watches the app's own modules one by one; the default watcher
# watched the whole checkout, .venv included, and overflowed inotify's queue (see .streamlit/config.toml).
dev: setup
	$(BIN)/python -m collab_server.serve --server.headless true --server.port $(PORT) \
		--server.fileWatcherType poll --server.runOnSave true

# Debian's chromium for the browser tests; installed when missing and we are root (as in CI).
browser:
	@if [ -x /usr/bin/chromium ]; then \
		true; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "chromium is missing and cannot be installed here (not root): browser tests will be skipped"; \
	fi

# Three test processes on two cores: the browser tests mostly wait on a server and Chromium, so a third process
# keeps the cores busy; a module's tests stay in one process (--dist loadscope) with its server and runs.
TEST_WORKERS ?= 3

test: setup browser lint
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadscope

lint: setup
	$(BIN)/ruff check .

# Everything but the browser tests.
test-fast: setup
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadscope -m "not e2e"

bench: setup
	$(BIN)/python -m collab_core bench

bench-ui: setup browser
	$(BIN)/python -m collab_core.bench.ui

bench-soak: setup browser
	$(BIN)/python -m collab_core.bench.soak

# A study group on one server: SESSIONS browser sessions change pages and options for two minutes, two of them
# train (docs/performance.md, "Many visitors on one server").
SESSIONS ?= 10
bench-visitors: setup browser
	$(BIN)/python -m collab_core.bench.visitors --sessions $(SESSIONS) --duration-s 120 --trainers 2

# Every page at MovieLens 25M's size, on two runs built without training (about 10 minutes on 2 cores).
bench-scale: setup browser
	$(BIN)/python -m collab_app.bench_scale --json bench-scale.json

clean:
	rm -rf $(VENV) .pytest_cache
