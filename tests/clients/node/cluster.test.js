'use strict'
// A simulated three-broker cluster (`wren --brokers 3`, issue 13) under kafkajs, on topics made as
// production code makes them (replication factor 3, min.insync.replicas=2): the partition
// leader's broker stops during idempotent produce and every acknowledged record is in the log
// once, in order; the group coordinator's broker stops during consumption and the group re-forms
// and resumes from the committed offsets; the transaction coordinator's broker stops between
// transactions and the next one commits; an ISR below min.insync.replicas refuses acks=all with
// NOT_ENOUGH_REPLICAS, which reaches the caller.

const { test } = require('node:test')
const assert = require('node:assert/strict')

const H = require('./helpers')
const C = require('./cluster-control')
const { Kafka, logLevel } = require('kafkajs')

const PARTITIONS = 3

function kafkaFor(b, retries = 10) {
  return new Kafka({
    clientId: 'wren-kafkajs-cluster',
    brokers: C.bootstrapAll(b),
    logLevel: logLevel.NOTHING,
    connectionTimeout: 5000,
    requestTimeout: 10000,
    retry: { retries, initialRetryTime: 20, maxRetryTime: 300 },
  })
}

/** Creates the topic (RF 3, min.insync.replicas=2) and checks kafkajs's metadata of it. */
async function createTopic(b, kafka, prefix, count) {
  const topic = H.uniqueTopic(prefix)
  const admin = kafka.admin()
  await admin.connect()
  try {
    await admin.createTopics({
      topics: [{ topic, numPartitions: count, replicationFactor: 3, configEntries: [{ name: 'min.insync.replicas', value: '2' }] }],
      waitForLeaders: true,
    })
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] })
    const ids = Object.keys(b.brokers).map(Number).sort()
    for (const p of topics[0].partitions) {
      assert.deepEqual([...p.replicas].sort(), ids, `p${p.partitionId} replicas`)
      assert.deepEqual([...p.isr].sort(), ids, `p${p.partitionId} isr`)
    }
    if (count >= ids.length) assert.ok(new Set(topics[0].partitions.map(p => p.leader)).size > 1, 'leaders spread over brokers')
  } finally {
    await admin.disconnect()
  }
  return topic
}

async function withCluster(fn) {
  const b = C.clusterBroker()
  await b.start()
  try {
    const info = await C.cluster(b)
    assert.deepEqual(info.brokers.map(x => `${x.id}@${x.host}:${x.port}/${x.up}`),
      Object.entries(b.brokers).map(([id, addr]) => `${id}@${addr}/true`), 'the printed brokers are the cluster')
    await fn(b)
  } catch (e) {
    e.message += `\n${b.logs()}`
    throw e
  } finally {
    assert.equal(await b.stop(), 0)
    b.cleanup()
  }
}

test('kafkajs: the leader\'s broker stops during idempotent produce', { timeout: 180000 }, async () => {
  await withCluster(async b => {
    const kafka = kafkaFor(b)
    const topic = await createTopic(b, kafka, 'cl-leader-kafkajs', PARTITIONS)
    const before = await C.partition(b, topic, 0)
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false })
    await producer.connect()
    const N = 3000
    const CHUNK = 100
    const acked = [...Array(PARTITIONS)].map(() => [])
    let stopping = null
    for (let start = 0; start < N; start += CHUNK) {
      // Halfway the leader's broker stops while the next sends are in flight.
      if (start === N / 2) stopping = C.stopBroker(b, before.leader)
      const messages = []
      for (let i = start; i < start + CHUNK; i++) messages.push({ partition: i % PARTITIONS, value: String(i) })
      const meta = await producer.send({ topic, acks: -1, messages })
      for (const m of meta) {
        const values = messages.filter(x => x.partition === m.partition).map(x => x.value)
        values.forEach((v, k) => acked[m.partition].push([Number(m.baseOffset) + k, v]))
      }
    }
    await stopping
    await producer.disconnect()
    const after = await C.partition(b, topic, 0)
    assert.ok(after.leader !== before.leader && after.leader !== -1, `leader ${after.leader}`)
    assert.ok(after.leader_epoch > before.leader_epoch, 'the leader epoch moved on')
    const log = await C.readPartitions(kafka, C.bootstrapAll(b), topic, PARTITIONS)
    for (let p = 0; p < PARTITIONS; p++) {
      // kafkajs 2.2.4 can resolve a send() without the records of a partition whose leader moved
      // to a broker that already answered that send (sendMessages.js keeps one response per
      // broker and skips brokers that have one on retry): those records are not acknowledged,
      // and must not be in the log either. Every acknowledged record is there once, in order.
      assert.deepEqual(log[p], acked[p], `p${p}: the log is the acknowledged records once, in order`)
      const sent = []
      for (let i = p; i < N; i += PARTITIONS) sent.push(String(i))
      const order = acked[p].map(([, v]) => sent.indexOf(v))
      assert.ok(order.every((k, j) => k >= 0 && (j === 0 || k > order[j - 1])), `p${p}: acknowledged in send order`)
    }
    const last = acked[0][acked[0].length - 1]
    assert.equal(last[1], String(N - 3), 'p0 took records on its new leader to the end')
  })
})

test('kafkajs: the group coordinator\'s broker stops during consumption', { timeout: 180000 }, async () => {
  await withCluster(async b => {
    const kafka = kafkaFor(b)
    const topic = await createTopic(b, kafka, 'cl-group-kafkajs', PARTITIONS)
    const N = 600
    const producer = kafka.producer()
    await producer.connect()
    await producer.send({ topic, acks: -1, messages: [...Array(N).keys()].map(i => ({ partition: i % PARTITIONS, value: String(i) })) })
    await producer.disconnect()
    const group = H.uniqueTopic('cl-group')
    let coordinator = null

    // The first member commits each record; halfway the coordinator's broker stops.
    const seen = []
    const committed = [0, 0, 0]
    let stopped = null
    let stopDone = false
    let commitsAfterStop = 0
    const first = kafka.consumer({ groupId: group, retry: { retries: 10, initialRetryTime: 20, maxRetryTime: 300 } })
    await first.connect()
    await first.subscribe({ topic, fromBeginning: true })
    await first.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        seen.push([partition, Number(message.offset), message.value.toString()])
        await first.commitOffsets([{ topic, partition, offset: String(Number(message.offset) + 1) }])
        committed[partition] = Number(message.offset) + 1
        if (stopDone) commitsAfterStop += 1
        if (!stopped && seen.length >= N / 2) {
          stopped = C.groupCoordinator(b, group)
            .then(id => { coordinator = id; return C.stopBroker(b, id) })
            .then(() => { stopDone = true })
        }
      },
    })
    await C.waitUntil(() => seen.length >= (3 * N) / 4 && commitsAfterStop > 0, 'the first member reading on')
    await stopped
    await first.disconnect()
    const moved = await C.groupCoordinator(b, group)
    assert.ok(moved !== coordinator && moved !== -1, `the group stayed on broker ${coordinator}`)

    // The group re-forms with a second member, which starts at the committed offsets.
    const sentinels = await C.writeSentinels(kafka, topic, PARTITIONS)
    const read = []
    const second = kafka.consumer({ groupId: group })
    await second.connect()
    await second.subscribe({ topic, fromBeginning: true })
    await second.run({ eachMessage: async ({ partition, message }) => { read.push([partition, Number(message.offset), message.value.toString()]) } })
    await C.waitUntil(() => sentinels.every((s, p) => read.some(([q, o]) => q === p && o === s)), 'the second member reaching every sentinel')
    await second.disconnect()
    for (let p = 0; p < PARTITIONS; p++) {
      const before = new Set(seen.filter(([q, o]) => q === p && o < committed[p]).map(([, o]) => o))
      assert.equal(before.size, committed[p], `p${p}: the first member skipped records`)
      const after = read.filter(([q]) => q === p).map(([, o]) => o)
      const want = []
      for (let o = committed[p]; o <= sentinels[p]; o++) want.push(o)
      assert.deepEqual(after, want, `p${p}: resumed at the commit (${committed[p]}) with no gap`)
    }
  })
})

test('kafkajs: the transaction coordinator\'s broker stops between transactions', { timeout: 180000 }, async () => {
  await withCluster(async b => {
    const kafka = kafkaFor(b)
    const topic = await createTopic(b, kafka, 'cl-txn-kafkajs', PARTITIONS)
    const transactionalId = H.uniqueTopic('cl-txn')
    let coordinator = null
    const producer = kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 })
    await producer.connect()
    const committed = [...Array(PARTITIONS)].map(() => [])
    for (const [n, outcome] of [[0, 'commit'], [1, 'commit'], [2, 'abort']]) {
      if (n === 1) {
        coordinator = await C.transactionCoordinator(b, transactionalId)
        await C.stopBroker(b, coordinator)
      }
      const txn = await producer.transaction()
      const messages = [...Array(30).keys()].map(i => ({ partition: i % PARTITIONS, value: `t${n}-${i}` }))
      await txn.send({ topic, messages })
      if (outcome === 'abort') {
        await txn.abort()
      } else {
        await txn.commit()
        for (const m of messages) committed[m.partition].push(m.value)
      }
    }
    await producer.disconnect()
    const moved = await C.transactionCoordinator(b, transactionalId)
    assert.ok(moved !== coordinator && moved !== -1, `the coordinator stayed on broker ${coordinator}`)
    const log = await C.readPartitions(kafka, C.bootstrapAll(b), topic, PARTITIONS, 1)
    for (let p = 0; p < PARTITIONS; p++) {
      assert.deepEqual(log[p].map(([, v]) => v), committed[p], `p${p}: read_committed is the committed records`)
    }
  })
})

/** The Kafka error type somewhere in a kafkajs error's cause chain. */
function errorTypes(e) {
  const types = []
  for (let x = e; x; x = x.cause || x.originalError) types.push(x.type)
  return types
}

test('kafkajs: an ISR below min.insync.replicas refuses acks=all with NOT_ENOUGH_REPLICAS', { timeout: 120000 }, async () => {
  await withCluster(async b => {
    const kafka = kafkaFor(b, 2)
    const topic = await createTopic(b, kafka, 'cl-isr-kafkajs', 1)
    const full = await C.partition(b, topic, 0)
    const shrunk = await C.setIsr(b, topic, 0, [full.leader])
    assert.deepEqual([shrunk.isr, shrunk.leader], [[full.leader], full.leader])
    const producer = kafka.producer({ allowAutoTopicCreation: false })
    await producer.connect()
    const err = await producer.send({ topic, acks: -1, messages: [{ partition: 0, value: 'refused' }] }).then(() => null, e => e)
    assert.ok(err, 'acks=all succeeded with an ISR of one')
    assert.ok(errorTypes(err).includes('NOT_ENOUGH_REPLICAS'), `got ${err.name}: ${err.message} (${errorTypes(err)})`)
    await producer.send({ topic, acks: 1, messages: [{ partition: 0, value: 'one-ack' }] })
    const grown = await C.setIsr(b, topic, 0, full.replicas)
    assert.deepEqual([...grown.isr].sort(), [...full.replicas].sort())
    await producer.send({ topic, acks: -1, messages: [{ partition: 0, value: 'all-acks' }] })
    await producer.disconnect()
    const log = await C.readPartitions(kafka, C.bootstrapAll(b), topic, 1)
    assert.deepEqual(log[0].map(([, v]) => v), ['one-ack', 'all-acks'], 'the refused record was not appended')
  })
})
