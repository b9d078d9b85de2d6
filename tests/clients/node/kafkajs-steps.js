'use strict'
// kafkajs client steps used by kafkajs.test.js (see the comment there about consuming without groups).

const assert = require('node:assert/strict')

const { Kafka, logLevel, Partitioners } = require('kafkajs')
const Cluster = require('kafkajs/src/cluster')
const Batch = require('kafkajs/src/consumer/batch')
const { createLogger, LEVELS } = require('kafkajs/src/loggers')
const LoggerConsole = require('kafkajs/src/loggers/console')
const socketFactory = require('kafkajs/src/network/socketFactory')

const H = require('./helpers')

H.registerCodecs()

const ISOLATION_READ_COMMITTED = 1 // kafkajs consumers' default

function kafkaFor(bootstrap, retries = 3) {
  return new Kafka({
    clientId: 'wren-kafkajs-test',
    brokers: [bootstrap],
    logLevel: logLevel.ERROR,
    connectionTimeout: 10000,
    requestTimeout: 30000,
    retry: { retries, initialRetryTime: 100, maxRetryTime: 2000 },
  })
}

async function produceAll(kafka, topic, recs, codec) {
  const producer = kafka.producer({
    idempotent: true, // InitProducerId + sequence numbers
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  })
  await producer.connect()
  try {
    const CHUNK = 1000
    for (let start = 0; start < recs.length; start += CHUNK) {
      const chunk = recs.slice(start, start + CHUNK)
      const res = await producer.send({
        topic,
        acks: -1,
        compression: H.CODECS[codec],
        messages: chunk.map(r => ({
          key: r.key,
          value: r.value,
          partition: r.partition,
          timestamp: String(r.timestamp),
          headers: Object.fromEntries(r.headers),
        })),
      })
      // One result per partition: baseOffset is the offset of that partition's first record in the chunk.
      const want = new Map()
      for (const r of chunk) if (!want.has(r.partition)) want.set(r.partition, r.offset)
      const got = new Map(res.map(m => [m.partition, m]))
      assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort(), 'partitions in produce response')
      for (const [p, off] of want) {
        assert.equal(got.get(p).errorCode, 0, `produce error code p${p}`)
        assert.equal(String(got.get(p).baseOffset), String(off), `produce baseOffset p${p} (chunk at ${start})`)
      }
    }
  } finally {
    await producer.disconnect()
  }
}

async function consumeAll(bootstrap, topic, ends, timeoutMs = 90000) {
  const cluster = new Cluster({
    logger: createLogger({ level: LEVELS.ERROR, logCreator: LoggerConsole }),
    socketFactory: socketFactory(),
    brokers: [bootstrap],
    clientId: 'wren-kafkajs-test-fetch',
    connectionTimeout: 10000,
    requestTimeout: 30000,
    enforceRequestTimeout: true,
    retry: { retries: 3 },
    allowAutoTopicCreation: false,
    isolationLevel: ISOLATION_READ_COMMITTED,
  })
  await cluster.connect()
  try {
    await cluster.addTargetTopic(topic)
    await cluster.refreshMetadata()
    const partitions = ends.map((_, p) => p)
    const leaders = cluster.findLeaderForPartitions(topic, partitions)
    const next = partitions.map(() => 0)
    const got = partitions.map(() => [])

    const fetchRound = async () => {
      for (const [nodeId, parts] of Object.entries(leaders)) {
        const broker = await cluster.findBroker({ nodeId })
        const { responses } = await broker.fetch({
          maxWaitTime: 100,
          minBytes: 1,
          maxBytes: 10485760,
          isolationLevel: ISOLATION_READ_COMMITTED,
          topics: [{ topic, partitions: parts.map(p => ({ partition: p, fetchOffset: String(next[p]), maxBytes: 1048576 })) }],
        })
        for (const { topicName, partitions: pds } of responses) {
          assert.equal(topicName, topic)
          for (const pd of pds) {
            assert.equal(pd.errorCode, 0, `fetch error code p${pd.partition}`)
            const batch = new Batch(topicName, String(next[pd.partition]), pd)
            for (const m of batch.messages) {
              const headers = Object.entries(m.headers || {}).map(([k, v]) => [k, Buffer.from(v).toString()])
              got[pd.partition].push(H.canon(pd.partition, m.offset, m.key, m.value, headers, m.timestamp))
              next[pd.partition] = Number(m.offset) + 1
            }
          }
        }
      }
    }

    const deadline = Date.now() + timeoutMs
    while (partitions.some(p => next[p] < ends[p]) && Date.now() < deadline) await fetchRound()
    await fetchRound() // nothing may follow the last produced record
    return got
  } finally {
    await cluster.disconnect()
  }
}

function assertSameRecords(expected, got, label) {
  for (let p = 0; p < expected.length; p++) {
    const e = expected[p]
    const g = got[p] || []
    assert.equal(g.length, e.length, `${label} p${p}: record count`)
    for (let k = 0; k < e.length; k++) assert.deepEqual(g[k], e[k], `${label} p${p}: record at index ${k}`)
  }
}

async function checkListOffsets(admin, topic, recs, baseTs) {
  const ends = H.endOffsets(recs)
  const offs = (await admin.fetchTopicOffsets(topic)).sort((a, b) => a.partition - b.partition)
  assert.deepEqual(offs.map(o => [o.partition, String(o.low), String(o.high)]), ends.map((e, p) => [p, '0', String(e)]), 'earliest/latest')

  const target = H.middleTarget(baseTs, recs.length)
  const byTime = (await admin.fetchTopicOffsetsByTimestamp(topic, target)).sort((a, b) => a.partition - b.partition)
  assert.deepEqual(byTime.map(o => [o.partition, String(o.offset)]),
    ends.map((_, p) => [p, String(H.offsetForTime(recs, p, target))]), `offsets by timestamp ${target}`)

  const first = (await admin.fetchTopicOffsetsByTimestamp(topic, baseTs - 60000)).sort((a, b) => a.partition - b.partition)
  assert.deepEqual(first.map(o => String(o.offset)), ends.map(() => '0'), 'offsets by timestamp before all records')
  // The broker answers -1 (no such record); kafkajs substitutes the latest offset for that.
  const last = recs[recs.length - 1].timestamp
  const after = (await admin.fetchTopicOffsetsByTimestamp(topic, last + 60000)).sort((a, b) => a.partition - b.partition)
  assert.deepEqual(after.map(o => String(o.offset)), ends.map(String), 'offsets by timestamp after all records')
}

async function checkMetadata(admin, bootstrap, topic, partitions = H.PARTITIONS) {
  const cluster = await admin.describeCluster()
  assert.equal(cluster.brokers.length, 1, `one broker: ${JSON.stringify(cluster.brokers)}`)
  const b = cluster.brokers[0]
  assert.equal(`${b.host}:${b.port}`, bootstrap, 'advertised address')
  assert.ok((await admin.listTopics()).includes(topic), 'listTopics includes the topic')
  const md = await admin.fetchTopicMetadata({ topics: [topic] })
  assert.equal(md.topics.length, 1)
  assert.equal(md.topics[0].name, topic)
  const parts = md.topics[0].partitions.sort((x, y) => x.partitionId - y.partitionId)
  assert.deepEqual(parts.map(p => p.partitionId), [...Array(partitions).keys()])
  for (const p of parts) {
    assert.equal(p.partitionErrorCode, 0)
    assert.equal(p.leader, b.nodeId)
    assert.deepEqual(p.replicas, [b.nodeId])
    assert.deepEqual(p.isr, [b.nodeId])
  }
}

async function deleteAndCheck(admin, bootstrap, topic) {
  await admin.deleteTopics({ topics: [topic], timeout: 30000 })
  const deadline = Date.now() + 10000
  while ((await admin.listTopics()).includes(topic)) {
    assert.ok(Date.now() < deadline, `${topic} still listed 10s after DeleteTopics`)
    await new Promise(r => setTimeout(r, 200))
  }
  // Deleting it again fails with UNKNOWN_TOPIC_OR_PARTITION (kafkajs retries that error, so use
  // a client without retries and look through the retry wrapper).
  const admin0 = kafkaFor(bootstrap, 0).admin()
  await admin0.connect()
  try {
    await assert.rejects(admin0.deleteTopics({ topics: [topic], timeout: 5000 }), e => {
      const types = [e.type, e.originalError?.type, e.cause?.type]
      assert.ok(types.includes('UNKNOWN_TOPIC_OR_PARTITION'), `error ${e.name}: ${e.message} (${types})`)
      return true
    })
  } finally {
    await admin0.disconnect()
  }
}

module.exports = {
  kafkaFor, produceAll, consumeAll, assertSameRecords, checkListOffsets, checkMetadata, deleteAndCheck,
}
