# optviz: `make run` opens the app, `make test` runs every test (browser tests included).
# Both create .venv and install what they need on first use.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: run test lint format bench browser redis clean gifs

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test,dev,serve]'
	touch $@

run: $(STAMP)
	$(PY) app.py

# Debian's chromium and chromium-driver drive the end-to-end tests.
browser:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium chromium-driver; \
	fi

# Debian's redis-server: tests/test_many_machines.py starts a real one (issue 19).
redis:
	@if ! command -v redis-server >/dev/null; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq redis-server; \
	fi

# The fast suite first (~3 min): a broken build fails before the browser tests (~9 min)
# start. Each suite runs in two pytest-xdist workers, one per core (a browser test spends
# much of its time waiting on Chromium; each worker has its own Chromium and app server);
# then the browser tests marked `alone`, by themselves (gunicorn's export failover).
# The compiled loops' cache is built first (~2 min once on a new machine, ~1 s after): no test
# process then compiles them in a background thread while it times a request.
test: $(STAMP) browser redis
	$(PY) -c "from optimizers import compiled; compiled.warm(block=True)"
	$(PY) -m pytest -q -n 2 -m "not e2e" $(PYTEST_ARGS)
	$(PY) -m pytest -q -n 2 -m "e2e and not alone" --durations=10 $(PYTEST_ARGS)
	$(PY) -m pytest -q -m "e2e and alone" $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

$(VENV)/.bench-installed: $(STAMP)
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test,dev,serve,bench]'
	touch $@

bench: $(VENV)/.bench-installed browser redis
	$(PY) -m benchmarks

gifs: $(STAMP)
	$(PY) -m optviz_cli export --preset radford-beale --out docs/radford-beale.gif
	$(PY) -m optviz_cli export --preset radford-saddle --view 3d --out docs/radford-saddle-3d.gif
	$(PY) -m optviz_cli export --preset radford-noisy-moons --out docs/radford-noisy-moons.gif

clean:
	rm -rf $(VENV) *.egg-info
