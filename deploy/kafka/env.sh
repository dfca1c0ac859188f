# Shared settings of the local Kafka scripts; sourced, not run.
# shellcheck shell=bash
KAFKA_VERSION=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$(dirname "${BASH_SOURCE[0]}")/pom.xml")
CMEHUB_CACHE_DIR=${CMEHUB_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/cmehub}
KAFKA_LIBS=${KAFKA_LIBS:-$CMEHUB_CACHE_DIR/kafka-$KAFKA_VERSION/libs}
CMEHUB_STATE_DIR=${CMEHUB_STATE_DIR:-$HOME/.cmehub}
KAFKA_PORT=${CMEHUB_KAFKA_PORT:-19092}
KAFKA_CONTROLLER_PORT=${CMEHUB_KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}
KAFKA_NODE_ID=${KAFKA_NODE_ID:-1}
KAFKA_HOME=${KAFKA_HOME:-$CMEHUB_STATE_DIR/kafka-$KAFKA_PORT}
KAFKA_HEAP=${KAFKA_HEAP:-512m}
