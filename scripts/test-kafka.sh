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

need=()
command -v javac >/dev/null || need+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null || need+=(maven)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

export WREN_BIN="${WREN_BIN:-$REPO/target/debug/wren}"
[[ -x "$WREN_BIN" ]] || cargo build --bin wren

VENV="$REPO/.venv"
[[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV"
if ! "$VENV/bin/python" -c 'import pytest, pytest_timeout' 2>/dev/null; then
  pins=$(grep -E '^(pytest|pytest-timeout)==' tests/clients/python/requirements.txt)
  # shellcheck disable=SC2086
  timeout 600 "$VENV/bin/python" -m pip install --disable-pip-version-check -q $pins
fi

python3 tests/kafka/kafka_broker.py fetch >/dev/null
exec timeout 900 "$VENV/bin/python" -m pytest tests/kafka -p no:cacheprovider -ra --tb=short \
  --timeout=600 -s "$@"
