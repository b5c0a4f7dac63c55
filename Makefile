# The few commands people type. CI (.ci/run) runs `make lint`, `make test`, `make test-lowest` and
# `make docs`.
#
# Which virtual environment is which:
#   .venv         the README's: plain canfar with its built-in plugins, made by
#                 `python3 -m venv .venv && .venv/bin/pip install .`. No target here reads,
#                 creates or changes it, so testing never changes the canfar a user runs.
#   .venv-test    `make install` (and `make test`, `make lint`, ...): canfar editable with the dev
#                 and notebook extras, and the example plugins (plugins/canfar-*) editable. Run
#                 chosen tests with `.venv-test/bin/python -m pytest -q tests/...`.
#   .venv-lowest  `make test-lowest`, rebuilt on every run; .venv-tools holds uv for it.
#   .venv-docs    `make docs`: the pinned tools of docs/requirements.txt and canfar editable.
PYTHON ?= python3
VENV ?= .venv-test
BIN := $(VENV)/bin
EXAMPLES := $(patsubst %/pyproject.toml,%,$(wildcard plugins/canfar-*/pyproject.toml))
TEST_PATHS := tests $(wildcard $(addsuffix /tests,$(EXAMPLES)))
STAMP := $(VENV)/.installed
# The tests install plugin packages with pip, offline: that needs a setuptools that builds wheels.
TEST_TOOLS := pip 'setuptools>=70.1'

# `make test-lowest`: the lowest versions the ranges in pyproject.toml allow (the dev tools' too:
# the tests run mypy), on the oldest Python.
OLDEST_PYTHON ?= python3.10
LOWEST := .venv-lowest
TOOLS := .venv-tools
UV := $(TOOLS)/bin/uv

# pytest exits 5 when it collected no test: say so, and do not fail for it.
PYTEST = status=0; $(1)/python -m pytest -q $(PYTEST_ARGS) $(TEST_PATHS) || status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests"; else exit $$status; fi

.PHONY: install test test-lowest lint format bench docs docs-serve clean

$(STAMP): pyproject.toml $(wildcard plugins/canfar-*/pyproject.toml)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade $(TEST_TOOLS)
	$(BIN)/python -m pip install --quiet -e '.[dev,notebook]' $(addprefix -e ./,$(EXAMPLES))
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	@$(call PYTEST,$(BIN))

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet 'uv>=0.5,<1'

# canfar as a regular (not editable) install, as users get it; the example plugins editable, as
# in `make install`. Resolved afresh on every run.
test-lowest: $(UV)
	rm -rf $(LOWEST)
	$(UV) venv --quiet --python $(OLDEST_PYTHON) $(LOWEST)
	$(UV) pip install --quiet --python $(LOWEST)/bin/python --resolution lowest-direct \
		'.[dev]' $(addprefix -e ./,$(EXAMPLES))
	$(UV) pip install --quiet --python $(LOWEST)/bin/python $(TEST_TOOLS)
	$(UV) pip list --python $(LOWEST)/bin/python --format freeze \
		| grep -iE '^(canfar|pluggy|click|requests|platformdirs|tabulate|pyyaml|pytest|requests-mock|hypothesis|mypy|fsspec)=' \
		| tr '\n' ' '; echo
	@$(call PYTEST,$(LOWEST)/bin)

# All three run, so that one run shows every problem.
lint: $(STAMP)
	@status=0; \
	echo "ruff check ."; $(BIN)/ruff check . || status=1; \
	echo "ruff format --check ."; $(BIN)/ruff format --check . || status=1; \
	echo "mypy"; $(BIN)/mypy || status=1; \
	exit $$status

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

# The documentation site, in a venv of its own with the pinned tools of docs/requirements.txt.
DOCS_VENV := .venv-docs
DOCS_STAMP := $(DOCS_VENV)/.installed
MKDOCS := NO_MKDOCS_2_WARNING=1 $(DOCS_VENV)/bin/mkdocs

$(DOCS_STAMP): docs/requirements.txt pyproject.toml
	$(PYTHON) -m venv $(DOCS_VENV)
	$(DOCS_VENV)/bin/python -m pip install --quiet -r docs/requirements.txt
	$(DOCS_VENV)/bin/python -m pip install --quiet -e .
	touch $(DOCS_STAMP)

# Builds site/; any warning (a broken link, a command missing from the reference) fails it.
docs: $(DOCS_STAMP)
	$(MKDOCS) build --strict

docs-serve: $(DOCS_STAMP)
	$(MKDOCS) serve

# Leaves the README's .venv alone.
clean:
	rm -rf $(VENV) $(LOWEST) $(TOOLS) $(DOCS_VENV) site build dist .pytest_cache .mypy_cache .ruff_cache
