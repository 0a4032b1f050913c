# synthkit: the two commands of the README, and what they need.
#   make demo  — create .venv, install, run the Adult pipeline into reports/adult/
#   make test  — create/reuse .venv, install with test extras, run the test suite
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
# Installed first and on its own: an unpinned torch pulls a multi-GB CUDA build.
TORCH_SPEC ?= torch==2.13.0
# two pytest-xdist workers (the CI machine's two cores); Ray tests share one, PostgreSQL tests one (tests/conftest.py)
PYTEST_ARGS ?= -n 2 --dist loadgroup
# Extras the test suite exercises (PostgreSQL, DuckDB and MLflow tests run everywhere they can).
TEST_EXTRAS ?= sdv,dp,postgres,duckdb,mlflow,ray,test

.PHONY: demo test install install-test browser postgres clean lint bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.torch: $(BIN)/python
	$(BIN)/pip install -q "$(TORCH_SPEC)"
	touch $@

$(VENV)/.installed: $(VENV)/.torch pyproject.toml
	$(BIN)/pip install -q -e ".[sdv,dp]"
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install -q -e ".[$(TEST_EXTRAS)]"
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

# Headless Chromium for the report's browser test (Debian packages); skipped when not root.
browser:
	@if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null) \
		|| echo "warning: could not install chromium; browser tests will be skipped"; \
	else echo "note: chromium not installed and not root; browser tests will be skipped"; fi

# PostgreSQL server binaries for the PostgreSQL tests (Debian package; the tests start their own
# throw-away server as the `postgres` user on a free loopback port); skipped when not root.
postgres:
	@if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) \
		|| echo "warning: could not install postgresql; PostgreSQL tests will be skipped"; \
	else echo "note: postgresql not installed and not root; PostgreSQL tests will be skipped"; fi

demo: install
	$(BIN)/synthkit run pipelines/adult.yaml

test: install-test browser postgres
	$(BIN)/python -m ruff check synthkit tests benchmarks notebooks
	$(BIN)/python -c "from importlinter.cli import lint_imports_command; lint_imports_command()"
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install-test
	$(BIN)/python -m ruff check synthkit tests
	$(BIN)/python -c "from importlinter.cli import lint_imports_command; lint_imports_command()"

bench: install
	$(BIN)/python benchmarks/speed.py
	$(BIN)/python benchmarks/models.py

clean:
	rm -rf $(VENV) reports/*/ .pytest_cache
