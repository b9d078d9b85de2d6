#!/usr/bin/env bash
# Runs librdkafka's own test suite (the tests that ship in the rdkafka-sys crate's librdkafka tree)
# against a fresh Wren broker: exactly the tests listed in tests/librdkafka/allow-list.txt, each in
# its own test-runner process with a time limit. Fails if any listed test fails, times out, or
# does not run at all.
#
#   WREN_BIN        broker binary (default: target/debug/wren)
#   TESTS_ONLY      run only these allow-list numbers (comma or space separated), for debugging
#   ALLOW_LIST      allow-list file (default: tests/librdkafka/allow-list.txt)
#   TEST_TIMEOUT    default per-test limit in seconds (default 120); a line may set timeout=N
#   TEST_KAFKA_VERSION  broker version the runner gates tests by (default 4.0.0, see allow-list)
#   RUNNER_ARGS     extra test-runner flags (e.g. -Q; not by default: quick mode skips most sub-tests)
#   SUITE_JOBS      test-runner processes at once (default 3)
#   KEEP_GOING=0    start no further tests once one has failed
# Logs: $LOG_DIR, default target/librdkafka-suite/ (wren.log and one <test>.log per test).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$PWD"
WREN_BIN="${WREN_BIN:-$REPO/target/debug/wren}"
ALLOW_LIST="${ALLOW_LIST:-$REPO/tests/librdkafka/allow-list.txt}"
TEST_TIMEOUT="${TEST_TIMEOUT:-120}"
RUNNER_ARGS="${RUNNER_ARGS:-}"
# Wren implements the Kafka 4.0 protocol baseline (KIP-896: Produce v3+, Fetch v4+, MsgVersion 2
# only), so the runner must not exercise the pre-4.0 code paths (MsgVersion 0/1, api.version
# fallbacks) that a 4.0 broker rejects.
export TEST_KAFKA_VERSION="${TEST_KAFKA_VERSION:-4.0.0}"
LOG_DIR="${LOG_DIR:-$REPO/target/librdkafka-suite}"
say() { echo "librdkafka-suite: $*"; }

[ -x "$WREN_BIN" ] || { say "no broker binary at $WREN_BIN (cargo build --bin wren)"; exit 1; }
[ -f "$ALLOW_LIST" ] || { say "no allow-list at $ALLOW_LIST"; exit 1; }

# Build (or reuse) librdkafka and the test runner.
eval "$(scripts/build-librdkafka.sh | grep -E '^(LIBRDKAFKA_DIR|TEST_RUNNER|LD_LIBRARY_PATH)=')"
TESTS_DIR="$LIBRDKAFKA_DIR/tests"
# The tree's own libraries, never a system librdkafka.
export LD_LIBRARY_PATH

rm -rf "$LOG_DIR"
mkdir -p "$LOG_DIR"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/wren-librdkafka.XXXXXX")
WREN_PID=""
cleanup() {
  if [ -n "$WREN_PID" ] && kill -0 "$WREN_PID" 2>/dev/null; then
    kill -TERM "$WREN_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$WREN_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$WREN_PID" 2>/dev/null || true
    wait "$WREN_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- start Wren on a random port --------------------------------------------------------------
mkdir -p "$WORK/data"
# WREN_BIN is this script's variable, not a broker setting (wren reads WREN_* as config keys).
env -u WREN_BIN "$WREN_BIN" --config "$REPO/tests/librdkafka/server.properties" \
  --listen 127.0.0.1:0 --data-dir "$WORK/data" >"$LOG_DIR/wren.log" 2>&1 &
WREN_PID=$!
BOOTSTRAP=""
for _ in $(seq 300); do
  BOOTSTRAP=$(sed -n 's/.*wren listening on \([0-9.]*:[0-9]*\).*/\1/p' "$LOG_DIR/wren.log" | head -n1)
  [ -n "$BOOTSTRAP" ] && break
  kill -0 "$WREN_PID" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$BOOTSTRAP" ]; then
  say "wren did not report its listening address; its log:"
  tail -n 40 "$LOG_DIR/wren.log"
  exit 1
fi
say "wren (pid $WREN_PID) listening on $BOOTSTRAP; librdkafka runner $TEST_RUNNER; TEST_KAFKA_VERSION=$TEST_KAFKA_VERSION"

sed "s/@BOOTSTRAP@/$BOOTSTRAP/g" "$REPO/tests/librdkafka/test.conf.in" >"$WORK/test.conf"
export RDKAFKA_TEST_CONF="$WORK/test.conf"
export RDKAFKA_GITVER="librdkafka-suite"
# Same behaviour locally and in CI: the runner changes timeouts when CI is set.
unset CI

# --- run the allow-listed tests ---------------------------------------------------------------
# Up to SUITE_JOBS test-runner processes at once (default 3). The tests use random topic and group
# names, so they do not see each other; most of their time is spent in timers (linger, session
# timeouts, rebalance delays), not on the CPU.
SUITE_JOBS="${SUITE_JOBS:-3}"

# run_test NUM LABEL LIMIT RUNNER-FLAGS...: one test-runner process for the tests numbered NUM.
# Prints a PASS/FAIL block and leaves "pass" or "fail <why>" in $LOG_DIR/LABEL.status.
run_test() {
  local num="$1" label="$2" limit="$3"; shift 3
  local log="$LOG_DIR/$label.log" t0 dt rc=0 summary n_pass n_bad why out
  if ! kill -0 "$WREN_PID" 2>/dev/null; then
    echo "fail broker down" >"$LOG_DIR/$label.status"
    say "FAIL $label: wren is not running; its log ends with:"; tail -n 20 "$LOG_DIR/wren.log"
    return
  fi
  t0=$(date +%s)
  (cd "$TESTS_DIR" && TESTS="$num" TEST_LEVEL="${TEST_LEVEL:-2}" \
    exec timeout -k 10 "$limit" ./test-runner -p1 "$@" $RUNNER_ARGS) </dev/null >"$log" 2>&1 || rc=$?
  dt=$(( $(date +%s) - t0 ))
  # Per-test result lines of the runner's summary table, colours stripped.
  summary=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -E "^\| +$num[_-][^|]*\| +[A-Z]+ " || true)
  n_pass=$(grep -c ' PASSED ' <<<"$summary" || true)
  n_bad=$(grep -vc -E ' (PASSED|SKIPPED) ' <<<"$summary" || true)
  [ -z "$summary" ] && n_bad=0
  if [ "$rc" -eq 0 ] && [ "$n_pass" -gt 0 ] && [ "$n_bad" -eq 0 ]; then
    echo pass >"$LOG_DIR/$label.status"
    say "PASS $label (${dt}s) $(awk '{printf "%s:%s ", $2, $4}' <<<"$summary")"
    return
  fi
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then why="timed out after ${limit}s"
  elif [ "$n_pass" -eq 0 ] && [ "$rc" -eq 0 ]; then why="no test ran (all skipped?)"
  else why="exit code $rc"; fi
  echo "fail $why" >"$LOG_DIR/$label.status"
  out="librdkafka-suite: FAIL $label (${dt}s): $why; log $log"
  [ -n "$summary" ] && out+=$'\n'"$(sed 's/^/    /' <<<"$summary")"
  # The runner's failure reports: a "### Test ... failed at ..." line, then the reason.
  out+=$'\n'"$(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -A2 '^### Test' |
    grep -v -e '^--' -e 'thread(s) still' | head -n 12 | cut -c1-400 | sed 's/^/    | /' || true)"
  printf '%s\n' "$out"
}

only=" $(echo "${TESTS_ONLY:-}" | tr ',' ' ') "
labels=(); pids=()
suite_start=$(date +%s)
while IFS= read -r line || [ -n "$line" ]; do
  line="${line%%#*}"
  read -r num opts <<<"$line" || true
  [ -z "${num:-}" ] && continue
  [[ "$num" =~ ^[0-9]{4}$ ]] || { say "bad allow-list line: $line"; exit 1; }
  [ -n "${TESTS_ONLY:-}" ] && [[ "$only" != *" $num "* ]] && continue
  # Default: only the test's broker variants (-L skips its local/mock-cluster variants).
  mode_flag="-L"; limit="$TEST_TIMEOUT"; idempotent=0
  for o in ${opts:-}; do
    case "$o" in
      local) mode_flag="-l" ;;
      all) mode_flag="" ;;
      idempotent) idempotent=1 ;;
      timeout=*) limit="${o#timeout=}" ;;
      *) say "bad option '$o' for $num in the allow-list"; exit 1 ;;
    esac
  done
  runs=("$num")
  # A second run with enable.idempotence=true for every producer (-P): InitProducerId and
  # producer ids/sequence numbers in the batches.
  [ "$idempotent" = 1 ] && runs+=("$num-idempotent")
  for label in "${runs[@]}"; do
    if [ "${KEEP_GOING:-1}" = 0 ] && grep -qs '^fail' "$LOG_DIR"/*.status; then break 2; fi
    # Wait for a free slot (wren itself is a background job too, so count our own pids).
    while :; do
      live=()
      for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && live+=("$pid"); done
      pids=("${live[@]}")
      [ "${#pids[@]}" -lt "$SUITE_JOBS" ] && break
      sleep 0.2
    done
    labels+=("$label")
    if [ "$label" = "$num" ]; then run_test "$num" "$label" "$limit" $mode_flag &
    else run_test "$num" "$label" "$limit" $mode_flag -P & fi
    pids+=("$!")
  done
done <"$ALLOW_LIST"
for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done

passed=0; failed=0; failures=()
for label in "${labels[@]}"; do
  status=$(cat "$LOG_DIR/$label.status" 2>/dev/null || echo "fail no result")
  if [ "$status" = pass ]; then passed=$((passed + 1))
  else failed=$((failed + 1)); failures+=("$label (${status#fail })"); fi
done

if ! kill -0 "$WREN_PID" 2>/dev/null; then
  say "wren exited during the suite; its log ends with:"; tail -n 20 "$LOG_DIR/wren.log"
  failed=$((failed + 1)); failures+=("wren exited")
fi
say "done in $(( $(date +%s) - suite_start ))s; logs in $LOG_DIR"
[ ${#failures[@]} -gt 0 ] && say "failed: ${failures[*]}"
echo "librdkafka: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
