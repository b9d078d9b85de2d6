'use strict'
// kafkajs transactions against Wren: a commit across 2 topics x 3 partitions is visible to a
// read_committed reader, an abort is not (a read_uncommitted reader sees it), and kafkajs's own
// Batch filtering drops aborted records using the broker's aborted-transaction list; sendOffsets
// commits a group's offsets while the group has an active member.

const { test } = require('node:test')
const assert = require('node:assert/strict')

const H = require('./helpers')
const { Kafka, logLevel } = require('kafkajs')
const Cluster = require('kafkajs/src/cluster')
const Batch = require('kafkajs/src/consumer/batch')
const { createLogger, LEVELS } = require('kafkajs/src/loggers')
const LoggerConsole = require('kafkajs/src/loggers/console')
const socketFactory = require('kafkajs/src/network/socketFactory')

const PARTITIONS = 3
const PER_PARTITION = 20

const SENTINEL = 'sentinel'

/** One committed `sentinel` record at the end of every partition: Map `topic/partition` -> offset. */
async function writeSentinels(kafka, topics) {
  const producer = kafka.producer()
  await producer.connect()
  try {
    const offsets = new Map()
    for (const topic of topics) {
      const meta = await producer.send({ topic, acks: -1, messages: [...Array(PARTITIONS).keys()].map(partition => ({ partition, value: SENTINEL })) })
      for (const m of meta) offsets.set(`${m.topicName}/${m.partition}`, Number(m.baseOffset))
    }
    return offsets
  } finally {
    await producer.disconnect()
  }
}

/** Every value readable with `isolation` (0 uncommitted, 1 committed) before a sentinel this first
 *  appends to each partition: what came before the sentinel is the proof, not a quiet second. */
async function readValues(kafka, bootstrap, topics, isolation) {
  const sentinels = await writeSentinels(kafka, topics)
  const cluster = new Cluster({
    logger: createLogger({ level: LEVELS.ERROR, logCreator: LoggerConsole }),
    socketFactory: socketFactory(),
    brokers: [bootstrap],
    clientId: 'wren-kafkajs-txn-reader',
    connectionTimeout: 10000,
    requestTimeout: 30000,
    enforceRequestTimeout: true,
    retry: { retries: 3 },
    allowAutoTopicCreation: false,
    isolationLevel: isolation,
  })
  await cluster.connect()
  try {
    for (const t of topics) await cluster.addTargetTopic(t)
    await cluster.refreshMetadata()
    const next = new Map()
    for (const t of topics) for (let p = 0; p < PARTITIONS; p++) next.set(`${t}/${p}`, 0)
    const values = []
    const deadline = Date.now() + 30000
    while ([...sentinels].some(([key, offset]) => next.get(key) <= offset)) {
      if (Date.now() > deadline) throw new Error(`isolation ${isolation}: sentinels not reached ${JSON.stringify([...next])}`)
      // One broker leads everything.
      const nodeId = Object.keys(cluster.findLeaderForPartitions(topics[0], [0]))[0]
      const broker = await cluster.findBroker({ nodeId })
      const { responses } = await broker.fetch({
        maxWaitTime: 100, minBytes: 1, maxBytes: 10485760, isolationLevel: isolation,
        topics: topics.map(t => ({ topic: t, partitions: [...Array(PARTITIONS).keys()].map(p => ({ partition: p, fetchOffset: String(next.get(`${t}/${p}`)), maxBytes: 1048576 })) })),
      })
      for (const { topicName, partitions } of responses) {
        for (const pd of partitions) {
          assert.equal(pd.errorCode, 0)
          const batch = new Batch(topicName, String(next.get(`${topicName}/${pd.partition}`)), pd)
          for (const m of batch.messages) if (m.value.toString() !== SENTINEL) values.push(m.value.toString())
          // Step past everything fetched, markers and aborted records included.
          const last = batch.lastOffset()
          if (Number(last) + 1 > next.get(`${topicName}/${pd.partition}`) && !batch.isEmptyIncludingFiltered()) {
            next.set(`${topicName}/${pd.partition}`, Number(last) + 1)
          }
        }
      }
    }
    return values
  } finally {
    await cluster.disconnect()
  }
}

test('kafkajs transactions: commit visible at once, abort never', { timeout: 120000 }, async () => {
  const broker = new H.WrenBroker()
  await broker.start()
  try {
    const kafka = new Kafka({ clientId: 'wren-kafkajs-txn', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING })
    const topics = [H.uniqueTopic('kjs-txa'), H.uniqueTopic('kjs-txb')]
    const admin = kafka.admin()
    await admin.connect()
    await admin.createTopics({ topics: topics.map(topic => ({ topic, numPartitions: PARTITIONS, replicationFactor: 1 })) })
    await admin.disconnect()
    const producer = kafka.producer({ transactionalId: 'kjs-txn', idempotent: true, maxInFlightRequests: 1 })
    await producer.connect()
    const records = tag => topics.flatMap(t => [...Array(PARTITIONS).keys()].flatMap(p =>
      [...Array(PER_PARTITION).keys()].map(i => ({ topic: t, partition: p, value: `${tag}-${t}-${p}-${i}` }))))
    const run = async (recs, commit) => {
      const tx = await producer.transaction()
      for (const t of topics) {
        await tx.send({ topic: t, acks: -1, messages: recs.filter(r => r.topic === t).map(r => ({ partition: r.partition, value: r.value })) })
      }
      if (commit) await tx.commit(); else await tx.abort()
    }
    const committed = records('commit')
    const aborted = records('abort')
    await run(committed, true)
    await run(aborted, false)
    await run(records('commit2'), true) // puts the aborted records below the LSO
    await producer.disconnect()

    const want = [...committed, ...records('commit2')].map(r => r.value).sort()
    const seen = (await readValues(kafka, broker.bootstrap, topics, 1)).sort()
    assert.deepEqual(seen, want, 'read_committed: exactly the committed records')
    const all = (await readValues(kafka, broker.bootstrap, topics, 0)).sort()
    assert.deepEqual(all, [...want, ...aborted.map(r => r.value)].sort(), 'read_uncommitted: committed and aborted')
  } finally {
    const code = await broker.stop()
    broker.cleanup()
    assert.equal(code, 0, 'clean exit on SIGTERM')
  }
})

// sendOffsets carries no member id or generation (TxnOffsetCommit with "" and -1); Kafka accepts
// that while the group has members, so consume-transform-produce works with a live consumer.
test('kafkajs sendOffsets commits while the group has an active member', { timeout: 120000 }, async () => {
  const broker = new H.WrenBroker()
  await broker.start()
  try {
    const kafka = new Kafka({ clientId: 'wren-kafkajs-txn-offsets', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING })
    const topic = H.uniqueTopic('kjs-ctp')
    const groupId = H.uniqueTopic('kjs-ctp-g')
    const admin = kafka.admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }] })
    const consumer = kafka.consumer({ groupId, sessionTimeout: 10000, heartbeatInterval: 500 })
    let assigned = false
    consumer.on(consumer.events.GROUP_JOIN, e => { assigned = (e.payload.memberAssignment[topic] || []).length > 0 })
    await consumer.connect()
    await consumer.subscribe({ topic, fromBeginning: true })
    await consumer.run({ autoCommit: false, eachMessage: async () => {} })
    const deadline = Date.now() + 60000
    while (!assigned) {
      if (Date.now() > deadline) throw new Error('the consumer never got its partition')
      await new Promise(r => setTimeout(r, 50))
    }
    assert.equal((await admin.describeGroups([groupId])).groups[0].state, 'Stable')

    const producer = kafka.producer({ transactionalId: 'kjs-ctp-txn', idempotent: true, maxInFlightRequests: 1 })
    await producer.connect()
    const tx = await producer.transaction()
    await tx.sendOffsets({ consumerGroupId: groupId, topics: [{ topic, partitions: [{ partition: 0, offset: '42' }] }] })
    await tx.commit()
    await producer.disconnect()

    const offsets = await admin.fetchOffsets({ groupId, topics: [topic] })
    assert.equal(offsets[0].partitions.find(p => p.partition === 0).offset, '42')
    await consumer.disconnect()
    await admin.disconnect()
  } finally {
    const code = await broker.stop()
    broker.cleanup()
    assert.equal(code, 0, 'clean exit on SIGTERM')
  }
})
