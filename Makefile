# Two commands set everything up on a fresh machine:  make demo   and   make test
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# Simulate, analyse and evaluate the default day, then open the operations centre on it (Ctrl-C stops).
demo: $(STAMP)
	$(BIN)/centinela demo
	$(BIN)/centinela users add demo --role analyst --unit VRAEM-OPS --password demo --if-missing --db demo/centinela.db
	@echo "Operations centre: http://127.0.0.1:8000/  (log in as demo / demo; API docs at /docs; Ctrl-C stops)"
	$(BIN)/centinela serve --db demo/centinela.db --replay demo/out --speed 60 --start 09:45

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --doctest-modules src/centinela tests

lint: $(STAMP)
	$(BIN)/ruff check src tests bench

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	for b in bench/bench_*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) demo .pytest_cache .hypothesis
