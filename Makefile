# Two commands (see README): `make run` and `make test`. Everything else is what they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
KB := $(VENV)/bin/kb
export KB_HOME ?= $(CURDIR)/.kb
PORT ?= 8501

.PHONY: setup model build run test test-fast browser bench clean

# torch first, pinned: its CPU wheel lies on these machines; unpinned, pip pulls a multi-GB CUDA build.
$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[test]'
	touch $@

setup: $(VENV)/.installed

model: setup  ## build the offline embedding model once (cached)
	$(KB) model

build: model  ## build or update the knowledge base from corpus/ (a no-op when nothing changed)
	$(KB) ingest corpus/

run: build
	@echo "ipkb: open http://127.0.0.1:$(PORT) in a browser (Ctrl-C stops)"
	$(PY) -m streamlit run app.py --server.headless true --server.address 127.0.0.1 \
		--server.port $(PORT) --browser.gatherUsageStats false

browser:  ## Debian's Chromium and CJK fonts for the end-to-end browser tests
	@test -x /usr/bin/chromium && fc-list | grep -qi "noto.*cjk" || bash scripts/install_browser.sh

test: setup model browser
	$(PY) -m pytest

test-fast: setup  ## unit tests only: no model, no browser
	$(PY) -m pytest -m "not model and not browser"

bench: build  ## the benchmarks quoted in the README (about an hour on 2 cores); bench_build.py apart
	$(PY) bench/bench_index.py --skip-baseline-long --json bench/results/index.json
	$(PY) bench/bench_embed.py --passages 200 --json bench/results/embed.json
	$(PY) bench/bench_similar.py --base-home $(KB_HOME) --json bench/results/similar.json

clean:
	rm -rf $(KB_HOME) .pytest_cache
