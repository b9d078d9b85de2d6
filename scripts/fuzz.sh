#!/usr/bin/env bash
# Builds and runs every cargo-fuzz target (fuzz/fuzz_targets/) for SECONDS each (default 60),
# starting from the checked-in seeds (fuzz/seeds/<target>/) with a fixed seed (FUZZ_SEED,
# default 1). Fails if any target crashes; the crashing input is left in
# fuzz/artifacts/<target>/ (reproduce: cargo fuzz run <target> <file>).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(request_dispatch record_batch storage_recovery server_properties)
fi

# cargo-fuzz passes nightly-only flags (-Zsanitizer). Use an installed nightly, else install a
# minimal one; where that is not possible, stable with RUSTC_BOOTSTRAP=1 (stable ships the
# sanitizer runtimes, and the flags are the same).
toolchain=()
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  toolchain=(+nightly)
elif rustup toolchain install nightly --profile minimal >/dev/null 2>&1; then
  toolchain=(+nightly)
else
  echo "no nightly toolchain: using stable with RUSTC_BOOTSTRAP=1"
  export RUSTC_BOOTSTRAP=1
fi
if ! command -v cargo-fuzz >/dev/null; then
  echo "installing cargo-fuzz"
  cargo install cargo-fuzz --locked --quiet
fi

# A separate target dir: fuzz builds use other compiler flags than the workspace's.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}/fuzz"
cd fuzz
# -a: debug assertions and overflow checks on, so a wrapped length is a crash, not a silent bug.
cargo "${toolchain[@]}" fuzz build -a

failed=()
for target in "${targets[@]}"; do
  echo "== fuzz $target for ${seconds}s"
  # New inputs go to a scratch corpus; the checked-in seeds are only read.
  corpus="$CARGO_TARGET_DIR/corpus/$target"
  mkdir -p "$corpus" "artifacts/$target"
  # -rss_limit_mb: a fuzz input may not make the broker hold more than this.
  log="$CARGO_TARGET_DIR/fuzz-$target.log"
  if cargo "${toolchain[@]}" fuzz run -a "$target" "$corpus" "seeds/$target" -- \
      -max_total_time="$seconds" -seed="${FUZZ_SEED:-1}" -rss_limit_mb=2048 -timeout=30 \
      -print_final_stats=1 \
      >"$log" 2>&1; then
    grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)' "$log" || tail -n 5 "$log"
  else
    # The panic message and the crashing input first: CI shows only the end of the output.
    tail -n 40 "$log"
    grep -E -A12 "panicked at|ERROR: (AddressSanitizer|libFuzzer)" "$log" | head -n 40 || true
    for input in "artifacts/$target"/*; do
      # Small inputs are printed whole, so a CI log alone reproduces the crash.
      if [ -f "$input" ] && [ "$(stat -c %s "$input")" -le 4096 ]; then
        echo "crashing input $input (base64): $(base64 -w0 "$input")"
      fi
    done
    failed+=("$target")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz targets that crashed: ${failed[*]} (inputs in fuzz/artifacts/)"
  exit 1
fi
echo "fuzz: ${#targets[@]} targets ran ${seconds}s each without a crash"
