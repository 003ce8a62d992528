#!/bin/sh
# The compose deployment's PostgreSQL (Dockerfile, target `postgres`): on the first start,
# a cluster in PGDATA whose user POSTGRES_USER (password POSTGRES_PASSWORD) owns the
# databases POSTGRES_DBS names (space-separated); then the server in the foreground, so the
# engine's SIGTERM reaches it (a fast shutdown).
# UTF8 by hand: the base has no locale, and a cluster made in the C locale is SQL_ASCII,
# whose text psycopg returns as bytes (MLflow then fails to connect).
set -eu
: "${POSTGRES_USER:=likecast}" "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}"
: "${POSTGRES_DBS:=likecast mlflow}"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    pwfile=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
    initdb -D "$PGDATA" -U "$POSTGRES_USER" --pwfile="$pwfile" --auth-local=trust \
        --encoding=UTF8 --locale=C.UTF-8 \
        --auth-host=scram-sha-256 >/dev/null
    rm -f "$pwfile"
    echo "host all all 0.0.0.0/0 scram-sha-256" >>"$PGDATA/pg_hba.conf"
    pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
    for db in $POSTGRES_DBS; do
        createdb -U "$POSTGRES_USER" "$db"
    done
    pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
fi
exec postgres -D "$PGDATA" -c listen_addresses='*'
