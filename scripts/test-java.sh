#!/usr/bin/env bash
# The Java clients and Kafka's own tools against Wren (issue 16):
#   tests/java: JUnit tests (Maven) run twice, with kafka-clients 4.4.0 and with 3.9.2;
#   tests/java/test_tools.py: kafka-topics, the console producer/consumer, kafka-consumer-groups,
#   kafka-transactions, kafka-producer-perf-test and the system-test programs (pytest).
# Installs what scripts/test-kafka.sh installs: java 17 and maven via apt-get when missing, the
# jars into target/kafka/m2 (Maven's local repository, cached), pytest into <repo>/.venv.
#
# Usage: scripts/test-java.sh [extra pytest args...]
# Environment: WREN_BIN (default <repo>/target/debug/wren, built when missing),
#   WREN_JAVA_CLIENTS (default "4.4.0 3.9.2": the kafka-clients versions to test)
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

# shellcheck source=scripts/java-env.sh
source "$REPO/scripts/java-env.sh"

for version in ${WREN_JAVA_CLIENTS:-4.4.0 3.9.2}; do
  echo "== Java clients: kafka-clients $version (tests/java)"
  timeout 600 mvn -B -ntp -Dstyle.color=never -f tests/java/pom.xml \
    "-Dmaven.repo.local=$REPO/target/kafka/m2" "-Dkafka.clients.version=$version" test \
    | grep -v -E '^\[INFO\] (Download|---|$)'
done

echo "== Kafka's own tools and Kafka Streams (4.4) against Wren (tests/java/test_tools.py, test_streams.py)"
exec timeout 900 "$VENV/bin/python" -m pytest tests/java -p no:cacheprovider -ra --tb=short \
  --timeout=600 "$@"
