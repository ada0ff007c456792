#!/usr/bin/env bash
# Usage: scripts/odoo-home.sh [odoo18|odoo19]   (default odoo18)
# Prints the home of that Odoo (with src/odoo-bin) the tests use, or says
# what is missing and exits 1. The project never installs Odoo. The homes are
# those of tools/odoo_local.py's ODOO_VERSIONS.
version="${1:-odoo18}"
case "$version" in
    odoo18) variable=ODOO_HOME home="${ODOO_HOME:-/opt/odoo18}" ;;
    odoo19) variable=ODOO19_HOME home="${ODOO19_HOME:-/opt/odoo19}" ;;
    *) echo "unknown Odoo version $version (odoo18 or odoo19)" >&2; exit 2 ;;
esac
if [[ -f "$home/src/odoo-bin" ]]; then
    echo "$home"
else
    echo "no ${version/odoo/Odoo } at $home (needs src/odoo-bin and venv/bin/python; set $variable)" >&2
    exit 1
fi
