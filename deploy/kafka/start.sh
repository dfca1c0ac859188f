#!/usr/bin/env bash
# Start a single-node KRaft Kafka broker on 127.0.0.1 (CMEHUB_KAFKA_PORT, default 19092) and wait
# until it answers. Idempotent: a broker already answering on the port is left alone.
# Skipped entirely when CMEHUB_KAFKA_BOOTSTRAP names an existing cluster.
#   --fresh  start from an empty data folder (a throwaway broker, as `deploy/test.sh` starts).
# A broker with many partitions on disk takes a while to load them; it gets
# CMEHUB_KAFKA_START_SECONDS (default 300) to answer, and says every 30 s that it is still loading.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/env.sh"
fresh=0
case "${1:-}" in
  --fresh) fresh=1 ;;
  "") ;;
  *) echo "usage: $0 [--fresh]" >&2; exit 2 ;;
esac
patience=${CMEHUB_KAFKA_START_SECONDS:-300}

if [ -n "${CMEHUB_KAFKA_BOOTSTRAP:-}" ]; then
  echo "kafka: using the existing cluster at $CMEHUB_KAFKA_BOOTSTRAP (nothing started)"
  exit 0
fi
answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pidfile="$KAFKA_HOME/broker.pid"
if answers "$KAFKA_PORT"; then
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    echo "kafka: already running on 127.0.0.1:$KAFKA_PORT (pid $(cat "$pidfile"))"
    exit 0
  fi
  echo "error: port $KAFKA_PORT is taken by another process; set CMEHUB_KAFKA_PORT to a free port" >&2
  exit 1
fi

"$here/fetch.sh" >&2
[ "$fresh" = 1 ] && rm -rf "$KAFKA_HOME/data"
mkdir -p "$KAFKA_HOME/data" "$KAFKA_HOME/logs"
props="$KAFKA_HOME/server.properties"
sed -e "s|@PORT@|$KAFKA_PORT|g" -e "s|@CPORT@|$KAFKA_CONTROLLER_PORT|g" \
    -e "s|@NODE_ID@|$KAFKA_NODE_ID|g" -e "s|@DATA@|$KAFKA_HOME/data|g" \
    "$here/server.properties.in" > "$props"

cp=("$KAFKA_LIBS/*")
if [ ! -f "$KAFKA_HOME/data/meta.properties" ]; then
  cluster_id=$(java -cp "${cp[0]}" kafka.tools.StorageTool random-uuid)
  java -cp "${cp[0]}" kafka.tools.StorageTool format -t "$cluster_id" -c "$props" --standalone \
    --ignore-formatted >/dev/null
fi

# A fresh log for this run, so the readiness check below cannot read the last run's start line.
[ -f "$KAFKA_HOME/logs/server.log" ] && mv -f "$KAFKA_HOME/logs/server.log" "$KAFKA_HOME/logs/server.log.1"
nohup java -Xms"$KAFKA_HEAP" -Xmx"$KAFKA_HEAP" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
  -Dkafka.logs.dir="$KAFKA_HOME/logs" -Dlog4j2.configurationFile="$here/log4j2.properties" \
  -cp "${cp[0]}" kafka.Kafka "$props" > "$KAFKA_HOME/logs/stdout.log" 2>&1 &
echo $! > "$pidfile"

started=$SECONDS
said=$SECONDS
while [ $((SECONDS - started)) -lt "$patience" ]; do
  if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    echo "error: the broker exited during start; last lines of $KAFKA_HOME/logs:" >&2
    tail -n 20 "$KAFKA_HOME/logs/stdout.log" "$KAFKA_HOME/logs/server.log" >&2 || true
    exit 1
  fi
  if grep -q "Kafka Server started" "$KAFKA_HOME/logs/server.log" 2>/dev/null && answers "$KAFKA_PORT"; then
    echo "kafka: running on 127.0.0.1:$KAFKA_PORT (pid $(cat "$pidfile"), data in $KAFKA_HOME," \
         "ready in $((SECONDS - started)) s)"
    exit 0
  fi
  if [ $((SECONDS - said)) -ge 30 ]; then
    echo "kafka: still starting after $((SECONDS - started)) s;" \
         "$(find "$KAFKA_HOME/data" -mindepth 1 -maxdepth 1 -type d | wc -l) partition folders to load" >&2
    said=$SECONDS
  fi
  sleep 0.5
done
echo "error: the broker did not answer on 127.0.0.1:$KAFKA_PORT within $patience s" \
     "(CMEHUB_KAFKA_START_SECONDS); stopping it; see $KAFKA_HOME/logs" >&2
bash "$here/stop.sh" >&2 || true
exit 1
