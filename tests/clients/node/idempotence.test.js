'use strict'
// kafkajs's idempotent producer through a broker that appends three produce requests (fault rules
// spread over the run) and then drops the connection unanswered: after kafkajs's retries every record is in the log exactly
// once, in per-partition send order.

const { test } = require('node:test')
const assert = require('node:assert/strict')

const H = require('./helpers')
const { consumeAll } = require('./kafkajs-steps')
const { Kafka, logLevel } = require('kafkajs')

const RECORDS = 50000
const PARTITIONS = 2
const CHUNK = 1000

test('kafkajs idempotent producer survives dropped produce responses', { timeout: 180000 }, async () => {
  const drop = (after) => ['--fault', `{"api":"Produce","action":"drop_response","after":${after},"count":1}`]
  const broker = new H.WrenBroker([...drop(3), ...drop(12), ...drop(25)])
  await broker.start()
  try {
    const kafka = new Kafka({
      clientId: 'wren-kafkajs-idempotence',
      brokers: [broker.bootstrap],
      logLevel: logLevel.NOTHING,
      connectionTimeout: 10000,
      requestTimeout: 10000,
      retry: { retries: 20, initialRetryTime: 10, maxRetryTime: 200 },
    })
    const topic = H.uniqueTopic('idem-kafkajs')
    const admin = kafka.admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 1 }] })
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false })
    await producer.connect()
    for (let start = 0; start < RECORDS; start += CHUNK) {
      const messages = []
      for (let i = start; i < Math.min(start + CHUNK, RECORDS); i++) {
        messages.push({ partition: i % PARTITIONS, value: String(i) })
      }
      await producer.send({ topic, acks: -1, messages })
    }
    await producer.disconnect()

    const drops = (broker.fullLogs().match(/answer dropped/g) || []).length
    assert.ok(drops >= 2, `the fault hook dropped ${drops} responses; the retry path was not exercised`)

    const offsets = (await admin.fetchTopicOffsets(topic)).sort((a, b) => a.partition - b.partition)
    const ends = offsets.map(o => Number(o.high))
    for (let p = 0; p < PARTITIONS; p++) {
      assert.equal(ends[p], RECORDS / PARTITIONS, `partition ${p}: the log holds every record exactly once`)
    }
    await admin.disconnect()
    const got = await consumeAll(broker.bootstrap, topic, ends)
    for (let p = 0; p < PARTITIONS; p++) {
      const values = got[p].map(r => Number(r[3])) // canon(): [partition, offset, key, value, ...]
      const want = []
      for (let i = p; i < RECORDS; i += PARTITIONS) want.push(i)
      assert.deepEqual(values, want, `partition ${p}: send order, no duplicates`)
    }
  } finally {
    const code = await broker.stop()
    broker.cleanup()
    assert.equal(code, 0, 'clean exit on SIGTERM')
  }
})
