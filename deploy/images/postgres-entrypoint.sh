#!/bin/sh
# The official postgres image's start-up contract, for the image built from
# Debian's packages (postgres.Dockerfile): on an empty data directory,
# initdb with POSTGRES_USER and POSTGRES_PASSWORD, create POSTGRES_DB, run
# /docker-entrypoint-initdb.d/*.sql; then serve on every address with
# password authentication.
set -eu
BIN=/usr/lib/postgresql/15/bin
: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=${POSTGRES_USER}}"
: "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}"

if [ ! -s "${PGDATA}/PG_VERSION" ]; then
    password_file="$(mktemp)"
    printf '%s' "${POSTGRES_PASSWORD}" > "${password_file}"
    "${BIN}/initdb" --pgdata="${PGDATA}" --username="${POSTGRES_USER}" \
        --pwfile="${password_file}" --auth-local=trust --auth-host=scram-sha-256 \
        --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    rm -f "${password_file}"
    printf "listen_addresses = '*'\n" >> "${PGDATA}/postgresql.conf"
    printf 'host all all all scram-sha-256\n' >> "${PGDATA}/pg_hba.conf"
    # Initialise over the socket only, so nobody connects before it is done.
    "${BIN}/pg_ctl" --pgdata="${PGDATA}" --options="-c listen_addresses=''" --wait start >/dev/null
    if [ "${POSTGRES_DB}" != "postgres" ]; then
        psql --quiet -v ON_ERROR_STOP=1 --username="${POSTGRES_USER}" --dbname=postgres \
            --command="CREATE DATABASE \"${POSTGRES_DB}\""
    fi
    for script in /docker-entrypoint-initdb.d/*.sql; do
        [ -e "${script}" ] || continue
        echo "running ${script}"
        psql --quiet -v ON_ERROR_STOP=1 --username="${POSTGRES_USER}" \
            --dbname="${POSTGRES_DB}" --file="${script}"
    done
    "${BIN}/pg_ctl" --pgdata="${PGDATA}" --mode=fast --wait stop >/dev/null
fi

exec "${BIN}/postgres" -D "${PGDATA}"
