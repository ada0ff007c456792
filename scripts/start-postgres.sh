#!/usr/bin/env bash
# Starts the machine's PostgreSQL 15 when it is down and makes sure the role
# Odoo connects with exists (Odoo refuses the `postgres` role). Idempotent.
# Exits non-zero, saying what to fix, when PostgreSQL cannot be started: the
# Odoo tests would fail on it anyway (tools/odoo_local.py checks the role's
# password when they start).
set -euo pipefail
host="${COURIER_PG_HOST:-127.0.0.1}"
port="${COURIER_PG_PORT:-5432}"
role="${COURIER_PG_USER:-courier_odoo}"
password="${COURIER_PG_PASSWORD:-courier_odoo}"

fail() { echo "start-postgres: $*" >&2; exit 1; }

if ! pg_isready -q -h "$host" -p "$port" 2>/dev/null; then
    if ! command -v pg_ctlcluster >/dev/null; then
        fail "PostgreSQL does not answer at $host:$port and pg_ctlcluster is missing:" \
            "install PostgreSQL 15 (apt install postgresql), or start yours and set" \
            "COURIER_PG_HOST/COURIER_PG_PORT to it"
    fi
    pg_ctlcluster 15 main start \
        || fail "pg_ctlcluster 15 main start failed (see above): is PostgreSQL 15's main cluster set up? (pg_lsclusters)"
    for _ in $(seq 1 30); do pg_isready -q -h "$host" -p "$port" && break; sleep 0.5; done
    pg_isready -q -h "$host" -p "$port" \
        || fail "PostgreSQL 15 started but does not answer at $host:$port after 15 s:" \
            "is COURIER_PG_HOST/COURIER_PG_PORT its address? (pg_lsclusters)"
fi

as_postgres() { if [[ $(id -u) -eq 0 ]]; then su postgres -c "$1"; else sudo -u postgres sh -c "$1"; fi; }
exists=$(as_postgres "psql -tAc \"SELECT 1 FROM pg_roles WHERE rolname='$role'\"") \
    || fail "cannot ask PostgreSQL whether role $role exists as the postgres user (root or sudo needed)"
if [[ "$exists" != "1" ]]; then
    as_postgres "psql -qc \"CREATE ROLE $role LOGIN CREATEDB PASSWORD '$password'\"" \
        || fail "cannot create role $role as the postgres user"
fi
