'use strict'
// The cluster routes of Wren's control listener (`wren --brokers N --control ...`) and a reader
// that fetches each partition from its current leader up to a committed sentinel, for the tests
// that stop brokers and move leaders under kafkajs (cluster.test.js).

const assert = require('node:assert/strict')

const Cluster = require('kafkajs/src/cluster')
const Batch = require('kafkajs/src/consumer/batch')
const { createLogger, LEVELS } = require('kafkajs/src/loggers')
const LoggerConsole = require('kafkajs/src/loggers/console')
const socketFactory = require('kafkajs/src/network/socketFactory')

const H = require('./helpers')

const PATIENCE_MS = 60000
const SENTINEL = 'sentinel'

/** A `--brokers 3 --control` broker process (helpers.WrenBroker); `.brokers` id -> HOST:PORT. */
function clusterBroker() {
  return new H.WrenBroker(['--brokers', '3', '--control', '127.0.0.1:0'])
}

async function control(b, method, route, body) {
  const res = await fetch(b.control + route, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.text()
  assert.ok(res.ok, `${method} ${route}: ${res.status} ${text}`)
  return JSON.parse(text)
}

const q = encodeURIComponent

/** Every broker's address: a client that starts while one broker is down still connects. */
function bootstrapAll(b) {
  return Object.keys(b.brokers).map(Number).sort((x, y) => x - y).map(id => b.brokers[id])
}

const cluster = b => control(b, 'GET', '/v1/cluster')
async function stopBroker(b, id) {
  assert.deepEqual(await control(b, 'POST', `/v1/brokers/${id}/stop`), { id, up: false })
}
async function startBroker(b, id) {
  assert.deepEqual(await control(b, 'POST', `/v1/brokers/${id}/start`), { id, up: true })
}
async function partitions(b, topic) {
  return (await control(b, 'GET', `/v1/topics/${q(topic)}/partitions`)).sort((x, y) => x.partition - y.partition)
}
async function partition(b, topic, p) {
  return (await partitions(b, topic)).find(x => x.partition === p)
}
const moveLeader = (b, topic, p, broker) => control(b, 'POST', `/v1/topics/${q(topic)}/partitions/${p}/leader`, { broker })
const setIsr = (b, topic, p, isr) => control(b, 'POST', `/v1/topics/${q(topic)}/partitions/${p}/isr`, { isr })
const groupCoordinator = async (b, group) => (await control(b, 'GET', `/v1/coordinators/group/${q(group)}`)).broker
const transactionCoordinator = async (b, id) => (await control(b, 'GET', `/v1/coordinators/transaction/${q(id)}`)).broker

/** Resolves with `condition()`'s first truthy value; rejects naming `what` after `patience` ms. */
async function waitUntil(condition, what, patience = PATIENCE_MS) {
  const deadline = Date.now() + patience
  for (;;) {
    const got = await condition()
    if (got) return got
    if (Date.now() > deadline) throw new Error(`${what}: not within ${patience} ms`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

/** One committed `sentinel` record at the end of each partition; resolves to their offsets. */
async function writeSentinels(kafka, topic, count) {
  const producer = kafka.producer()
  await producer.connect()
  try {
    const meta = await producer.send({ topic, acks: -1, messages: [...Array(count).keys()].map(partition => ({ partition, value: SENTINEL })) })
    const offsets = []
    for (const m of meta) offsets[m.partition] = Number(m.baseOffset)
    return offsets
  } finally {
    await producer.disconnect()
  }
}

/** [[ [offset, value], ... ] per partition] of every record before the sentinels this writes,
 *  fetched from each partition's current leader at `isolation` (0 uncommitted, 1 committed). */
async function readPartitions(kafka, brokers, topic, count, isolation = 0) {
  const sentinels = await writeSentinels(kafka, topic, count)
  const reader = new Cluster({
    logger: createLogger({ level: LEVELS.ERROR, logCreator: LoggerConsole }),
    socketFactory: socketFactory(),
    brokers,
    clientId: 'wren-kafkajs-cluster-reader',
    connectionTimeout: 10000,
    requestTimeout: 30000,
    enforceRequestTimeout: true,
    retry: { retries: 3 },
    allowAutoTopicCreation: false,
    isolationLevel: isolation,
  })
  await reader.connect()
  try {
    await reader.addTargetTopic(topic)
    await reader.refreshMetadata()
    const next = sentinels.map(() => 0)
    const got = sentinels.map(() => [])
    await waitUntil(async () => {
      for (let p = 0; p < count; p++) {
        if (next[p] > sentinels[p]) continue
        const nodeId = Object.keys(reader.findLeaderForPartitions(topic, [p]))[0]
        const broker = await reader.findBroker({ nodeId })
        const { responses } = await broker.fetch({
          maxWaitTime: 100, minBytes: 1, maxBytes: 10485760, isolationLevel: isolation,
          topics: [{ topic, partitions: [{ partition: p, fetchOffset: String(next[p]), maxBytes: 1048576 }] }],
        })
        for (const pd of responses[0].partitions) {
          assert.equal(pd.errorCode, 0, `fetch p${p}`)
          const batch = new Batch(topic, String(next[p]), pd)
          for (const m of batch.messages) if (Number(m.offset) < sentinels[p]) got[p].push([Number(m.offset), m.value.toString()])
          // Step past everything fetched, transaction markers and aborted records included.
          if (!batch.isEmptyIncludingFiltered()) next[p] = Math.max(next[p], Number(batch.lastOffset()) + 1)
        }
      }
      return next.every((n, p) => n > sentinels[p])
    }, `reading ${topic} to its sentinels`)
    return got
  } finally {
    await reader.disconnect()
  }
}

module.exports = {
  PATIENCE_MS, clusterBroker, control, bootstrapAll, cluster, stopBroker, startBroker, partitions, partition,
  moveLeader, setIsr, groupCoordinator, transactionCoordinator, waitUntil, readPartitions, writeSentinels,
}
