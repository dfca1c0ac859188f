#!/usr/bin/env bash
# Stop the private PostgreSQL cluster started by start.sh (fast shutdown). Idempotent.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/env.sh"
bindir=$(pg_bindir) || { echo "postgres: not installed"; exit 0; }
if as_owner "$bindir/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then
  as_owner "$bindir/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null
  echo "postgres: stopped"
else
  echo "postgres: not running on 127.0.0.1:$PG_PORT"
fi
