# The two commands of the README: `make demo` and `make test`.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
# The shared datasets, when this checkout sits beside them (as in development and CI).
SHARED_DATA := $(abspath ../shared/data)
export DIGITNET_DATA ?= $(if $(wildcard $(SHARED_DATA)/mnist),$(SHARED_DATA),)

.PHONY: demo test install install-test lint bench experiments docs notebooks clean test-pythons

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# what the README's next steps need: the pictures and the web app (the plots and web extras), the
# compiled small step, the sweep engine the experiments run on, and a Jupyter kernel for the
# lessons' notebooks
install: $(PY)
	$(PY) -m pip install --quiet -e '.[plots,web,fast,sweep,notebooks]'

install-test: $(PY)
	$(PY) -m pip install --quiet -e '.[test,plots,web,sklearn,onnx,sweep,search,fast,tracking,notebooks,docs]'
	# the browser test drives Debian's chromium (Playwright's own browser download cannot work here)
	command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

demo: install
	$(PY) -m digitnet demo

lint: install-test
	$(VENV)/bin/ruff check src tests benchmarks scripts
	$(VENV)/bin/ruff format --check src tests benchmarks scripts
	$(VENV)/bin/mypy src/digitnet

test: lint
	$(PY) -m pytest

bench: install-test
	$(PY) -m pip install --quiet -e '.[bench]'
	$(PY) benchmarks/run.py

# The oldest and newest Pythons the package claims (pyenv's, where it has them): the core tests
# (PyTorch's CPU wheel on this disk is for 3.11 only, so the PyTorch comparisons run in `make test`);
# they draw pictures and check serve's options, so the plots and web extras come too.
PYTHONS ?= $(wildcard $(HOME)/.pyenv/versions/3.11.*/bin/python) $(lastword $(sort $(wildcard $(HOME)/.pyenv/versions/3.1[2-9].*/bin/python)))
CORE_TESTS := tests/test_network.py tests/test_training.py tests/test_model_io.py tests/test_cli.py \
	tests/test_preprocess.py tests/test_outputs.py tests/test_bad_input.py tests/test_advice.py
test-pythons:
	@test -n "$(PYTHONS)" || (echo "no Python 3.11+ found under ~/.pyenv/versions; set PYTHONS=..." && exit 1)
	@for py in $(PYTHONS); do \
		v=$$($$py -c 'import sys; print("%d.%d" % sys.version_info[:2])'); \
		echo "== Python $$v ($$py)"; \
		$$py -m venv .venv-$$v && .venv-$$v/bin/pip install --quiet -e '.[fast,onnx,plots,web]' pytest hypothesis httpx \
		&& .venv-$$v/bin/python -m pytest -q -p no:cacheprovider $(CORE_TESTS) || exit 1; \
	done

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
	rm -rf $(VENV) .venv-3.* build dist site .cache src/*.egg-info .pytest_cache .ruff_cache
