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
