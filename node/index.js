'use strict'
// startWren(): run the wren binary this package carries and resolve once it accepts connections.

const { spawn, execFileSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const readline = require('node:readline')

const { Control, ControlError } = require('./control')

const LISTEN_RE = /^wren listening on (\S+)$/
const CONTROL_RE = /^wren control on (\S+)$/
const BROKER_RE = /^wren broker (\d+) listening on (\S+)$/
const START_TIMEOUT_MS = 30000
const STOP_TIMEOUT_MS = 30000

/** The binary: $WREN_BIN, else the one in this package (bin/wren). */
function binaryPath() {
  if (process.env.WREN_BIN) return process.env.WREN_BIN
  const own = path.join(__dirname, 'bin', 'wren')
  if (fs.existsSync(own)) return own
  throw new Error('wren-broker: no wren binary in this package (bin/wren); set WREN_BIN')
}

const controlSupport = new Map()
/** Whether this binary has the HTTP control listener (`--control`). */
function supportsControl(binary = binaryPath()) {
  if (!controlSupport.has(binary)) {
    const help = execFileSync(binary, ['--help'], { encoding: 'utf8' })
    controlSupport.set(binary, help.includes('--control'))
  }
  return controlSupport.get(binary)
}

/** `{numPartitions: 3}` or `{'num.partitions': 3}` -> WREN_NUM_PARTITIONS=3 (Kafka key names). */
function configEnv(config) {
  const env = {}
  for (const [key, value] of Object.entries(config || {})) {
    const name = key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/\./g, '_').toUpperCase()
    env[`WREN_${name}`] = String(value)
  }
  return env
}

/**
 * Start a broker. options: config (broker keys), listen (default 127.0.0.1:0), dataDir (default:
 * a temporary directory removed at stop), control (default: when the binary has it), binary,
 * brokers (a simulated cluster of N brokers in the one process).
 * Resolves to { bootstrapServers, brokers (id -> HOST:PORT), control, stop(), process }.
 */
async function startWren(options = {}) {
  const binary = options.binary || binaryPath()
  const hasControl = supportsControl(binary)
  if (options.control && !hasControl) throw new Error(`${binary} has no control listener (--control)`)
  const withControl = options.control === undefined ? hasControl : Boolean(options.control)
  // Only the asked-for config reaches the broker: WREN_* of this process are dropped (not WREN_LOG).
  const env = {}
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('WREN_') || k === 'WREN_LOG') env[k] = v
  Object.assign(env, configEnv(options.config))
  const args = ['--listen', options.listen || '127.0.0.1:0']
  args.push(...(options.dataDir ? ['--data-dir', options.dataDir] : ['--ephemeral']))
  if (withControl) args.push('--control', '127.0.0.1:0')
  if (options.brokers && options.brokers !== 1) args.push('--brokers', String(options.brokers))

  const child = spawn(binary, args, { env, stdio: ['ignore', 'pipe', 'pipe'] })
  // A test process that exits without stop() takes its broker with it.
  const killOnExit = () => child.kill('SIGKILL')
  process.once('exit', killOnExit)
  child.once('exit', () => process.removeListener('exit', killOnExit))
  let stderr = ''
  child.stderr.on('data', (d) => { stderr = (stderr + d).slice(-8000) })
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  const lines = readline.createInterface({ input: child.stdout })
  let bootstrapServers
  let control
  const brokers = {}
  // With brokers: N, one `wren broker ID listening on` line per broker follows the ready line.
  const wantBrokers = options.brokers > 1 ? Number(options.brokers) : 0
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`wren did not start within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS)
    lines.on('line', (line) => {
      let m
      if ((m = BROKER_RE.exec(line))) brokers[Number(m[1])] = m[2]
      else if ((m = LISTEN_RE.exec(line))) bootstrapServers = m[1]
      else if ((m = CONTROL_RE.exec(line))) control = new Control(m[1])
      if (bootstrapServers && (control || !withControl) && Object.keys(brokers).length >= wantBrokers) {
        clearTimeout(timer)
        resolve()
      }
    })
    exited.then(({ code }) => { clearTimeout(timer); reject(new Error(`wren exited (status ${code}) before it was ready: ${stderr.trim()}`)) })
  })
  try {
    await ready
  } catch (err) {
    child.kill('SIGKILL')
    throw err
  }

  let stopping
  async function stop() {
    if (!stopping) {
      stopping = (async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
        let timer
        const timeout = new Promise((resolve) => { timer = setTimeout(() => resolve(null), STOP_TIMEOUT_MS) })
        const result = await Promise.race([exited, timeout])
        clearTimeout(timer)
        if (result === null) {
          child.kill('SIGKILL')
          throw new Error(`wren did not stop within ${STOP_TIMEOUT_MS} ms`)
        }
        // SIGTERM ends in a clean stop (flush, ephemeral data removed) with status 0.
        if (result.code !== 0) throw new Error(`wren exited with status ${result.code} (${result.signal || 'no signal'}): ${stderr.trim()}`)
      })()
    }
    return stopping
  }

  const noControl = new Proxy({}, {
    get(_, name) {
      if (name === 'then') return undefined
      throw new Error(`${binary} has no control listener (--control); control.${String(name)} needs it`)
    },
  })
  if (!Object.keys(brokers).length) brokers[1] = bootstrapServers
  return { bootstrapServers, brokers, control: control || noControl, stop, process: child }
}

module.exports = { startWren, binaryPath, supportsControl, configEnv, Control, ControlError }
