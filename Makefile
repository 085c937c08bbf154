# Everyday development tasks. Run them inside the project's virtual environment (see
# CONTRIBUTING.md); each target is one command you could also type yourself.

PYTHON ?= python
SOURCES := newsletter tests bench

.PHONY: help dev test test-fast lint format typecheck templates bench bench-full check

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/'

dev:  ## install the project, editable, with the test and lint tools
	$(PYTHON) -m pip install -e '.[test]'

test:  ## the whole suite, as CI runs it
	$(PYTHON) -m pytest -q

test-fast:  ## the suite without the slow and browser tests: the loop while you work
	$(PYTHON) -m pytest -q -m "not slow and not browser"

lint:  ## ruff lint and formatting check
	$(PYTHON) -m ruff check $(SOURCES)
	$(PYTHON) -m ruff format --check $(SOURCES)

format:  ## reformat and apply safe lint fixes
	$(PYTHON) -m ruff format $(SOURCES)
	$(PYTHON) -m ruff check --fix $(SOURCES)

typecheck:  ## mypy --strict on the package
	$(PYTHON) -m mypy --strict newsletter

templates:  ## after changing a built-in template, a catalogue or Babel: store their compiled code and CLDR answers (newsletter/render/precompiled.py, cldr.py)
	$(PYTHON) -c 'from newsletter.render import precompiled; precompiled.write()'
	$(PYTHON) -c 'from newsletter.render import cldr; cldr.write()'

bench:  ## the quick benchmark run, under a minute (printed; bench/README.md explains it)
	$(PYTHON) bench/run.py --quick --output $(or $(TMPDIR),/tmp)/newsletter-bench-quick.md

bench-full:  ## the full benchmark run, a few minutes; rewrites bench/RESULTS.md
	$(PYTHON) bench/run.py

check: lint typecheck test  ## everything a change must pass before it lands
