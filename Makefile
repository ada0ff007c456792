# The two commands a newcomer needs: `make test` and `make demo` (see README.md).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin

.PHONY: test demo lint format bench clean

$(BIN)/courierd: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

test: $(BIN)/courierd
	scripts/test.sh

# Odoo 18 or 19 (at $$ODOO_HOME, else /opt/odoo18, else /opt/odoo19) + Mailjet sandbox + courierd;
# Ctrl-C stops all.
# Options: make demo DEMO_ARGS="--port 8070 --keep-db"
demo: $(BIN)/courierd
	@$(BIN)/python -m tools.demo $(DEMO_ARGS)

lint: $(BIN)/courierd
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(BIN)/courierd
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(BIN)/courierd
	$(BIN)/python bench/send_throughput.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-artifacts
