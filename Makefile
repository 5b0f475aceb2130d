# One task runner. `make serve` and `make test` work on a fresh clone: they create .venv first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Silences jupyter_core's platformdirs notice at its source, so warnings can stay errors.
export JUPYTER_PLATFORM_DIRS := 1
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: help install npm serve test unit lint bench docs chromium clean hub hub-deps handouts slides

help:
	@echo "make serve   start the clinician dashboards in Voila (http://127.0.0.1:8866)"
	@echo "make test    lint + unit, property, notebook (nbval) and browser tests"
	@echo "make lint    ruff and mypy"
	@echo "make bench   benchmarks (ratios against baselines measured in the same run)"
	@echo "make docs    regenerate docs/data-dictionary.md from data/datapackage.json"
	@echo "make handouts  the lessons as offline HTML and PDF in handouts/ (answer key in handouts/teacher/)"
	@echo "make slides  the lessons as offline slide decks in handouts/slides/ (open one in a browser)"
	@echo "make hub     JupyterHub with sign-in on http://127.0.0.1:$${UPPERBACK_HUB_PORT:-8000} (see README)"

# The install copies share/ (the Voila template) into the venv: reinstall when it changes.
# The template is installed (copied) into the environment: a change to it reinstalls.
$(STAMP): pyproject.toml hatch_build.py $(shell find share -type f 2>/dev/null) hatch_build.py $(wildcard share/jupyter/voila/templates/upperback/*)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

# Node.js and npm: Debian's, installed when running as root, else how to install them.
define need_npm
	@if ! command -v npm >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "Installing Debian's nodejs and npm"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; \
	  else \
	    echo "This needs Node.js 20+ and npm: run 'sudo apt-get install -y nodejs npm', then make again." >&2; \
	    exit 1; \
	  fi; \
	fi
endef

# The independent FHIR tooling the tests use (Medplum's validator, LHC-Forms), pinned by the
# lock file and installed locally: no CDN at test time.
NPM_STAMP := tests/fhir/node_modules/.installed
$(NPM_STAMP): tests/fhir/package.json tests/fhir/package-lock.json \
              tests/browser/package.json tests/browser/package-lock.json
	$(need_npm)
	cd tests/fhir && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	cd tests/browser && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	@touch $@

# reveal.js for the slide decks (pinned by slides/package-lock.json), installed locally:
# `make slides` copies it beside the decks, so they open offline.
REVEAL := slides/node_modules/reveal.js/dist/reveal.js
$(REVEAL): slides/package.json slides/package-lock.json
	$(need_npm)
	cd slides && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	@touch $@

npm: $(NPM_STAMP) $(REVEAL)

# Browser tests use Debian's chromium (never a downloaded browser build).
chromium:
	@if [ -x /usr/bin/chromium ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
	  echo "Installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
	  echo "The browser tests need Debian's chromium: run 'sudo apt-get install -y chromium', then 'make test' again." >&2; \
	  exit 1; \
	fi

serve: install
	$(VENV)/bin/voila --no-browser notebooks/clinician

lint: install
	$(VENV)/bin/ruff check lib tests benchmarks
	$(VENV)/bin/mypy

unit: install npm
	$(VENV)/bin/pytest -m "not browser"

# PYTHONWARNINGS reaches the notebook kernels nbval starts (pytest's own filterwarnings does
# not): a notebook that shows a warning fails the suite.
test: install chromium npm hub-deps lint
	PYTHONWARNINGS=error $(VENV)/bin/pytest --nbval-lax --nbval-current-env --durations=10 \
	  --nbval-cell-timeout=300 tests notebooks

# configurable-http-proxy (JupyterHub's proxy) from npm, installed locally under deploy/.
HUB_PROXY := deploy/node_modules/.bin/configurable-http-proxy
$(HUB_PROXY): deploy/package.json
	cd deploy && npm ci --no-audit --no-fund --silent
	@touch $(HUB_PROXY)

hub-deps: $(HUB_PROXY)

# JupyterHub with sign-in on 127.0.0.1:$UPPERBACK_HUB_PORT (default 8000). Name the first
# administrator: UPPERBACK_HUB_ADMIN=yourname make hub, then sign up as that name.
hub: install $(HUB_PROXY)
	@test -n "$$UPPERBACK_HUB_ADMIN" || echo "Note: UPPERBACK_HUB_ADMIN is not set, so no one can approve sign-ups (see README)." >&2
	$(VENV)/bin/jupyterhub -f deploy/jupyterhub_config.py

bench: install chromium
	$(PY) benchmarks/run.py

handouts: install chromium
	$(PY) -m upperback.handouts

slides: install $(REVEAL)
	$(PY) -m upperback.slides

docs: install
	$(VENV)/bin/upperback dictionary

clean:
	rm -rf $(VENV) tests/browser/node_modules slides/node_modules .pytest_cache .mypy_cache .ruff_cache .hypothesis tests/fhir/node_modules
