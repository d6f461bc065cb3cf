# One entry point for every check. `make test` is what CI runs (through .ci/run).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo report test test-fast lint typing pytest diagrams readme bench clean console \
	console-assets console-screenshots

# every extra, and the development tools: a PEP 735 group (pip >= 25.1 installs groups)
$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade 'pip>=25.1'
	$(BIN)/python -m pip install --quiet -e '.[all]' --group dev
	touch $(STAMP)

# the demo keeps its flows in out/demo.sqlite (a new store each run) for `make report`; out/ is
# the demo's own: the previous run's store, QR codes, button pages and report go first
demo: $(STAMP)
	rm -rf out && mkdir -p out
	$(BIN)/firmaio demo --db out/demo.sqlite

# the demo's flows as out/report.html, with a checkpoint signed by a key made for the demo (out/ is
# the demo's own; a real key is kept where the database's writers cannot read it)
report: $(STAMP)
	test -f out/demo.sqlite || $(MAKE) demo
	test -s out/checkpoint.key || (umask 077 && $(BIN)/python -c \
	  "import secrets; print(secrets.token_hex(32))" > out/checkpoint.key)
	$(BIN)/firmaio audit verify --db out/demo.sqlite --key-file out/checkpoint.key \
	  --write-checkpoint out/demo-checkpoint.json
	$(BIN)/firmaio report --db out/demo.sqlite --key-file out/checkpoint.key \
	  --checkpoint out/demo-checkpoint.json --out out/report.html

# every check, then how long they took (CI's budget: 240 s on a 2-core machine)
test:
	@start=$$(date +%s); $(MAKE) --no-print-directory lint typing pytest && \
	  echo "make test: passed in $$(( $$(date +%s) - start )) s"

lint: $(STAMP)
	$(BIN)/ruff check fsm adapters tests bench examples
	$(BIN)/ruff format --check fsm adapters tests bench examples

# mypy reads the packages under their installed names (firmaio.fsm, firmaio.adapters) through a
# view of this folder: build/typing/firmaio is a link to the project root.
typing: $(STAMP)
	mkdir -p build/typing && ln -sfn ../.. build/typing/firmaio
	MYPYPATH=build/typing $(BIN)/mypy --strict -p firmaio.fsm -p firmaio.adapters

# Two runs side by side, each on two pytest-xdist workers (a test file's tests on one worker:
# its module fixtures made once): the real processes (workers, crashes, store outages through a
# proxy, the install: mostly waiting, so four workers share two cores; the files that start
# fleets of workers on PostgreSQL one after the other, tests/conftest.py's FLEETS), and every
# other lane.
# Each run lists its slowest tests, so a slow one stays visible; the other lanes' summary comes
# last. The project's modules are compiled first: where PYTHONDONTWRITEBYTECODE is set (the
# machines this suite is developed on set it), every process the tests start would compile them
# again from source (0.2 s of CPU each, a third of the command's start).
pytest: $(STAMP) console-assets
	mkdir -p build
	$(BIN)/python -m compileall -q -j 0 fsm adapters tests examples bench > /dev/null
	$(BIN)/pytest -q --durations=10 -m "not process" -n 2 --dist loadfile > build/lanes.log 2>&1 & \
	  lanes=$$!; \
	  $(BIN)/pytest -q --durations=10 -m process -n 2 --dist loadgroup; process=$$?; \
	  wait $$lanes; others=$$?; cat build/lanes.log; \
	  [ $$process -eq 0 ] && [ $$others -eq 0 ]

# the unit lane: the pure core, the README's and the manual's examples; seconds (its folders only:
# nothing of the other lanes is even collected)
test-fast: $(STAMP)
	$(BIN)/pytest -q -m unit tests/unit README.md docs

# the console's theme: Bootstrap Italia's CSS, fonts and sprites, installed from the npm registry
# at the version adapters/console/assets/package-lock.json pins, copied where the package serves
# them (adapters/console/static/bi/, gitignored). Without npm the console works unstyled, and the
# tests that need the theme skip saying so.
CONSOLE_ASSETS := adapters/console/assets
THEME := adapters/console/static/bi
$(THEME)/.stamp: $(CONSOLE_ASSETS)/package.json $(CONSOLE_ASSETS)/package-lock.json
	@if ! command -v npm >/dev/null; then \
	  echo "npm is missing: the console will be served unstyled (Debian: apt-get install npm)"; \
	elif ! (cd $(CONSOLE_ASSETS) && npm ci --ignore-scripts --no-audit --no-fund --silent); then \
	  echo "npm ci failed: the console will be served unstyled"; \
	else \
	  rm -rf $(THEME) && mkdir -p $(THEME) && \
	  cp -r $(CONSOLE_ASSETS)/node_modules/bootstrap-italia/dist/css \
	    $(CONSOLE_ASSETS)/node_modules/bootstrap-italia/dist/fonts \
	    $(CONSOLE_ASSETS)/node_modules/bootstrap-italia/dist/svg $(THEME)/ && touch $@; \
	fi

console-assets: $(THEME)/.stamp

# the screenshots docs/console.md shows, written by the console's browser tests
console-screenshots: $(STAMP) console-assets
	FIRMAIO_CONSOLE_SCREENSHOTS=docs $(BIN)/pytest -q tests/http/test_console_browser.py

# the console on the demo's store (make demo), with a local account printed for the newcomer
console: $(STAMP) console-assets
	test -f out/demo.sqlite || $(MAKE) demo
	test -s out/console.secret || (umask 077 && $(BIN)/python -c \
	  "import secrets; print(secrets.token_urlsafe(48))" > out/console.secret)
	test -s out/console.password || (umask 077 && $(BIN)/python -c \
	  "import secrets; print(secrets.token_urlsafe(12))" > out/console.password)
	$(BIN)/firmaio console add-user demo --role '*:admin' --db out/demo.sqlite \
	  --password-file out/console.password
	@echo "sign in at http://127.0.0.1:8400/ as demo, password $$(cat out/console.password)"
	$(BIN)/firmaio console --db out/demo.sqlite --session-secret-file out/console.secret \
	  --insecure-cookies --base-url http://127.0.0.1:7071

bench: $(STAMP)
	$(BIN)/python -m bench.run

# the SVGs need Graphviz's dot (Debian: graphviz); the report ships a copy of the overview
diagrams: $(STAMP)
	$(BIN)/firmaio diagram --write diagrams --readme README.md --readme docs/machine.md --readme docs/events.md \
	  --readme docs/cli.md
	cp diagrams/overview.svg adapters/report/overview.svg
	$(MAKE) --no-print-directory readme

# README.pypi.md, the package index's page: README.md with the diagram as an image, links absolute
readme: $(STAMP)
	$(BIN)/python -m tests.pypi_readme

clean:
	rm -rf $(VENV) build dist *.egg-info
