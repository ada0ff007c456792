#!/usr/bin/env bash
# The project's test command (run through `make test`): lint, then the whole
# pytest suite. Tests that need a real Odoo 18 use the one found at
# $ODOO_HOME or /opt/odoo18 and a PostgreSQL started here; without them they
# skip with one line saying so.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin

"$BIN/ruff" check .
"$BIN/ruff" format --check .
# The addon as OCA reviews it: pylint-odoo with OCA's settings, OCA's manifest and XML checks.
"$BIN/pylint" --rcfile=.pylintrc addon/invoice_courier
"$BIN/oca-checks-odoo-module" addon/invoice_courier/__manifest__.py

if scripts/odoo-home.sh >/dev/null 2>&1; then
    scripts/start-postgres.sh
fi

mkdir -p test-artifacts
"$BIN/python" -m pytest "$@"
