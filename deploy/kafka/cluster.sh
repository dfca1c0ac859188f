#!/usr/bin/env bash
# A three-node KRaft Kafka cluster on one machine, for fault tests (replication factor 3,
# min.insync.replicas 2): every node is broker and controller; node i listens on
# 127.0.0.1:BASE+2(i-1) (clients) and BASE+2(i-1)+1 (controller).
#
#   bash deploy/kafka/cluster.sh start            start the nodes not running; wait until all answer
#   bash deploy/kafka/cluster.sh stop             stop every node (SIGTERM, SIGKILL after 30 s)
#   bash deploy/kafka/cluster.sh kill <node>      SIGKILL one node (1-3), as a crash would
#   bash deploy/kafka/cluster.sh restart <node>   start one node again (stopping it first if running)
#   bash deploy/kafka/cluster.sh status           one line per node; exit 1 unless all answer
#   bash deploy/kafka/cluster.sh bootstrap        print the bootstrap servers
#
# Settings: CMEHUB_KAFKA_CLUSTER_PORT (BASE, default 39092), CMEHUB_KAFKA_CLUSTER_DIR (default
# $CMEHUB_STATE_DIR/kafka-cluster-BASE), KAFKA_CLUSTER_HEAP (per node, default 384m). Idempotent.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/env.sh"

BASE=${CMEHUB_KAFKA_CLUSTER_PORT:-39092}
DIR=${CMEHUB_KAFKA_CLUSTER_DIR:-$CMEHUB_STATE_DIR/kafka-cluster-$BASE}
HEAP=${KAFKA_CLUSTER_HEAP:-384m}
NODES=(1 2 3)

port() { echo $((BASE + 2 * ($1 - 1))); }
cport() { echo $((BASE + 2 * ($1 - 1) + 1)); }
home() { echo "$DIR/node-$1"; }
pid_of() { cat "$(home "$1")/broker.pid" 2>/dev/null || true; }
alive() { local p; p=$(pid_of "$1"); [ -n "$p" ] && kill -0 "$p" 2>/dev/null; }
answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
voters() { local n out=""; for n in "${NODES[@]}"; do out+="${out:+,}$n@127.0.0.1:$(cport "$n")"; done; echo "$out"; }
bootstrap() { local n out=""; for n in "${NODES[@]}"; do out+="${out:+,}127.0.0.1:$(port "$n")"; done; echo "$out"; }
check_node() {
  [[ "${1:-}" =~ ^[123]$ ]] || { echo "error: name a node: 1, 2 or 3 (got '${1:-}')" >&2; exit 2; }
}

# Write a node's properties and format its data folder once, with the cluster's shared id.
prepare() {
  local n=$1 h; h=$(home "$n")
  mkdir -p "$h/data" "$h/logs"
  sed -e "s|@PORT@|$(port "$n")|g" -e "s|@CPORT@|$(cport "$n")|g" -e "s|@NODE_ID@|$n|g" \
      -e "s|@VOTERS@|$(voters)|g" -e "s|@DATA@|$h/data|g" \
      "$here/cluster.properties.in" > "$h/server.properties"
  if [ ! -f "$h/data/meta.properties" ]; then
    java -cp "$KAFKA_LIBS/*" kafka.tools.StorageTool format -t "$(cat "$DIR/cluster.id")" \
      -c "$h/server.properties" --ignore-formatted >/dev/null
  fi
}

# Launch one node in the background; remembers where its log ended so the wait reads only this run.
launch() {
  local n=$1 h; h=$(home "$n")
  if alive "$n"; then return 0; fi
  for p in "$(port "$n")" "$(cport "$n")"; do
    if answers "$p"; then
      echo "error: port $p (node $n) is taken by another process; set CMEHUB_KAFKA_CLUSTER_PORT to a free range" >&2
      exit 1
    fi
  done
  prepare "$n"  # rewrites the properties; formats only a fresh folder
  touch "$h/logs/server.log"
  stat -c %s "$h/logs/server.log" > "$h/log.offset"
  nohup java -Xms"$HEAP" -Xmx"$HEAP" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:TieredStopAtLevel=1 \
    -Dkafka.logs.dir="$h/logs" -Dlog4j2.configurationFile="$here/log4j2.properties" \
    -cp "$KAFKA_LIBS/*" kafka.Kafka "$h/server.properties" >> "$h/logs/stdout.log" 2>&1 &
  echo $! > "$h/broker.pid"
}

# True once the node logged "Kafka Server started" in this run (it is then unfenced) and answers.
started() {
  local n=$1 h; h=$(home "$n")
  tail -c +"$(( $(cat "$h/log.offset" 2>/dev/null || echo 0) + 1 ))" "$h/logs/server.log" 2>/dev/null \
    | grep -q "Kafka Server started" && answers "$(port "$n")"
}

wait_for() {
  local n waiting
  for _ in $(seq 1 240); do
    waiting=()
    for n in "$@"; do
      if ! alive "$n"; then
        echo "error: node $n exited during start; last lines of $(home "$n")/logs:" >&2
        tail -n 20 "$(home "$n")/logs/stdout.log" "$(home "$n")/logs/server.log" >&2 || true
        exit 1
      fi
      started "$n" || waiting+=("$n")
    done
    if [ ${#waiting[@]} -eq 0 ]; then return 0; fi
    sleep 0.5
  done
  echo "error: node(s) ${waiting[*]} did not answer within 120 s; see $DIR/node-*/logs" >&2
  exit 1
}

stop_node() {
  local n=$1 p; p=$(pid_of "$n")
  if [ -z "$p" ] || ! kill -0 "$p" 2>/dev/null; then rm -f "$(home "$n")/broker.pid"; return 0; fi
  kill "$p" 2>/dev/null || true
  for _ in $(seq 1 60); do
    kill -0 "$p" 2>/dev/null || { rm -f "$(home "$n")/broker.pid"; return 0; }
    sleep 0.5
  done
  kill -9 "$p" 2>/dev/null || true
  rm -f "$(home "$n")/broker.pid"
}

cmd=${1:-}
case "$cmd" in
  start)
    if [ -n "${CMEHUB_KAFKA_BOOTSTRAP:-}" ]; then
      echo "kafka cluster: CMEHUB_KAFKA_BOOTSTRAP names an existing cluster; this script starts its own on" \
           "$(bootstrap) regardless" >&2
    fi
    "$here/fetch.sh" >&2
    mkdir -p "$DIR"
    [ -f "$DIR/cluster.id" ] || java -cp "$KAFKA_LIBS/*" kafka.tools.StorageTool random-uuid > "$DIR/cluster.id"
    # Format in parallel (a JVM each), then start all three together: no node finishes starting until
    # a majority of the controllers is up.
    for n in "${NODES[@]}"; do alive "$n" || prepare "$n" & done
    wait
    for n in "${NODES[@]}"; do launch "$n"; done
    wait_for "${NODES[@]}"
    echo "kafka cluster: 3 nodes running on $(bootstrap) (data in $DIR)"
    ;;
  stop)
    for n in "${NODES[@]}"; do stop_node "$n" & done
    wait
    echo "kafka cluster: stopped"
    ;;
  kill)
    check_node "${2:-}"
    p=$(pid_of "$2")
    if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then
      kill -9 "$p"
      while kill -0 "$p" 2>/dev/null; do sleep 0.1; done
      echo "kafka cluster: node $2 (pid $p) killed with SIGKILL"
    else
      echo "kafka cluster: node $2 is not running"
    fi
    rm -f "$(home "$2")/broker.pid"
    ;;
  restart)
    check_node "${2:-}"
    [ -f "$DIR/cluster.id" ] || { echo "error: no cluster in $DIR; run: $0 start" >&2; exit 1; }
    stop_node "$2"
    launch "$2"
    wait_for "$2"
    echo "kafka cluster: node $2 running on 127.0.0.1:$(port "$2") (pid $(pid_of "$2"))"
    ;;
  status)
    down=0
    for n in "${NODES[@]}"; do
      if alive "$n" && answers "$(port "$n")"; then
        echo "node $n: running on 127.0.0.1:$(port "$n") (pid $(pid_of "$n"))"
      elif alive "$n"; then
        echo "node $n: starting (pid $(pid_of "$n"), not answering on $(port "$n") yet)"; down=1
      else
        echo "node $n: down"; down=1
      fi
    done
    exit "$down"
    ;;
  bootstrap)
    bootstrap
    ;;
  *)
    echo "usage: $0 start|stop|kill <node>|restart <node>|status|bootstrap" >&2
    exit 2
    ;;
esac
