PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-fast install migrate clean lint format typecheck

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,lint]'
	touch $(STAMP)

install: $(STAMP)

# make run PORT=8030 HOST=0.0.0.0 (or ASSESSMENT_HUB_PORT / ASSESSMENT_HUB_HOST in the environment)
run: $(STAMP)
	$(BIN)/assessment-hub serve$(if $(PORT), --port $(PORT))$(if $(HOST), --host $(HOST))

migrate: $(STAMP)
	$(BIN)/assessment-hub migrate

# The whole suite (SQLite, and PostgreSQL too when ASSESSMENT_HUB_TEST_POSTGRES_URL is set).
test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The fast tier: in-process tests only, SQLite only (docs/testing.md "Tiers"); under a minute.
# Two pytest-xdist workers (FAST_WORKERS=0 runs it in one process), and bytecode written even where the
# environment sets PYTHONDONTWRITEBYTECODE: pytest then keeps its rewritten test modules instead of
# rewriting ~380 of them on every run (about 8 s here).
FAST_MARKERS := not live and not subprocess and not bench and not browser and not postgres and not fakes and not slow
FAST_WORKERS ?= 2
test-fast: $(STAMP)
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -q -n $(FAST_WORKERS) -m "$(FAST_MARKERS)" $(PYTEST_ARGS)

# lint = ruff (lint + format check), the import contracts, and mypy on src/ (pyproject's [tool.mypy]).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-logo
	$(BIN)/mypy src

typecheck: $(STAMP)
	$(BIN)/mypy src

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache

include bench/bench.mk
