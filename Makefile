PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install migrate clean lint format

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

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-logo

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache

include bench/bench.mk
