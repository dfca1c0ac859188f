#!/usr/bin/env bash
# Stop the local broker started by start.sh (SIGTERM, then SIGKILL after 30 s). Idempotent.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/env.sh"
pidfile="$KAFKA_HOME/broker.pid"
if [ ! -f "$pidfile" ] || ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  echo "kafka: not running on 127.0.0.1:$KAFKA_PORT"
  rm -f "$pidfile"
  exit 0
fi
pid=$(cat "$pidfile")
kill "$pid"
for _ in $(seq 1 60); do
  kill -0 "$pid" 2>/dev/null || { rm -f "$pidfile"; echo "kafka: stopped"; exit 0; }
  sleep 0.5
done
kill -9 "$pid" 2>/dev/null || true
rm -f "$pidfile"
echo "kafka: killed after 30 s"
