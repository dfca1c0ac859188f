# Shared settings of the local PostgreSQL scripts; sourced, not run.
# shellcheck shell=bash
PG_PORT=${CMEHUB_POSTGRES_PORT:-15432}
if [ "$(id -u)" = 0 ]; then
  # initdb refuses to run as root: the cluster belongs to the `postgres` system user, so it lives
  # where that user can reach it (root's home is closed to it).
  PG_HOME=${CMEHUB_POSTGRES_HOME:-/var/lib/cmehub/postgres-$PG_PORT}
else
  PG_HOME=${CMEHUB_POSTGRES_HOME:-${CMEHUB_STATE_DIR:-$HOME/.cmehub}/postgres-$PG_PORT}
fi
PG_DATA=$PG_HOME/data
PG_SOCKETS=$PG_HOME/run
PG_USER=${CMEHUB_POSTGRES_USER:-cmehub}
PG_DB=${CMEHUB_POSTGRES_DB:-cmehub}

pg_bindir() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [ -x "$d/initdb" ] && { echo "$d"; return 0; }
  done
  command -v pg_ctl >/dev/null && { dirname "$(readlink -f "$(command -v pg_ctl)")"; return 0; }
  return 1
}

# Run a PostgreSQL binary as the cluster's owner.
as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
