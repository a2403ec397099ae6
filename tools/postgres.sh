#!/usr/bin/env bash
# A PostgreSQL cluster for the work queue, under state/pg/, on a free loopback port.
# Installs Debian's server when missing (apt-get, as root), runs the server as the
# `postgres` system user (the server refuses to run as root), creates role and database
# `bistand`, and prints `BISTAND_QUEUE_URL=postgresql://...` as its last line.
# Idempotent: a second call reuses the running cluster (or restarts the stopped one).
set -euo pipefail
cd "$(dirname "$0")/.."
PG_ROOT="${BISTAND_PG_DIR:-$PWD/state/pg}"
DATA="$PG_ROOT/data"
RUN="$PG_ROOT/run"

bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
if [ -z "$(bindir)" ]; then
  if [ "$(id -u)" != "0" ]; then
    echo "PostgreSQL is not installed and this is not root: apt-get install postgresql" >&2
    exit 1
  fi
  echo "Installing Debian postgresql (apt-get)..." >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
BIN="$(bindir)"
as_pg() { if [ "$(id -u)" = "0" ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

mkdir -p "$PG_ROOT"
if [ "$(id -u)" = "0" ]; then
  chown postgres: "$PG_ROOT"
  if ! runuser -u postgres -- test -w "$PG_ROOT"; then
    # The checkout lies where the postgres user cannot reach (e.g. under /root): keep the
    # cluster in a directory of its own and point state/pg/data at it.
    OUTSIDE="/var/lib/bistand-pg/$(printf '%s' "$PG_ROOT" | md5sum | cut -c1-12)"
    mkdir -p "$OUTSIDE" && chown postgres: "$OUTSIDE" /var/lib/bistand-pg
    DATA="$OUTSIDE/data"
    RUN="$OUTSIDE/run"
    ln -sfn "$DATA" "$PG_ROOT/data"
  fi
fi
if [ ! -f "$PG_ROOT/password" ]; then
  (umask 077; head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' > "$PG_ROOT/password")
fi
PASSWORD="$(cat "$PG_ROOT/password")"

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

if [ ! -f "$DATA/PG_VERSION" ]; then
  as_pg mkdir -p "$DATA" "$RUN"
  as_pg "$BIN/initdb" -D "$DATA" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
    -E UTF8 --locale=C.UTF-8 >/dev/null
fi
as_pg mkdir -p "$RUN"

if ! as_pg "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
  PORT="$(cat "$PG_ROOT/port" 2>/dev/null || true)"
  if [ -z "$PORT" ] || ! python3 -c "import socket,sys; socket.socket().bind(('127.0.0.1', int(sys.argv[1])))" "$PORT" 2>/dev/null; then
    PORT="$(free_port)"
  fi
  echo "$PORT" > "$PG_ROOT/port"
  as_pg "$BIN/pg_ctl" -D "$DATA" -l "$(dirname "$DATA")/server.log" -w -t 60 \
    -o "-p $PORT -k $RUN -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null
fi
PORT="$(cat "$PG_ROOT/port")"

psql_admin() { as_pg "$BIN/psql" -h "$RUN" -p "$PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtA "$@"; }
if [ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = 'bistand'")" != "1" ]; then
  psql_admin -c "CREATE ROLE bistand LOGIN CREATEDB PASSWORD '$PASSWORD'" >/dev/null
fi
if [ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = 'bistand'")" != "1" ]; then
  psql_admin -c "CREATE DATABASE bistand OWNER bistand" >/dev/null
fi
echo "PostgreSQL ready: cluster $DATA, port $PORT (stop: runuser -u postgres -- $BIN/pg_ctl -D $DATA stop)" >&2
echo "BISTAND_QUEUE_URL=postgresql://bistand:$PASSWORD@127.0.0.1:$PORT/bistand"
