#!/usr/bin/env bash
# The project's test command (run through `make test`): lint, then the whole
# pytest suite, which ends with one line per part saying what ran and what
# skipped, and why (tests/support/run_summary.py). Tests that need a real Odoo
# use the one found at its home ($ODOO_HOME or /opt/odoo18 for Odoo 18) and a
# PostgreSQL started here. Without that Odoo they skip with one line
# (COURIER_REQUIRE_ODOO=1 makes that a failure); an Odoo that is there but
# cannot run, or a PostgreSQL that cannot be started or refuses the role,
# fails the run with a line saying what to fix.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin

"$BIN/ruff" check .
"$BIN/ruff" format --check .
# The daemon's types: mypy, strict, with the pydantic plugin ([tool.mypy] in pyproject.toml).
"$BIN/mypy"
# The addon as OCA reviews it: pylint-odoo with OCA's settings, OCA's manifest and XML checks.
"$BIN/pylint" --rcfile=.pylintrc addon/invoice_courier
# OCA's XML checks depend on the series in the manifest version, which has none
# (one source for 18.0 and 19.0): they run on a copy per series.
series_copies=$(mktemp -d)
trap 'rm -rf "$series_copies"' EXIT
for series in 18.0 19.0; do
    copy=$("$BIN/python" scripts/addon_for_series.py "$series" "$series_copies/$series")
    "$BIN/oca-checks-odoo-module" "$copy/__manifest__.py"
done

for version in odoo18 odoo19; do
    if scripts/odoo-home.sh "$version" >/dev/null 2>&1; then
        scripts/start-postgres.sh
        break
    fi
done

mkdir -p test-artifacts
"$BIN/python" -m pytest "$@"
