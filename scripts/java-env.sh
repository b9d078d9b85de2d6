# Sourced by scripts/test-kafka.sh and scripts/test-java.sh (with REPO set and the repo as the
# working directory): java 17 and maven via apt-get when missing, WREN_BIN (built when missing),
# and VENV, <repo>/.venv with the pytest pins of tests/clients/python.
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
