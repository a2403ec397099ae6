#!/usr/bin/env bash
# A PostgreSQL cluster for the work queue, under state/pg/, on a free loopback port.
# Installs Debian's server when missing (apt-get, as root), runs the server as the
# `postgres` system user (the server refuses to run as root), creates role and database
# `bistand`, and prints `BISTAND_QUEUE_URL=postgresql://...` as its last line.
# Idempotent: a second call reuses the running cluster (or restarts the stopped one).
#
#   bash tools/postgres.sh [start|restart|stop]
#     start (default)  as above
#     restart          fast stop, then start with the same options (every connection drops)
#     stop             fast stop (the files stay; remove BISTAND_PG_DIR yourself)
#
# A cluster of its own (the tests' private clusters, never the shared one):
#   BISTAND_PG_DIR=DIR       the cluster's directory (default state/pg)
#   BISTAND_PG_HOST=ADDRESS  the address it listens on and the URL names (default 127.0.0.1)
#   BISTAND_PG_NETNS=NAME    run the server inside this network namespace (`ip netns exec`, as root)
#   BISTAND_PG_CLIENTS=CIDR  also let this network log in with the password (a pg_hba.conf line)
set -euo pipefail
cd "$(dirname "$0")/.."
ACTION="${1:-start}"
case "$ACTION" in start|restart|stop) ;; *) echo "usage: $0 [start|restart|stop]" >&2; exit 2 ;; esac
PG_ROOT="${BISTAND_PG_DIR:-$PWD/state/pg}"
HOST="${BISTAND_PG_HOST:-127.0.0.1}"
NETNS="${BISTAND_PG_NETNS:-}"
CLIENTS="${BISTAND_PG_CLIENTS:-}"
DATA="$PG_ROOT/data"
RUN="$PG_ROOT/run"

# One call at a time per cluster (two test workers may start the shared one at once), and one
# installation at a time on the machine (apt-get refuses a second one).
mkdir -p "$PG_ROOT"
exec 9>>"$PG_ROOT/.lock"
flock 9

bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
exec 8>>/tmp/bistand-postgres-install.lock
flock 8
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
flock -u 8
# The locks' descriptors are closed for what runs as postgres: the server must not hold them.
as_pg() { if [ "$(id -u)" = "0" ]; then runuser -u postgres -- "$@" 8>&- 9>&-; else "$@" 8>&- 9>&-; fi; }
# The server's own process (pg_ctl start/restart): inside the namespace when one is given.
as_server() {
  if [ -n "$NETNS" ]; then ip netns exec "$NETNS" runuser -u postgres -- "$@" 8>&- 9>&-; else as_pg "$@"; fi
}

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
if [ "$ACTION" = "stop" ]; then
  if [ -f "$DATA/PG_VERSION" ] && as_pg "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
    as_pg "$BIN/pg_ctl" -D "$DATA" -w -t 60 -m fast stop >/dev/null
  fi
  exit 0
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
if [ -n "$CLIENTS" ] && ! grep -q "^host all all $CLIENTS scram-sha-256" "$DATA/pg_hba.conf"; then
  echo "host all all $CLIENTS scram-sha-256" | as_pg tee -a "$DATA/pg_hba.conf" >/dev/null
  if as_pg "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then as_pg "$BIN/pg_ctl" -D "$DATA" reload >/dev/null; fi
fi

if [ "$ACTION" = "restart" ] && as_pg "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
  as_pg "$BIN/pg_ctl" -D "$DATA" -w -t 60 -m fast stop >/dev/null  # then started below, same port
fi
if ! as_pg "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
  PORT="$(cat "$PG_ROOT/port" 2>/dev/null || true)"
  # A restart keeps the port (the runners' URLs name it); a start takes a free one when it is taken.
  if [ "$ACTION" != "restart" ] && { [ -z "$PORT" ] || ! python3 -c "import socket,sys; socket.socket().bind(('127.0.0.1', int(sys.argv[1])))" "$PORT" 2>/dev/null; }; then
    PORT="$(free_port)"
  fi
  echo "$PORT" > "$PG_ROOT/port"
  as_server "$BIN/pg_ctl" -D "$DATA" -l "$(dirname "$DATA")/server.log" -w -t 60 \
    -o "-p $PORT -k $RUN -c listen_addresses=$HOST -c max_connections=200" start >/dev/null
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
echo "BISTAND_QUEUE_URL=postgresql://bistand:$PASSWORD@$HOST:$PORT/bistand"
