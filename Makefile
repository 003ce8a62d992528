# likecast: `make demo` serves a freshly trained model; `make test` runs the whole suite with
# coverage, `make test-fast` the part that starts no server, browser or subprocess.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# uv from PATH when present, else bootstrapped into the venv (it is also locked there).
UV := $(shell command -v uv 2>/dev/null || echo $(BIN)/uv)
DEMO_DATA := .likecast/demo-data
DEMO_VIDEOS ?= 20000
PORT ?= 3000
# `make test` fails when the suite covers less of the code than this (per cent of lines and
# branches, pyproject.toml [tool.coverage]); set from a full run.
COVERAGE_FLOOR ?= 83
# pytest-xdist processes, one per core (the tests train LightGBM on one thread); each builds its
# own session fixtures (servers; the model is trained once for both). One test file stays in
# one process, so its shared server starts once; the files that start processes are handed
# out first, in tests/conftest.py's order (docs/adr/0046).
TEST_WORKERS ?= 2
XDIST := -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

.PHONY: env demo test test-fast lint typecheck bench browser postgres clean image base-image \
	image-test compose-test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(BIN)/uv: | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==0.13.9"

# Bytecode is compiled at install: where PYTHONDONTWRITEBYTECODE is set (as on our CI
# machines) Python would otherwise compile every module from source in every process
# (docs/adr/0011).
env: | $(BIN)/python $(if $(findstring $(BIN),$(UV)),$(BIN)/uv)
	UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --locked --quiet --compile-bytecode

# The demo's data ends today (120 days of posting, crawled 2 more), and the store holds the
# creators' history up to its end: a draft planned now lies within what the model knows.
DEMO_START := $(shell date -u -d '-122 days' +%Y-%m-%d)

demo: env
	$(BIN)/likecast simulate --videos $(DEMO_VIDEOS) --seed 7 --start $(DEMO_START) --out $(DEMO_DATA)
	$(BIN)/likecast train --data $(DEMO_DATA)
	$(BIN)/likecast promote
	$(BIN)/likecast features materialize --data $(DEMO_DATA)
	@$(BIN)/python -m serving.api.demo --port $(PORT)
	exec $(BIN)/likecast serve --port $(PORT)

# Chromium for the page tests (tests/serving/api/test_page*.py), from apt when it is missing,
# and a Chinese font, so the zh screenshots show characters, not empty boxes.
browser:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)
	@fc-list :lang=zh | grep -q . || (apt-get update -qq && apt-get install -y -qq fonts-wqy-microhei >/dev/null)

# PostgreSQL's server binaries for the creator store's and MLflow's PostgreSQL tests
# (tests/pg.py starts its own cluster with them), from apt when initdb is missing.
postgres:
	@command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
		(apt-get update -qq && apt-get install -y -qq postgresql >/dev/null)

lint: env
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The packages' types (pyproject.toml [tool.mypy] names them; pandas-stubs installed).
typecheck: env
	$(BIN)/mypy

# Coverage counts this process only: the CLI and the servers the tests marked `server` or
# `subprocess` start are not traced (README, "Testing").
test: env browser postgres lint
	$(BIN)/pytest $(XDIST) \
		--cov --cov-report=term-missing:skip-covered --cov-fail-under=$(COVERAGE_FLOOR)

# For every edit: the tests that start no server, browser or subprocess (pytest markers,
# pyproject.toml; tests/conftest.py fails a test that starts one unmarked), nor take long.
test-fast: env
	$(BIN)/pytest $(XDIST) \
		-m "not server and not browser and not subprocess and not slow"

bench: env
	$(BIN)/python -m bench.run

# The service image (README, "Container"; the Dockerfile's `serve` target): IMAGE is its name;
# BASE_IMAGE defaults to python:3.11-slim, and where that cannot be pulled `make image` uses
# (and makes) the base `make base-image` builds from Debian's packages. Both start a Docker
# engine when none runs.
IMAGE ?= likecast

image:
	.ci/image.sh $(IMAGE)

base-image:
	.ci/docker-engine.sh
	.ci/base-image.sh

# Runs the built image as an operator would and checks it (.ci/image-test.sh); not part of
# `make test`, since it needs the engine.
image-test: env
	.ci/image-test.sh $(IMAGE)

# The whole deployment (compose.yaml: PostgreSQL, MLflow, a Dask cluster, two replicas) built,
# brought up, trained, swapped under load and torn down (.ci/compose-smoke.sh; needs the
# engine and docker-compose); its figures go to bench/results/compose_smoke.json.
compose-test: env
	.ci/compose-smoke.sh

clean:
	rm -rf .likecast .pytest_cache .ruff_cache .mypy_cache .coverage .coverage.* htmlcov
