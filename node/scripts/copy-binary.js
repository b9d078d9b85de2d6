'use strict'
// prepack: copy the wren binary for this platform into bin/ ($WREN_BIN, else the repo's release
// build, else its debug build), so the tarball carries it.
const fs = require('node:fs')
const path = require('node:path')

const repo = path.resolve(__dirname, '..', '..')
const target = process.env.CARGO_TARGET_DIR || path.join(repo, 'target')
const candidates = process.env.WREN_BIN
  ? [process.env.WREN_BIN]
  : [path.join(target, 'release', 'wren'), path.join(target, 'debug', 'wren')]
const from = candidates.find((p) => fs.existsSync(p))
if (!from) {
  console.error(`wren-broker prepack: no wren binary at ${candidates.join(' or ')}; run cargo build --release --bin wren or set WREN_BIN`)
  process.exit(1)
}
const dest = path.join(__dirname, '..', 'bin', 'wren')
fs.mkdirSync(path.dirname(dest), { recursive: true })
fs.copyFileSync(from, dest)
fs.chmodSync(dest, 0o755)
console.error(`wren-broker prepack: bin/wren <- ${from}`)
