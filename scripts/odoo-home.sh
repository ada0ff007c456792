#!/usr/bin/env bash
# Prints the Odoo 18 home (with src/odoo-bin and venv/bin/python) the tests
# use, or says what is missing and exits 1. The project never installs Odoo.
home="${ODOO_HOME:-/opt/odoo18}"
if [[ -f "$home/src/odoo-bin" && -x "$home/venv/bin/python" ]]; then
    echo "$home"
else
    echo "no Odoo 18 at $home (needs src/odoo-bin and venv/bin/python; set ODOO_HOME)" >&2
    exit 1
fi
