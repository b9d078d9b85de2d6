#!/usr/bin/env bash
# Real-client tests: run Wren against confluent-kafka, kafka-python and aiokafka (Python) and
# kafkajs (Node).  Installs what it needs itself (needs python3 with venv+pip, node+npm, and
# access to PyPI and the npm registry):
#   * <repo>/.venv with the pinned packages in tests/clients/python/requirements.txt
#   * <repo>/.venv-kafka-python2 with the same pins but kafka-python 2.x
#     (requirements-kafka-python2.txt), for the first-record tests of the older line (issue 11)
#   * tests/clients/node/node_modules from tests/clients/node/package-lock.json
#
# Usage: scripts/test-clients.sh [extra pytest args...]
# Environment:
#   WREN_BIN             broker binary (default <repo>/target/debug/wren; when unset the script
#                        runs `cargo build --bin wren` first unless WREN_SKIP_BUILD=1)
#   WREN_CLIENT_SUITES   which suites to run (default "python node")
#   WREN_TEST_RECORDS    records per test (default 10000)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
SUITES="${WREN_CLIENT_SUITES:-python node}"
PY_REQ="tests/clients/python/requirements.txt"
NODE_DIR="tests/clients/node"
VENV="$REPO/.venv"
PY_REQ_KP2="tests/clients/python/requirements-kafka-python2.txt"
VENV_KP2="$REPO/.venv-kafka-python2"

log() { printf '\n==> %s\n' "$*" >&2; }
die() { printf 'test-clients: %s\n' "$*" >&2; exit 2; }
stamp_ok() { [[ -f "$1" && "$(cat "$1")" == "$2" ]]; }

# ---- broker binary ------------------------------------------------------------------------
if [[ -z "${WREN_BIN:-}" ]]; then
  export WREN_BIN="$REPO/target/debug/wren"
  if [[ "${WREN_SKIP_BUILD:-0}" != 1 ]]; then
    log "cargo build --bin wren"
    cargo build --bin wren
  fi
fi
[[ -x "$WREN_BIN" ]] || die "broker binary not found or not executable: $WREN_BIN"
export WREN_BIN

# ---- Python virtualenvs ---------------------------------------------------------------------
# venv DIR REQUIREMENTS: creates DIR and installs the pinned packages when they changed.
venv() {
  if [[ ! -x "$1/bin/python" ]]; then
    log "creating virtualenv $1"
    python3 -m venv "$1"
  fi
  local want
  want="$(sha256sum "$2" | cut -d' ' -f1) $("$1/bin/python" -V 2>&1)"
  if ! stamp_ok "$1/.wren-client-reqs" "$want"; then
    log "pip install -r $2 into $1"
    timeout 900 "$1/bin/python" -m pip install --disable-pip-version-check -q --upgrade pip
    timeout 900 "$1/bin/python" -m pip install --disable-pip-version-check -q -r "$2"
    echo "$want" > "$1/.wren-client-reqs"
  fi
}
if [[ " $SUITES " == *" python "* ]]; then
  command -v python3 >/dev/null || die "python3 not found"
  venv "$VENV" "$PY_REQ"
  venv "$VENV_KP2" "$PY_REQ_KP2"
fi

# ---- Node modules ----------------------------------------------------------------------------
if [[ " $SUITES " == *" node "* ]]; then
  command -v node >/dev/null || die "node not found"
  command -v npm >/dev/null || die "npm not found"
  want="$(cat "$NODE_DIR/package.json" "$NODE_DIR/package-lock.json" | sha256sum | cut -d' ' -f1) $(node --version)"
  if ! stamp_ok "$NODE_DIR/node_modules/.wren-client-deps" "$want"; then
    log "npm ci in $NODE_DIR"
    (cd "$NODE_DIR" && timeout 600 npm ci --no-audit --no-fund --loglevel=error)
    echo "$want" > "$NODE_DIR/node_modules/.wren-client-deps"
  fi
fi

# ---- run -------------------------------------------------------------------------------------
log "broker: $WREN_BIN"
status=0
failed=()
if [[ " $SUITES " == *" python "* ]]; then
  log "pytest tests/clients/python (confluent-kafka, kafka-python, aiokafka)"
  if ! timeout 1500 "$VENV/bin/python" -m pytest tests/clients/python \
      -p no:cacheprovider -ra --tb=short --timeout=300 "$@"; then
    status=1; failed+=(python)
  fi
  log "pytest tests/clients/python/test_first_record.py with kafka-python 2.x"
  if ! timeout 600 "$VENV_KP2/bin/python" -m pytest tests/clients/python/test_first_record.py \
      -k kafka-python -p no:cacheprovider -ra --tb=short --timeout=300; then
    status=1; failed+=(kafka-python-2)
  fi
fi
if [[ " $SUITES " == *" node "* ]]; then
  log "node --test tests/clients/node (kafkajs)"
  if ! (cd "$NODE_DIR" && timeout 900 node --test --test-concurrency=1 --test-timeout=300000 .); then
    status=1; failed+=(node)
  fi
fi

if [[ $status -ne 0 ]]; then
  log "client tests FAILED: ${failed[*]}"
else
  log "client tests passed: $SUITES"
fi
exit $status
