# Two entry points for a fresh machine with Python 3.11+:
#   make run    sets up .venv and runs the main study (`nnhw verify`)
#   make test   sets up .venv with the test extra and runs lint, types and the whole suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
RUN_ARGS ?=
# mypy reads the installed nnhw.* modules (real types through the strict editable install).
TYPED := -p nnhw.core -p nnhw.experiments.runs -p nnhw.experiments.reporting \
         -p nnhw.experiments.data -p nnhw.experiments.api
FAST_TESTS := tests/core tests/test_layout.py tests/experiments/test_config.py \
              tests/experiments/test_validate.py tests/experiments/test_data_io.py \
              tests/experiments/test_rundir.py tests/experiments/test_plotting.py \
              tests/cli/test_train_errors.py

.PHONY: run test test-fast lint bench clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "nnhw needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# The editable install is setuptools' strict mode: a tree of links to the source files under
# build/, importable as nnhw.cli, nnhw.core and nnhw.experiments, which mypy reads as real
# modules. A new module needs a new link, so the install reruns when the set of modules changes.
STRICT   := --config-settings editable_mode=strict
MODULES  := $(VENV)/.modules
SOURCES  := $(sort $(wildcard cli/*.py core/*.py experiments/*.py experiments/*/*.py))
$(shell mkdir -p $(VENV) && echo '$(SOURCES)' | cmp -s - $(MODULES) || echo '$(SOURCES)' > $(MODULES))

$(VENV)/.installed: pyproject.toml $(MODULES) | $(BIN)/python
	$(BIN)/python -m pip install -q $(STRICT) -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(MODULES) | $(BIN)/python
	$(BIN)/python -m pip install -q $(STRICT) -e '.[test]'
	touch $@ $(VENV)/.installed

$(VENV)/.installed-bench: pyproject.toml $(MODULES) | $(BIN)/python
	$(BIN)/python -m pip install -q $(STRICT) -e '.[test,bench]'
	touch $@ $(VENV)/.installed-test $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/nnhw verify $(RUN_ARGS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy $(TYPED)

test: lint
	$(BIN)/pytest

# The fast tests (core, parsing, file formats, layout), under a minute: the loop while working.
test-fast: $(VENV)/.installed-test
	$(BIN)/pytest -m "not slow" $(FAST_TESTS)

bench: $(VENV)/.installed-bench
	$(BIN)/python tests/benchmarks/bench.py

clean:
	rm -rf $(VENV) build .mypy_cache .ruff_cache .pytest_cache
