#!/usr/bin/env bash
# franz-go (kgo, kadm) against Wren: the Go module under tests/go, pinned in tests/go/go.mod and
# go.sum. Each test starts its own Wren ($WREN_BIN) on port 0 and stops it.
# Modules are cached in <repo>/target/go (GOMODCACHE, GOPATH), so a machine fetches them once;
# needs Go 1.26 (franz-go v1.22's go.mod asks for it), on the PATH or at /usr/local/go/bin.
#
# Usage: scripts/test-go.sh [extra go test args, e.g. -run Transactions]
# Environment: WREN_BIN (default <repo>/target/debug/wren, built when missing)
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

command -v go >/dev/null || export PATH="$PATH:/usr/local/go/bin"
command -v go >/dev/null || { echo "test-go: no Go toolchain (install Go 1.26+)" >&2; exit 1; }

export WREN_BIN="${WREN_BIN:-$REPO/target/debug/wren}"
[[ -x "$WREN_BIN" ]] || cargo build --bin wren

export GOPATH="$REPO/target/go" GOMODCACHE="$REPO/target/go/mod" GOFLAGS="-modcacherw -mod=readonly"
export GOTOOLCHAIN=local # use the installed toolchain, never download another one
cd tests/go
go vet ./...
exec timeout 600 go test -count=1 -timeout 300s -v "$@" ./...
