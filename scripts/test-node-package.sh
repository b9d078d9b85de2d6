#!/usr/bin/env bash
# The wren-broker npm package (node/) as a user gets it: `npm pack` (prepack copies $WREN_BIN
# into the tarball, stripped), install the tarball and kafkajs (pinned as in tests/clients/node)
# into a fresh project, run examples/node-test.test.js and test/control.test.js with node --test,
# then the Jest and Vitest examples (pinned; WREN_PACKAGE_EXAMPLES, default "jest vitest").
# Usage: WREN_BIN=path/to/wren scripts/test-node-package.sh WORKDIR
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${1:?usage: test-node-package.sh WORKDIR}"
: "${WREN_BIN:?set WREN_BIN to the wren binary to pack}"
log() { printf '\n==> %s\n' "$*" >&2; }
KAFKAJS="$(node -p "require('$REPO/tests/clients/node/package.json').dependencies.kafkajs")"
NPM=(npm --no-audit --no-fund --loglevel=error)

mkdir -p "$WORK/project"
strip -o "$WORK/wren" "$WREN_BIN"
log "node: npm pack (bin/wren <- $WREN_BIN, stripped)"
(cd "$REPO/node" && WREN_BIN="$WORK/wren" "${NPM[@]}" pack --pack-destination "$WORK" >/dev/null)
TARBALL="$(ls "$WORK"/wren-broker-*.tgz)"
tar -tzf "$TARBALL" | grep -x 'package/bin/wren' >/dev/null || { echo "tarball has no bin/wren" >&2; exit 1; }

log "node: install the tarball and kafkajs@$KAFKAJS into a fresh project"
cd "$WORK/project"
echo '{"name":"wren-package-check","private":true,"version":"0.0.0"}' > package.json
timeout 600 "${NPM[@]}" install "$TARBALL" "kafkajs@$KAFKAJS"
cp "$REPO/node/examples/node-test.test.js" "$REPO/node/test/control.test.js" .
# The package must find its own binary.
log "node: node --test (kafkajs example, control helpers)"
env -u WREN_BIN timeout 300 node --test --test-timeout=120000 node-test.test.js control.test.js

for runner in ${WREN_PACKAGE_EXAMPLES-jest vitest}; do
  case "$runner" in
    jest)
      timeout 600 "${NPM[@]}" install -D -E jest@30.5.2
      cp "$REPO/node/examples/jest.test.js" .
      env -u WREN_BIN timeout 300 npx jest jest.test.js ;;
    vitest)
      timeout 600 "${NPM[@]}" install -D -E vite@8.3.8 vitest@4.1.12
      cp "$REPO/node/examples/vitest.test.mjs" .
      env -u WREN_BIN timeout 300 npx vitest run vitest.test.mjs ;;
    *) echo "unknown example runner: $runner" >&2; exit 2 ;;
  esac
done
