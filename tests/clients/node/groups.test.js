'use strict'
// kafkajs consumer groups against Wren: consumer.run() members sharing a 6-partition topic
// (every partition owned by one member, every record read once), a member leaving and the other
// taking over from the committed offsets, resuming after a broker restart, and the admin group
// APIs (listGroups, describeGroups, fetchOffsets, setOffsets, deleteGroups).

const { test, describe } = require('node:test')
const assert = require('node:assert/strict')

const H = require('./helpers')
const { kafkaFor } = require('./kafkajs-steps')

const TEST_TIMEOUT_MS = 120000
const PARTITIONS = 6

async function createTopic(kafka, topic) {
  const admin = kafka.admin()
  await admin.connect()
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 1 }], waitForLeaders: true })
  } finally {
    await admin.disconnect()
  }
}

/** Records from..to-1, value = String(i), record i on partition i % 6. */
async function produce(kafka, topic, from, to) {
  const producer = kafka.producer()
  await producer.connect()
  try {
    const messages = []
    for (let i = from; i < to; i++) messages.push({ value: String(i), partition: i % PARTITIONS })
    await producer.send({ topic, messages, acks: -1 })
  } finally {
    await producer.disconnect()
  }
}

async function waitFor(what, cond, ms = 60000) {
  const deadline = Date.now() + ms
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(r => setTimeout(r, 50))
  }
}

/** A consumer.run() member recording (member, partition, value) into `got`. */
async function startMember(kafka, groupId, topic, name, got) {
  const consumer = kafka.consumer({ groupId, sessionTimeout: 10000, heartbeatInterval: 500, rebalanceTimeout: 10000 })
  const state = { consumer, assigned: new Set() }
  consumer.on(consumer.events.GROUP_JOIN, e => {
    state.assigned = new Set((e.payload.memberAssignment[topic] || []))
  })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  await consumer.run({
    autoCommitInterval: 100,
    eachMessage: async ({ partition, message }) => {
      got.push([name, partition, message.value.toString()])
    },
  })
  return state
}

/** One `sentinel-<phase>` record per partition, produced after the records under test. */
async function produceSentinels(kafka, topic, phase) {
  const producer = kafka.producer()
  await producer.connect()
  try {
    const messages = []
    for (let p = 0; p < PARTITIONS; p++) messages.push({ value: `sentinel-${phase}`, partition: p })
    await producer.send({ topic, messages, acks: -1 })
  } finally {
    await producer.disconnect()
  }
}

/** Waits until the group has read every partition's sentinel of `phase`: whatever it read before
 *  them (a duplicate after a rebalance, say) is then in `got`, not still on its way. */
async function readUpToSentinels(kafka, topic, phase, got) {
  await produceSentinels(kafka, topic, phase)
  const mine = g => g[2] === `sentinel-${phase}`
  await waitFor(`the sentinels of ${phase}`, () => new Set(got.filter(mine).map(g => g[1])).size === PARTITIONS)
}

/** Every record 0..to-1 read exactly once over the whole test (nothing cleared between phases,
 *  so a record read again after a rebalance shows), and within `got.slice(since)` each
 *  partition read by one member. */
function assertExactly(got, to, since) {
  const values = got.filter(g => !g[2].startsWith('sentinel')).map(g => Number(g[2])).sort((a, b) => a - b)
  assert.deepEqual(values, Array.from({ length: to }, (_, i) => i), 'every record exactly once')
  const owner = new Map()
  for (const [m, p] of got.slice(since)) {
    if (!owner.has(p)) owner.set(p, m)
    assert.equal(owner.get(p), m, `partition ${p} read by two members`)
  }
}

describe('kafkajs consumer groups', () => {
  test('two members share partitions, one leaves, the other takes over, offsets survive a restart', { timeout: TEST_TIMEOUT_MS }, () => H.withBroker(async broker => {
    let kafka = kafkaFor(broker.bootstrap)
    const topic = H.uniqueTopic('kjs-group')
    const groupId = H.uniqueTopic('kjs-g')
    await createTopic(kafka, topic)
    const got = []
    const a = await startMember(kafka, groupId, topic, 'a', got)
    const b = await startMember(kafka, groupId, topic, 'b', got)
    await waitFor('a balanced assignment', () =>
      a.assigned.size > 0 && b.assigned.size > 0 && a.assigned.size + b.assigned.size === PARTITIONS &&
      new Set([...a.assigned, ...b.assigned]).size === PARTITIONS)
    await produce(kafka, topic, 0, 300)
    await readUpToSentinels(kafka, topic, 'shared', got)
    assertExactly(got, 300, 0)

    await b.consumer.disconnect() // commits, then LeaveGroup
    await waitFor('a owns every partition', () => a.assigned.size === PARTITIONS)
    let since = got.length
    await produce(kafka, topic, 300, 360)
    await readUpToSentinels(kafka, topic, 'taken-over', got)
    assertExactly(got, 360, since)
    await a.consumer.disconnect()

    await broker.restart()
    kafka = kafkaFor(broker.bootstrap)
    await produce(kafka, topic, 360, 372)
    since = got.length
    const c = await startMember(kafka, groupId, topic, 'c', got)
    await readUpToSentinels(kafka, topic, 'restarted', got)
    assertExactly(got, 372, since)
    await c.consumer.disconnect()
  }))

  test('admin: list, describe, fetch/set offsets, delete groups', { timeout: TEST_TIMEOUT_MS }, () => H.withBroker(async broker => {
    const kafka = kafkaFor(broker.bootstrap)
    const topic = H.uniqueTopic('kjs-admin')
    const groupId = H.uniqueTopic('kjs-g')
    await createTopic(kafka, topic)
    await produce(kafka, topic, 0, 12)
    const got = []
    const m = await startMember(kafka, groupId, topic, 'm', got)
    await waitFor('12 records', () => got.length >= 12)
    const admin = kafka.admin()
    await admin.connect()
    try {
      const { groups } = await admin.listGroups()
      assert.ok(groups.some(g => g.groupId === groupId && g.protocolType === 'consumer'), JSON.stringify(groups))
      const described = await admin.describeGroups([groupId])
      assert.equal(described.groups[0].state, 'Stable')
      assert.equal(described.groups[0].members.length, 1)
      await m.consumer.disconnect()
      const offsets = await admin.fetchOffsets({ groupId, topics: [topic] })
      const byPartition = Object.fromEntries(offsets[0].partitions.map(p => [p.partition, p.offset]))
      assert.deepEqual(byPartition, { 0: '2', 1: '2', 2: '2', 3: '2', 4: '2', 5: '2' })
      await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '1' }] })
      const after = await admin.fetchOffsets({ groupId, topics: [topic] })
      assert.equal(after[0].partitions.find(p => p.partition === 0).offset, '1')
      await admin.deleteGroups([groupId])
      const { groups: left } = await admin.listGroups()
      assert.ok(!left.some(g => g.groupId === groupId))
    } finally {
      await admin.disconnect()
    }
  }))
})
