#!/usr/bin/env bash
# Run the test suite against a real Kafka broker and a real PostgreSQL server: start whichever is
# not running, run pytest with any arguments given, and stop what this script started.
# A broker this script starts is a throwaway one: its own folder, emptied at every start, so no
# run inherits (and waits to load) the topics of the runs before it.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
cd "$root"
answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
kafka_port=${CMEHUB_KAFKA_PORT:-19092}
pg_port=${CMEHUB_POSTGRES_PORT:-15432}
test_kafka_home=${CMEHUB_STATE_DIR:-$HOME/.cmehub}/test-kafka-$kafka_port
stop_kafka=0
stop_postgres=0
cleanup() {
  [ "$stop_kafka" = 1 ] && { KAFKA_HOME=$test_kafka_home bash "$here/kafka/stop.sh" || true; }
  [ "$stop_postgres" = 1 ] && { bash "$here/postgres/stop.sh" || true; }
}
trap cleanup EXIT
if [ -z "${CMEHUB_KAFKA_BOOTSTRAP:-}" ] && ! answers "$kafka_port"; then
  KAFKA_HOME=$test_kafka_home bash "$here/kafka/start.sh" --fresh || exit 1
  stop_kafka=1
fi
if ! answers "$pg_port"; then
  bash "$here/postgres/start.sh" || exit 1
  stop_postgres=1
fi
export CMEHUB_TEST_KAFKA_BOOTSTRAP=${CMEHUB_KAFKA_BOOTSTRAP:-127.0.0.1:$kafka_port}
export CMEHUB_TEST_DATABASE_URL=${CMEHUB_TEST_DATABASE_URL:-postgresql+psycopg://cmehub@127.0.0.1:$pg_port/cmehub}
mkdir -p test-output
"${VENV:-.venv}/bin/pytest" "$@"
