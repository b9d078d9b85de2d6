#!/usr/bin/env bash
# Mutation testing (cargo-mutants) of the code whose tests must notice a broken promise: the
# storage crate and the two coordinators' state machines. Every surviving mutant is killed by a
# new test or explained in docs/testing.md ("Mutation testing"), where the scores are.
#
#   scripts/mutants.sh                  every listed file, whole (hours on a 2-core machine)
#   scripts/mutants.sh FILE...          those files (each judged by its own crate's tests)
#   scripts/mutants.sh --in-diff [REF]  only mutants on lines of listed files changed since REF
#                                       (default: the merge base with origin/main, else main);
#                                       what scripts/test.sh runs. No change: a no-op.
#
# Environment: WREN_MUTANTS_BUDGET_SECS (default 600) bounds an --in-diff run; when it runs out
# the untested mutants are reported and the run passes (the budget is CI's, not a verdict).
# WREN_MUTANTS_INSTALL_SECS (default 900) bounds installing cargo-mutants when it is missing;
# an install that fails or runs out skips the step with the reason.
# Exit: 0 all caught (a timeout counts: a hanging test noticed the mutant), 2 a mutant missed.
set -euo pipefail
cd "$(dirname "$0")/.."

MUTANTS_VERSION=27.1.0
# The durability path and the producer/transaction state of the storage crate (test support
# and the recording file backend are not product code), and the coordinators' pure state
# machines, which their unit tests and models judge.
listed() {
  git ls-files 'storage/src/*.rs' | grep -v -e '^storage/src/testing' -e '^storage/src/io/sim.rs'
  echo broker/src/txn/machine.rs
  echo broker/src/group/membership.rs
  echo broker/src/group/group.rs
}
# Storage's tests minus footprint.rs (2,000 logs for a disk/memory budget: 13 s a run, and it
# judges no logic). The broker's state machines: its library tests (no sockets).
storage_tests=(--lib --test crash --test disk_full --test flush_policy --test log_api
  --test log_start --test model --test power_loss --test retention --test sealed_damage --test txn)
broker_tests=(--lib)

in_diff=()
budget=""
files=()
if [ "${1:-}" = "--in-diff" ]; then
  base="${2:-}"
  if [ -z "$base" ]; then
    for ref in origin/main main; do
      if git rev-parse -q --verify "$ref^{commit}" >/dev/null; then
        base=$(git merge-base HEAD "$ref")
        break
      fi
    done
  fi
  [ -n "$base" ] || { echo "mutants: skipped: no origin/main or main to diff against"; exit 0; }
  diff_file="target/mutants.diff"
  mkdir -p target
  mapfile -t all < <(listed)
  git diff "$base" -- "${all[@]}" >"$diff_file"
  if [ ! -s "$diff_file" ]; then
    echo "mutants: no listed file changed since ${base:0:12}: nothing to test"
    exit 0
  fi
  mapfile -t files < <(git diff --name-only "$base" -- "${all[@]}")
  in_diff=(--in-diff "$diff_file")
  budget="${WREN_MUTANTS_BUDGET_SECS:-600}"
elif [ $# -gt 0 ]; then
  files=("$@")
else
  mapfile -t files < <(listed)
fi

if ! command -v cargo-mutants >/dev/null; then
  secs="${WREN_MUTANTS_INSTALL_SECS:-900}"
  echo "mutants: installing cargo-mutants $MUTANTS_VERSION (at most ${secs}s)"
  if ! timeout "$secs" cargo install cargo-mutants --version "$MUTANTS_VERSION" --locked --quiet; then
    echo "mutants: skipped: installing cargo-mutants failed or took over ${secs}s" \
      "(install it once: cargo install cargo-mutants --locked)"
    exit 0
  fi
fi

deadline=$((SECONDS + ${budget:-0}))
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}/mutants"
status=0
run() {
  local package="$1"; shift
  local tests_var="$1"; shift
  local -n tests="$tests_var"
  local args=()
  for f in "$@"; do args+=(-f "$f"); done
  [ ${#args[@]} -gt 0 ] || return 0
  local cmd=(cargo mutants -p "$package" --test-package "$package" "${args[@]}" "${in_diff[@]}"
    -j 1 --timeout 300 --output "target/mutants-$package" -- "${tests[@]}")
  local rc=0
  if [ -n "$budget" ]; then
    local left=$((deadline - SECONDS))
    [ "$left" -gt 0 ] || { echo "mutants: $package: no budget left; untested: $*"; return 0; }
    timeout "$left" "${cmd[@]}" || rc=$?
  else
    "${cmd[@]}" || rc=$?
  fi
  case "$rc" in
    0) ;;
    3) echo "mutants: $package: a test timed out under a mutant (counted as caught)" ;;
    124) echo "mutants: $package: the ${budget}s budget ran out; untested mutants remain" \
      "(run: scripts/mutants.sh $*)" ;;
    *) status=$rc ;;
  esac
}
storage_files=()
broker_files=()
for f in "${files[@]}"; do
  case "$f" in
    storage/*) storage_files+=("$f") ;;
    broker/*) broker_files+=("$f") ;;
    *) echo "mutants: $f is not in the storage or broker crate" >&2; exit 1 ;;
  esac
done
run wren-storage storage_tests "${storage_files[@]}"
run wren-broker broker_tests "${broker_files[@]}"
exit "$status"
