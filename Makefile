# One entry point for every check. `make test` is what CI runs (through .ci/run).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test test-fast lint typing pytest diagrams bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/firmaio demo

test: lint typing pytest

lint: $(STAMP)
	$(BIN)/ruff check fsm adapters tests bench examples
	$(BIN)/ruff format --check fsm adapters tests bench examples

# mypy reads the packages under their installed names (firmaio.fsm, firmaio.adapters) through a
# view of this folder: build/typing/firmaio is a link to the project root.
typing: $(STAMP)
	mkdir -p build/typing && ln -sfn ../.. build/typing/firmaio
	MYPYPATH=build/typing $(BIN)/mypy --strict -p firmaio.fsm -p firmaio.adapters

pytest: $(STAMP)
	$(BIN)/pytest -q

# the unit lane: the pure core, the README's and the manual's examples; seconds
test-fast: $(STAMP)
	$(BIN)/pytest -q -m unit

bench: $(STAMP)
	$(BIN)/python -m bench.run

# the SVGs need Graphviz's dot (Debian: graphviz); the report ships a copy of the overview
diagrams: $(STAMP)
	$(BIN)/firmaio diagram --write diagrams --readme README.md --readme docs/machine.md
	cp diagrams/overview.svg adapters/report/overview.svg

clean:
	rm -rf $(VENV) build *.egg-info
