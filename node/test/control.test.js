// The control helpers against every route (run by scripts/test-node-package.sh from the
// installed package; skipped when the binary has no control listener).
const { test } = require('node:test')
const assert = require('node:assert')
const { startWren, supportsControl, ControlError } = require('wren-broker')

const skip = !supportsControl() && 'this wren binary has no control listener (--control)'

test('every control helper reaches its route', { skip }, async () => {
  const w = await startWren()
  try {
    assert.deepEqual(await w.control.health(), { status: 'ok' })
    const t = await w.control.createTopic('a', { partitions: 2, configs: { 'retention.ms': '1000' } })
    assert.equal(t.partitions, 2)
    await assert.rejects(w.control.createTopic('a'), (e) => e instanceof ControlError && e.status === 409 && e.errorCode === 36)
    const id = await w.control.addFault({ api: 'Produce', error_code: 6, count: 1 })
    assert.equal((await w.control.faults())[0].id, id)
    await w.control.removeFault(id)
    assert.equal(await w.control.clearFaults(), 0)
    assert.ok(Array.isArray(await w.control.requests({ api: 'Produce' })))
    const c = await w.control.advanceClock(5000); assert.equal(c.offset_ms, 5000)
    assert.equal((await w.control.reset()).topics, 1)
    assert.deepEqual(await w.control.topics(), [])
  } finally { await w.stop() }
})

const { execFileSync } = require('node:child_process')
const { binaryPath } = require('wren-broker')
const noCluster = (skip || !execFileSync(binaryPath(), ['--help'], { encoding: 'utf8' }).includes('--brokers')) &&
  'this wren binary has no simulated cluster (--brokers)'

test('the cluster helpers stop a broker, move a leader and shrink an ISR', { skip: noCluster }, async () => {
  const w = await startWren({ brokers: 3, config: { 'default.replication.factor': 3 } })
  try {
    assert.deepEqual(Object.keys(w.brokers), ['1', '2', '3'])
    assert.deepEqual((await w.control.cluster()).brokers.map(b => [b.id, b.up]), [[1, true], [2, true], [3, true]])
    await w.control.createTopic('r3', { partitions: 1 })
    const [p0] = await w.control.partitions('r3')
    assert.deepEqual([...p0.replicas].sort(), [1, 2, 3])
    assert.deepEqual(await w.control.stopBroker(p0.leader), { id: p0.leader, up: false })
    const [moved] = await w.control.partitions('r3')
    assert.ok(moved.leader !== p0.leader && moved.leader_epoch > p0.leader_epoch)
    await assert.rejects(w.control.moveLeader('r3', 0, p0.leader), (e) => e instanceof ControlError && e.status === 409)
    assert.deepEqual(await w.control.startBroker(p0.leader), { id: p0.leader, up: true })
    assert.equal((await w.control.moveLeader('r3', 0, p0.leader)).leader, p0.leader)
    assert.deepEqual((await w.control.setIsr('r3', 0, [p0.leader])).isr, [p0.leader])
    assert.ok([1, 2, 3].includes(await w.control.groupCoordinator('g')))
    assert.ok([1, 2, 3].includes(await w.control.transactionCoordinator('t')))
  } finally { await w.stop() }
})
