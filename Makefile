# The README's commands. `.ci/run` calls `make test` and nothing else.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CHECKED := bot.py app core handlers repositories services testkit

.PHONY: run test lint bench simulate clean lock

$(PY):
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python >= 3.11 is required"'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Reinstall whenever the dependency list changes; requirements.lock pins every version.
$(VENV)/.installed: pyproject.toml requirements.lock | $(PY)
	$(PY) -m pip install --quiet -c requirements.lock -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml requirements.lock | $(PY)
	$(PY) -m pip install --quiet -c requirements.lock -e '.[dev]'
	touch $@ $(VENV)/.installed

# After changing the dependencies in pyproject.toml: pin what they resolve to now.
lock: $(VENV)/.installed-dev
	{ sed -n '1,3p' requirements.lock; $(PY) -m pip freeze --exclude-editable | grep -v '^filesearch'; } > requirements.lock.new
	mv requirements.lock.new requirements.lock

run: $(VENV)/.installed
	$(PY) bot.py

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy --strict $(CHECKED)
	$(VENV)/bin/lint-imports

# The whole suite; it fails when the tests cover less than 90 % of the product's code (the
# packages the bot runs; not the test kit).
COVERED := --cov=app --cov=handlers --cov=services --cov=repositories --cov=core
test: lint
	$(VENV)/bin/pytest $(COVERED) --cov-report=term:skip-covered --cov-fail-under=90

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache

bench: $(VENV)/.installed-dev
	$(PY) -m bench.core
	$(PY) -m bench.middleware
	$(PY) -m bench.search
	$(PY) -m bench.fulltext
	$(PY) -m bench.broad
	$(PY) -m bench.busy_channel
	$(PY) -m bench.importer
	$(PY) -m bench.embedded
	$(PY) -m bench.load
	$(PY) -m bench.backfill
	$(PY) -m bench.broadcast

simulate: $(VENV)/.installed
	$(PY) bot.py simulate
