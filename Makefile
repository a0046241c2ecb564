# Two commands set up and use a fresh machine (Python 3.11):
#   make book   build the HTML book into _build/html
#   make test   run every test (unit tests, notebooks under nbval, the built site)
# and one is for whoever changes the package: `make check`, the unit tests on toy models;
# `make lab` opens the book interactively (JupyterLab, the chapters as notebooks).
# Both create the project-local virtual environment .venv when it is missing or when
# requirements.txt / pyproject.toml changed, and do nothing extra otherwise.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# TensorFlow's start-up chatter is not part of any output worth reading.
export TF_CPP_MIN_LOG_LEVEL := 2
export PYTHONHASHSEED := 0
# The browser test (tests/test_browser.py) drives headless Chromium: Debian's package,
# installed by `make test` when missing (CI runs as root; elsewhere through sudo).
CHROMIUM ?= chromium
export CHROMIUM
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: book check test lab colab chromium screenshots execute sync benchmark train diagrams stats clean

# uv installs the pinned set in seconds where pip takes minutes (the same packages: pip
# check passes); pip stays in the environment for readers and for the chapters' own cells.
# --compile-bytecode writes the .pyc files at install time: where PYTHONDONTWRITEBYTECODE is
# set (as on the book's build machines) Python would otherwise compile TensorFlow from
# source in every kernel, 9 s instead of 3 s per chapter (`make benchmark` prints both).
UV_VERSION := 0.13.9
$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=24" "uv==$(UV_VERSION)"
	$(VENV)/bin/uv pip install --quiet --compile-bytecode --python $(PY) -r requirements.txt
	$(VENV)/bin/uv pip install --quiet --python $(PY) --no-deps -e .
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

## Build the HTML book from the committed notebooks (outputs as stored; see `execute`).
book: $(STAMP)
	$(VENV)/bin/jupyter-book build . -W -n --keep-going

## The unit tests on toy models: minutes, for every change to the package.
check: $(STAMP)
	$(PY) -m pytest tests -m "not book" -n 2 --dist loadfile

## Every test: the unit tests, the tests on the shared checkpoint, the built site (also in
## headless Chromium: screenshots of every page land in _build/screenshots/), then each
## chapter executed once under nbval on another CPU's code paths (tools/other_cpu.py), so
## that every stored output is checked against what a reader's machine prints.
## Both run in two processes (pytest-xdist): a test file, or a chapter, stays in one.
test: $(STAMP) chromium
	$(PY) -m pytest tests -n 2 --dist loadfile --durations=15
	$(PY) -m tools.other_cpu pytest book/chapters -n 2 --dist loadscope

## Open the book in JupyterLab at book/chapters (the server prints its URL): jupytext opens
## each chapter's MyST source as a notebook. LAB_ARGS adds options, e.g. LAB_ARGS=--port=8890.
## As root (a container, CI) Jupyter needs --allow-root.
LAB_ARGS ?=
lab: $(STAMP)
	$(VENV)/bin/jupyter lab --ServerApp.root_dir=. --LabApp.default_url=/lab/tree/book/chapters \
	  $(if $(SUDO),,--allow-root) $(LAB_ARGS)

## Every chapter executed as on Colab: a fresh environment with numpy 2 and no pins, the
## package installed by each chapter's own setup cell (`make test` runs the data chapter).
colab: $(STAMP)
	COLAB_CHAPTERS=all $(PY) -m pytest tests/test_colab.py

## Install headless Chromium when it is missing (idempotent).
chromium:
	@command -v $(CHROMIUM) >/dev/null || ($(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

## Build the book and write the README's screenshots to book/_static/screenshots/.
screenshots: $(STAMP) chromium
	$(PY) tests/test_browser.py

## Re-execute every chapter and store its outputs (what the book shows), then rebuild.
execute: $(STAMP)
	$(PY) -m tools.execute_chapters

## Write the .ipynb twin from each chapter's MyST markdown (after editing the .md).
sync: $(STAMP)
	$(PY) -m tools.execute_chapters --sync-only

## Print each chapter's main-path words and code cells, execution time and exercise mix.
stats: $(STAMP)
	$(PY) -m tools.chapter_stats

## Print measured speeds and ratios (not a test).
benchmark: $(STAMP)
	$(PY) -m tools.benchmark

## Retrain the shared checkpoint from scratch (~25 min on 2 cores).
train: $(STAMP)
	$(PY) -m shared.train

## Redraw the methods' schematic diagrams into book/_static/diagrams/ (seconds, no model).
diagrams: $(STAMP)
	$(PY) -m tools.diagrams

clean:
	rm -rf _build
