#!/usr/bin/env bash
# Start a private PostgreSQL cluster on 127.0.0.1:$CMEHUB_POSTGRES_PORT (default 15432) with its own
# data and socket folders, creating it (role `cmehub`, database `cmehub`) on first use. Installs
# Debian's postgresql package only when no PostgreSQL binaries are found. Idempotent.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/env.sh"

if ! bindir=$(pg_bindir); then
  echo "postgres: binaries absent; installing Debian's postgresql package" >&2
  [ "$(id -u)" = 0 ] || { echo "error: PostgreSQL is not installed; run: sudo apt-get install postgresql" >&2; exit 1; }
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
  bindir=$(pg_bindir)
fi

if as_owner "$bindir/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then
  echo "postgres: already running on 127.0.0.1:$PG_PORT (data in $PG_DATA)"
  exit 0
fi
if (exec 3<>"/dev/tcp/127.0.0.1/$PG_PORT") 2>/dev/null; then
  echo "error: port $PG_PORT is taken by another process; set CMEHUB_POSTGRES_PORT to a free port" >&2
  exit 1
fi

mkdir -p "$PG_HOME"
[ "$(id -u)" = 0 ] && chown postgres:postgres "$PG_HOME"
as_owner mkdir -p "$PG_SOCKETS"
fresh=0
if [ ! -f "$PG_DATA/PG_VERSION" ]; then
  as_owner "$bindir/initdb" -D "$PG_DATA" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  cat >> "$PG_DATA/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_SOCKETS'
max_connections = 200
shared_buffers = 256MB
fsync = on
CONF
  fresh=1
fi
as_owner "$bindir/pg_ctl" -D "$PG_DATA" -l "$PG_HOME/server.log" -w -t 60 start >/dev/null
if [ "$fresh" = 1 ]; then
  psql=("$bindir/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 -q)
  as_owner "${psql[@]}" -c "create role $PG_USER login superuser" postgres
  as_owner "${psql[@]}" -c "create database $PG_DB owner $PG_USER" postgres
fi
echo "postgres: running on 127.0.0.1:$PG_PORT (data in $PG_DATA); url postgresql+psycopg://$PG_USER@127.0.0.1:$PG_PORT/$PG_DB"
