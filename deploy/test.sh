#!/usr/bin/env bash
# Run the test suite against a real Kafka broker and a real PostgreSQL server: start whichever is
# not running, run pytest with any arguments given, and stop what this script started.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
cd "$root"
answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
kafka_port=${CMEHUB_KAFKA_PORT:-19092}
pg_port=${CMEHUB_POSTGRES_PORT:-15432}
stop=()
cleanup() { for s in "${stop[@]}"; do bash "$s" || true; done; }
trap cleanup EXIT
if [ -z "${CMEHUB_KAFKA_BOOTSTRAP:-}" ] && ! answers "$kafka_port"; then
  bash "$here/kafka/start.sh" || exit 1
  stop+=("$here/kafka/stop.sh")
fi
if ! answers "$pg_port"; then
  bash "$here/postgres/start.sh" || exit 1
  stop+=("$here/postgres/stop.sh")
fi
export CMEHUB_TEST_KAFKA_BOOTSTRAP=${CMEHUB_KAFKA_BOOTSTRAP:-127.0.0.1:$kafka_port}
export CMEHUB_TEST_DATABASE_URL=${CMEHUB_TEST_DATABASE_URL:-postgresql+psycopg://cmehub@127.0.0.1:$pg_port/cmehub}
mkdir -p test-output
"${VENV:-.venv}/bin/pytest" "$@"
