#!/usr/bin/env bash
# Runs every Wren test on a fresh machine: Rust unit/integration tests (librdkafka via the rdkafka
# crate), the Python and Node real-client suites and franz-go (Go) against the wren binary, the
# differential tests against Apache Kafka 4.4, the Java clients, Kafka's tools and Kafka Streams
# against Wren, then librdkafka's own test suite (allow-listed tests) against it.
set -euo pipefail
cd "$(dirname "$0")/.."

# Build tools the rdkafka-sys crate needs to compile librdkafka from source, and mkfs.ext4 for
# the full-disk tests' small ext4 (storage::testing::SmallFs).
need=()
for tool in make cmake perl; do command -v "$tool" >/dev/null || need+=("$tool"); done
command -v mkfs.ext4 >/dev/null || need+=(e2fsprogs)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

echo "== cargo fmt / clippy"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings

echo "== cargo test"
cargo test --workspace --all-targets
# --all-targets leaves out doc-tests: the embedding example in the crate docs must compile and run.
cargo test --workspace --doc

echo "== mutation testing: mutants on changed lines of storage and the state machines (docs/testing.md)"
scripts/mutants.sh --in-diff

echo "== real clients (Python, Node)"
cargo build --bin wren
WREN_BIN="$PWD/target/debug/wren" scripts/test-clients.sh

echo "== packages: the Python wheel, the npm package, the Dockerfile (no image is built)"
WREN_BIN="$PWD/target/debug/wren" scripts/test-packages.sh

echo "== franz-go (kgo, kadm) against Wren (tests/go)"
WREN_BIN="$PWD/target/debug/wren" scripts/test-go.sh

echo "== differential tests against Apache Kafka 4.4 (tests/kafka; accepted differences: FINDINGS.md)"
WREN_BIN="$PWD/target/debug/wren" scripts/test-kafka.sh

echo "== Java clients (kafka-clients 4.4 and 3.9) and Kafka's own tools against Wren (tests/java)"
WREN_BIN="$PWD/target/debug/wren" scripts/test-java.sh

echo "== librdkafka's own test suite (allow-list: tests/librdkafka/allow-list.txt, exclusions: FINDINGS.md)"
scripts/build-librdkafka.sh
WREN_BIN="$PWD/target/debug/wren" scripts/librdkafka-suite.sh

echo "== fuzzing: every target for 60 s (scripts/fuzz.sh)"
scripts/fuzz.sh 60
