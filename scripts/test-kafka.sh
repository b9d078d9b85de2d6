#!/usr/bin/env bash
# Differential tests against Apache Kafka 4.x (tests/kafka): starts Kafka and Wren, runs the same
# recorded requests against both and compares the answers (tests/kafka/test_differential.py).
# Installs what it needs: java 17 and maven via apt-get when missing, the Kafka jars into
# target/kafka (Maven, cached), pytest into <repo>/.venv (the pins of tests/clients/python).
#
# Usage: scripts/test-kafka.sh [extra pytest args...]
# Environment: WREN_BIN (default <repo>/target/debug/wren, built when missing)
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

# shellcheck source=scripts/java-env.sh
source "$REPO/scripts/java-env.sh"

python3 tests/kafka/kafka_broker.py fetch >/dev/null
exec timeout 900 "$VENV/bin/python" -m pytest tests/kafka -p no:cacheprovider -ra --tb=short \
  --timeout=600 -s "$@"
