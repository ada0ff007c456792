#!/usr/bin/env bash
# Starts the machine's PostgreSQL 15 when it is down and makes sure the role
# Odoo connects with exists (Odoo refuses the `postgres` role). Idempotent.
set -euo pipefail
role="${COURIER_PG_USER:-courier_odoo}"
password="${COURIER_PG_PASSWORD:-courier_odoo}"

if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    if ! command -v pg_ctlcluster >/dev/null; then
        echo "PostgreSQL is down and pg_ctlcluster is missing: Odoo tests will skip" >&2
        exit 0
    fi
    pg_ctlcluster 15 main start
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.5; done
fi

as_postgres() { if [[ $(id -u) -eq 0 ]]; then su postgres -c "$1"; else sudo -u postgres sh -c "$1"; fi; }
exists=$(as_postgres "psql -tAc \"SELECT 1 FROM pg_roles WHERE rolname='$role'\"")
if [[ "$exists" != "1" ]]; then
    as_postgres "psql -qc \"CREATE ROLE $role LOGIN CREATEDB PASSWORD '$password'\""
fi
