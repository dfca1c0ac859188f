#!/usr/bin/env bash
# Fetch the pinned Apache Kafka broker jars from Maven Central into a cache outside the work tree.
# Idempotent: a warm cache returns at once.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/env.sh"

if [ -f "$KAFKA_LIBS/.complete" ]; then
  echo "kafka $KAFKA_VERSION: cached in $KAFKA_LIBS"
  exit 0
fi
command -v mvn >/dev/null || { echo "error: Maven (mvn) is needed to fetch Kafka from Maven Central: apt-get install maven" >&2; exit 1; }
command -v java >/dev/null || { echo "error: Java 17+ is needed to run Kafka: apt-get install openjdk-17-jre-headless" >&2; exit 1; }
echo "kafka $KAFKA_VERSION: fetching from Maven Central into $KAFKA_LIBS"
rm -rf "$KAFKA_LIBS"
mkdir -p "$KAFKA_LIBS"
mvn -q -B -f "$here/pom.xml" dependency:copy-dependencies \
  -DincludeScope=runtime -DoutputDirectory="$KAFKA_LIBS" >&2
ls "$KAFKA_LIBS"/kafka_2.13-"$KAFKA_VERSION".jar >/dev/null
touch "$KAFKA_LIBS/.complete"
echo "kafka $KAFKA_VERSION: $(ls "$KAFKA_LIBS" | wc -l) jars cached"
