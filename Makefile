# Two commands (see README.md):
#   make demo   set up .venv and run the demo on the embedded GeoPackage store
#   make test   set up .venv (and PostgreSQL + PostGIS via apt when missing), run all tests
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
OUT    ?= demo-out

.PHONY: demo test system-deps bench clean extracts

$(VENV)/.installed-base: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@ $(VENV)/.installed-base

demo: $(VENV)/.installed-base
	$(BIN)/tryggkarta demo --out $(OUT)

system-deps:
	bash .ci/system-deps.sh

test: system-deps $(VENV)/.installed-test
	$(BIN)/python -m pytest

# Rebuild the small real-data extracts the tests use (tests/data/real/) from the full
# data sets, when they are present beside the checkout (REAL=folder overrides).
REAL ?= ../shared/data/real
extracts: $(VENV)/.installed-base
	$(BIN)/python tests/data/real/make_extracts.py $(REAL)

$(VENV)/.installed-bench: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test,bench]'
	touch $@

bench: $(VENV)/.installed-bench
	for f in bench/bench_*.py; do $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) $(OUT) var

# Message catalogues (see docs/documents.md): extract every domain's messages
# (geo/locale/DOMAIN.cfg), update the sv and en .po files, compile the .mo files
# that ship in the package. Run after adding or changing a message; commit all three.
DOMAINS = $(basename $(notdir $(wildcard geo/locale/*.cfg)))
.PHONY: messages
messages: $(VENV)/.installed-base
	set -e; for d in $(DOMAINS); do \
	  $(BIN)/pybabel extract -F geo/locale/$$d.cfg --no-location --sort-output \
	    --project tryggkarta -o geo/locale/$$d.pot . ; \
	  for l in sv en; do \
	    if [ -f geo/locale/$$l/LC_MESSAGES/$$d.po ]; then \
	      $(BIN)/pybabel update -D $$d -i geo/locale/$$d.pot -d geo/locale -l $$l \
	        --no-fuzzy-matching --ignore-obsolete ; \
	    else \
	      $(BIN)/pybabel init -D $$d -i geo/locale/$$d.pot -d geo/locale -l $$l ; \
	    fi ; \
	  done ; \
	  $(BIN)/pybabel compile -D $$d -d geo/locale ; \
	done
