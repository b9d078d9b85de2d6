#!/usr/bin/env bash
# Mutation testing (cargo-mutants) of the code whose tests must notice a broken promise: the
# storage crate and the two coordinators' state machines. Every surviving mutant is killed by a
# new test or explained in docs/testing.md ("Mutation testing").
#
#   scripts/mutants.sh                 the files listed below, whole
#   scripts/mutants.sh --in-diff REF   only the mutants on lines changed since REF
#
# Each file is tested by its own crate's tests (the storage crate: ~1 min a mutant here).
set -euo pipefail
cd "$(dirname "$0")/.."

command -v cargo-mutants >/dev/null || cargo install cargo-mutants --locked --quiet

# (package, files) pairs; the state machines are pure, so their unit tests and models judge them.
storage=(storage/src/flush.rs storage/src/log/append.rs storage/src/recovery.rs
  storage/src/open.rs storage/src/segment/load.rs storage/src/producer_state.rs)
broker=(broker/src/txn/machine.rs broker/src/group/membership.rs broker/src/group/group.rs)

diff_args=()
if [ "${1:-}" = "--in-diff" ]; then
  diff_file=$(mktemp)
  git diff "${2:?--in-diff needs a git ref}" -- "${storage[@]}" "${broker[@]}" >"$diff_file"
  [ -s "$diff_file" ] || { echo "mutants: no listed file changed since $2"; exit 0; }
  diff_args=(--in-diff "$diff_file")
fi

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}/mutants"
status=0
run() {
  local package="$1"; shift
  local files=()
  for f in "$@"; do files+=(-f "$f"); done
  cargo mutants -p "$package" --test-package "$package" "${files[@]}" "${diff_args[@]}" \
    --timeout 300 --output "target/mutants-$package" || status=$?
}
run wren-storage "${storage[@]}"
run wren-broker "${broker[@]}"
exit "$status"
