# The two commands of the README: `make demo` and `make test`.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
# The shared datasets, when this checkout sits beside them (as in development and CI).
SHARED_DATA := $(abspath ../shared/data)
export DIGITNET_DATA ?= $(if $(wildcard $(SHARED_DATA)/mnist),$(SHARED_DATA),)

.PHONY: demo test install install-test lint bench experiments docs notebooks clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# what the README's next steps need: the compiled small step, the sweep engine the experiments
# run on, and a Jupyter kernel for the lessons' notebooks
install: $(PY)
	$(PY) -m pip install --quiet -e '.[fast,sweep,notebooks]'

install-test: $(PY)
	$(PY) -m pip install --quiet -e '.[test,sklearn,onnx,sweep,fast,notebooks,docs]'
	# the browser test drives Debian's chromium (Playwright's own browser download cannot work here)
	command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

demo: install
	$(PY) -m digitnet demo

lint: install-test
	$(VENV)/bin/ruff check src tests benchmarks scripts
	$(VENV)/bin/ruff format --check src tests benchmarks scripts

test: lint
	$(PY) -m pytest

bench: install-test
	$(PY) -m pip install --quiet -e '.[bench]'
	$(PY) benchmarks/run.py

# every experiment of docs/experiments/ at full size, on a Dask LocalCluster of one worker per core
experiments: install
	$(PY) -m digitnet experiment all -o docs/experiments

# the docs site, into site/: strict (a broken link or missing page fails), offline, the notebooks
# executed (DIGITNET_DOCS_EXECUTE=false skips that)
docs: install
	$(PY) -m pip install --quiet -e '.[docs]'
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir site

# JupyterLab on the lessons' notebooks
notebooks: install
	$(PY) -m pip install --quiet -e '.[lab]'
	$(VENV)/bin/jupyter lab notebooks/

clean:
	rm -rf $(VENV) build dist site .cache src/*.egg-info .pytest_cache .ruff_cache
