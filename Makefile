# The project's commands. `make help` lists them; every target sets up .venv when it is
# missing or older than pyproject.toml.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help venv report ingest lint test quick lab bench clean

help: ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 10

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m ipykernel install --sys-prefix --name kpi --display-name "Python (kpi)" >/dev/null
	touch $(STAMP)

venv: $(STAMP) ## create or refresh the virtual environment from pyproject.toml

report: $(STAMP) ## ingest data/raw and render every report to reports/ (2012 -> 2022, district, Vietnamese)
	$(BIN)/kpi build

ingest: $(STAMP) ## clean data/raw into data/processed
	$(BIN)/kpi ingest

lint: $(STAMP) ## ruff: lint and format check of the code, tests and benchmarks
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint ## lint, then run the whole test suite (what CI runs)
	$(BIN)/python -m pytest -q -n 2

quick: $(STAMP) ## the inner loop: every test but the slow ones (real builds, kernels, subprocesses)
	$(BIN)/python -m pytest -q -n 2 -m "not slow"

lab: $(STAMP) ## start JupyterLab on notebooks/ with the project's kernel
	$(BIN)/jupyter lab notebooks/

bench: $(STAMP) ## run the benchmarks and write benchmarks/results.md
	$(BIN)/python benchmarks/run.py

clean: ## remove processed data and reports (raw data is never touched)
	rm -rf data/processed reports
