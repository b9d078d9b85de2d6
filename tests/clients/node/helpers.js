'use strict'
// Shared helpers for the kafkajs tests: start/stop/restart the Wren binary, register the
// compression codecs kafkajs does not ship, deterministic test records.

const assert = require('node:assert/strict')
const { spawn } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const readline = require('node:readline')
const crypto = require('node:crypto')

const { CompressionTypes, CompressionCodecs } = require('kafkajs')

const REPO = path.resolve(__dirname, '..', '..', '..')
const WREN_BIN = process.env.WREN_BIN || path.join(REPO, 'target', 'debug', 'wren')
const START_TIMEOUT_MS = Number(process.env.WREN_START_TIMEOUT || 30) * 1000
const STOP_TIMEOUT_MS = Number(process.env.WREN_STOP_TIMEOUT || 30) * 1000
const LISTEN_RE = /^wren listening on ([^\s:]+|\[[^\]]+\]):(\d+)$/
const BROKER_RE = /^wren broker (\d+) listening on (\S+)$/

// The harness's own WREN_* variables.  Wren reads every other WREN_<KEY> variable as a broker
// config key (and rejects unknown keys), so these are not passed on to the broker.
const HARNESS_VARS = new Set(['WREN_BIN', 'WREN_SKIP_BUILD', 'WREN_CLIENT_SUITES', 'WREN_TEST_RECORDS',
  'WREN_START_TIMEOUT', 'WREN_STOP_TIMEOUT', 'WREN_TEST_EXTERNAL_BOOTSTRAP'])
function brokerEnv() {
  const env = { RUST_BACKTRACE: '1' }
  for (const [k, v] of Object.entries(process.env)) if (!HARNESS_VARS.has(k)) env[k] = v
  return env
}

const N_RECORDS = Number(process.env.WREN_TEST_RECORDS || 10000)
const PARTITIONS = 3
const STEP_MS = 10

// ---- codecs -------------------------------------------------------------------------------
// kafkajs ships only gzip.  snappy: kafkajs-snappy (pure JS, handles xerial framing on read).
// lz4: lz4js (pure JS LZ4 *frame* format, which is what Kafka uses; kafkajs-lz4 needs a native
// node-gyp build).  zstd: @mongodb-js/zstd 1.x, a napi-rs binding whose prebuilt binary ships
// as an npm package (no compiler or download from outside the registry needed).
function registerCodecs() {
  CompressionCodecs[CompressionTypes.Snappy] = require('kafkajs-snappy')
  const lz4 = require('lz4js')
  CompressionCodecs[CompressionTypes.LZ4] = () => ({
    async compress(encoder) {
      return Buffer.from(lz4.compress(encoder.buffer))
    },
    async decompress(buffer) {
      return Buffer.from(lz4.decompress(buffer))
    },
  })
  const zstd = require('@mongodb-js/zstd')
  CompressionCodecs[CompressionTypes.ZSTD] = () => ({
    async compress(encoder) {
      return zstd.compress(encoder.buffer, 3)
    },
    async decompress(buffer) {
      return zstd.decompress(buffer)
    },
  })
}

const CODECS = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
  zstd: CompressionTypes.ZSTD,
}

// ---- broker process ---------------------------------------------------------------------
// Brokers still running when this process exits (test timeout, crash) are killed.
const running = new Set()
process.on('exit', () => { for (const p of running) try { p.kill('SIGKILL') } catch (_) {} })

class WrenBroker {
  /** `extraArgs`: more wren flags, e.g. the test-only fault hook, or `--brokers 3`. */
  constructor(extraArgs = []) {
    this.extraArgs = extraArgs
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wren-kafkajs-'))
    this.dataDir = path.join(this.dir, 'data')
    fs.mkdirSync(this.dataDir)
    this.proc = null
    this.bootstrap = null
    this.starts = 0
  }

  async start() {
    if (!fs.existsSync(WREN_BIN)) throw new Error(`Wren binary not found at ${WREN_BIN} (build it or set WREN_BIN)`)
    this.starts += 1
    const stderrPath = path.join(this.dir, `wren-${this.starts}.stderr.log`)
    const stderr = fs.openSync(stderrPath, 'w')
    const proc = spawn(WREN_BIN, ['--listen', '127.0.0.1:0', '--data-dir', this.dataDir, ...this.extraArgs], {
      stdio: ['ignore', 'pipe', stderr],
      env: brokerEnv(),
    })
    fs.closeSync(stderr)
    this.proc = proc
    running.add(proc)
    this.exit = new Promise(resolve => proc.on('exit', (code, signal) => { running.delete(proc); resolve({ code, signal }) }))
    const rl = readline.createInterface({ input: proc.stdout })
    // The ready line (the first broker) comes first; with --brokers N, one line per broker follows.
    const first = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS)
      // The first line that is not a broker line (the contract put the broker lines first once).
      const onLine = line => {
        if (BROKER_RE.test(line)) return
        rl.off('line', onLine)
        clearTimeout(timer)
        resolve(line)
      }
      rl.on('line', onLine)
      this.exit.then(({ code, signal }) => {
        clearTimeout(timer)
        reject(new Error(`wren exited (code ${code}, signal ${signal}) before its listening line`))
      })
    })
    const at = this.extraArgs.indexOf('--brokers')
    const wantBrokers = at >= 0 ? Number(this.extraArgs[at + 1]) : 1
    const brokers = {}
    const brokerLines = new Promise((resolve, reject) => {
      if (wantBrokers <= 1) return resolve()
      const timer = setTimeout(() => reject(new Error(`not ${wantBrokers} broker lines`)), START_TIMEOUT_MS)
      rl.on('line', line => {
        const b = BROKER_RE.exec(line)
        if (b && Object.keys(brokers).length < wantBrokers) brokers[Number(b[1])] = b[2]
        if (b && Object.keys(brokers).length === wantBrokers) { clearTimeout(timer); resolve() }
      })
    })
    // The control line follows the listening (and broker) lines when --control was given.
    const wantControl = this.extraArgs.includes('--control')
    const controlLine = new Promise((resolve, reject) => {
      if (!wantControl) return resolve(null)
      const timer = setTimeout(() => reject(new Error('no control line')), START_TIMEOUT_MS)
      rl.on('line', line => {
        const c = /^wren control on (\S+)$/.exec(line)
        if (c) { clearTimeout(timer); resolve(`http://${c[1]}`) }
      })
    })
    rl.on('line', () => {}) // keep draining stdout
    let line
    try {
      line = await first
    } catch (e) {
      proc.kill('SIGKILL')
      throw new Error(`${e.message}\n${this.logs()}`)
    }
    const m = LISTEN_RE.exec(line)
    if (!m) {
      proc.kill('SIGKILL')
      throw new Error(`unexpected first stdout line from wren: ${JSON.stringify(line)}`)
    }
    this.bootstrap = `${m[1]}:${m[2]}`
    await brokerLines
    /** Broker id -> HOST:PORT (one entry for a single broker). */
    this.brokers = wantBrokers > 1 ? brokers : { 1: this.bootstrap }
    /** http://HOST:PORT of the control listener, when started with --control. */
    this.control = await controlLine
    return this
  }

  /** SIGTERM and wait; resolves to the exit code (null if killed by a signal). */
  async stop() {
    if (!this.proc) return 0
    const proc = this.proc
    this.proc = null
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM')
    let timer
    const timeout = new Promise(resolve => { timer = setTimeout(() => resolve(null), STOP_TIMEOUT_MS) })
    const res = await Promise.race([this.exit, timeout])
    clearTimeout(timer)
    if (res === null) {
      proc.kill('SIGKILL')
      throw new Error(`wren did not exit within ${STOP_TIMEOUT_MS} ms of SIGTERM\n${this.logs()}`)
    }
    return res.code
  }

  async restart() {
    const code = await this.stop()
    if (code !== 0) throw new Error(`wren exited with ${code} after SIGTERM (expected 0)\n${this.logs()}`)
    return this.start()
  }

  logs() {
    return fs.readdirSync(this.dir).filter(f => f.endsWith('.log')).sort()
      .map(f => `----- ${f} -----\n${fs.readFileSync(path.join(this.dir, f), 'utf8').replace(/\x1b\[[0-9;]*m/g, '').slice(-6000)}`).join('\n')
  }

  /** Every log line the broker wrote so far (logs() keeps only the tail, for error messages). */
  fullLogs() {
    return fs.readdirSync(this.dir).filter(f => f.endsWith('.log')).sort()
      .map(f => fs.readFileSync(path.join(this.dir, f), 'utf8')).join('\n')
  }

  cleanup() {
    fs.rmSync(this.dir, { recursive: true, force: true })
  }
}

// ---- records ----------------------------------------------------------------------------
function baseTimestamp() {
  return Math.floor((Date.now() - 3600000) / 1000) * 1000
}

/** record i -> partition i % P at offset floor(i / P); strictly increasing timestamps. */
function makeRecords(codec, baseTs, n = N_RECORDS, partitions = PARTITIONS) {
  const recs = []
  for (let i = 0; i < n; i++) {
    let value = null // every 1000th record is a tombstone (null value)
    if (i % 1000 !== 999) {
      const digest = crypto.createHash('sha256').update(`${codec}:${i}`).digest('hex')
      value = Buffer.concat([Buffer.from(`value-${i}|` + digest.repeat(1 + (i % 4))), Buffer.from([i % 256, (i * 7) % 256])])
    }
    recs.push({
      i,
      partition: i % partitions,
      offset: Math.floor(i / partitions),
      key: Buffer.from(`key-${String(i).padStart(6, '0')}`),
      value,
      headers: [['h-index', String(i)], ['h-codec', codec]],
      timestamp: baseTs + i * STEP_MS,
    })
  }
  return recs
}

function endOffsets(recs, partitions = PARTITIONS) {
  const ends = Array(partitions).fill(0)
  for (const r of recs) ends[r.partition] = Math.max(ends[r.partition], r.offset + 1)
  return ends
}

/** Kafka's ListOffsets by timestamp: earliest offset with timestamp >= target, else null. */
function offsetForTime(recs, partition, target) {
  let best = null
  for (const r of recs) if (r.partition === partition && r.timestamp >= target && (best === null || r.offset < best)) best = r.offset
  return best
}

function middleTarget(baseTs, n) {
  return baseTs + Math.floor(n / 2) * STEP_MS - STEP_MS / 2
}

/** Comparable form of one record: [partition, offset, key, value, headers, timestamp]. */
function canon(partition, offset, key, value, headers, timestamp) {
  return [
    Number(partition),
    Number(offset),
    key === null || key === undefined ? null : Buffer.from(key).toString('latin1'),
    value === null || value === undefined ? null : Buffer.from(value).toString('latin1'),
    headers,
    String(timestamp),
  ]
}

function expectedByPartition(recs, partitions = PARTITIONS) {
  const out = Array.from({ length: partitions }, () => [])
  for (const r of recs) out[r.partition].push(canon(r.partition, r.offset, r.key, r.value, r.headers, r.timestamp))
  return out
}

function uniqueTopic(prefix) {
  return `${prefix}-${crypto.randomBytes(5).toString('hex')}`
}

function withTimeout(promise, ms, what) {
  let timer
  return Promise.race([
    promise,
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms) }),
  ]).finally(() => clearTimeout(timer))
}

/** Runs `fn` against a fresh broker; a failure carries the broker's logs, and the broker must
 * exit cleanly on SIGTERM afterwards. */
async function withBroker(fn) {
  const broker = new WrenBroker()
  await broker.start()
  let code
  try {
    await fn(broker)
  } catch (e) {
    e.message += `\n${broker.logs()}`
    throw e
  } finally {
    code = await broker.stop()
  }
  assert.equal(code, 0, `wren exit status after SIGTERM\n${broker.logs()}`)
  broker.cleanup()
}

module.exports = {
  CODECS, N_RECORDS, PARTITIONS, WrenBroker, registerCodecs, baseTimestamp, makeRecords, endOffsets,
  offsetForTime, middleTarget, canon, expectedByPartition, uniqueTopic, withTimeout, withBroker,
}
