#!/usr/bin/env bash
# Apache Kafka 4.x (the test oracle) as one command; see tests/kafka/kafka_broker.py.
#   scripts/kafka.sh start DIR [--default-config]   start one KRaft node, print KAFKA_BOOTSTRAP=...
#   scripts/kafka.sh env DIR                        the same lines for the running node
#   scripts/kafka.sh stop DIR                       stop it (SIGTERM, SIGKILL after 30 s)
#   scripts/kafka.sh fetch                          only resolve the jars into target/kafka/lib
# Needs java (17+) and mvn; the jars are cached under target/kafka.
set -euo pipefail
exec python3 "$(dirname "$0")/../tests/kafka/kafka_broker.py" "$@"
