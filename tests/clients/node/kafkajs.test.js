'use strict'
// kafkajs against Wren: admin create/delete (+ error codes), produce with every codec, consume
// back from offset 0 and compare exactly, list offsets (earliest/latest/by time), metadata,
// and a broker restart between produce and consume.
//
// Consuming: kafkajs has no assign() API -- its only consumer is `consumer.run()`, which joins a
// consumer group and would hide offset-exact comparisons behind a rebalance. So this test consumes through kafkajs's own low-level client (the Cluster and Broker classes that
// `consumer.run()` uses internally): `broker.fetch()` at explicit offsets, with kafkajs's Fetch
// request/response codec, its record-batch decoder and the registered decompression codecs, and
// its `Batch` class for filtering.  This checks everything the broker sends to a kafkajs
// consumer except the group protocol; `consumer.run()` with consumer groups is tested in
// groups.test.js.

const { test, describe } = require('node:test')
const assert = require('node:assert/strict')

const H = require('./helpers')
const {
  kafkaFor, produceAll, consumeAll, assertSameRecords, checkListOffsets, checkMetadata, deleteAndCheck,
} = require('./kafkajs-steps')

const TEST_TIMEOUT_MS = 180000

/** Runs one step of a scenario; a failure names the step (the kafkajs stacks often do not). */
async function step(name, fn) {
  try {
    return await fn()
  } catch (e) {
    e.message = `[step: ${name}] ${e.message}`
    throw e
  }
}

describe('kafkajs', () => {
  for (const codec of Object.keys(H.CODECS)) {
    test(`roundtrip ${codec}`, { timeout: TEST_TIMEOUT_MS }, () => H.withBroker(async broker => {
      const kafka = kafkaFor(broker.bootstrap)
      const admin = kafka.admin()
      await admin.connect()
      try {
        const topic = H.uniqueTopic(`kjs-${codec}`)
        const spec = { topics: [{ topic, numPartitions: H.PARTITIONS, replicationFactor: 1 }], waitForLeaders: true, timeout: 30000 }
        await step('create topic', async () => assert.equal(await admin.createTopics(spec), true, 'createTopics creates the topic'))
        await step('create again', async () => assert.equal(await admin.createTopics(spec), false, 'second createTopics reports TOPIC_ALREADY_EXISTS'))

        const baseTs = H.baseTimestamp()
        const recs = H.makeRecords(codec, baseTs)
        await step('produce', () => produceAll(kafka, topic, recs, codec))
        const got = await step('consume', () => consumeAll(broker.bootstrap, topic, H.endOffsets(recs)))
        assertSameRecords(H.expectedByPartition(recs), got, `[${codec}]`)
        await step('list offsets', () => checkListOffsets(admin, topic, recs, baseTs))
        await step('metadata', () => checkMetadata(admin, broker.bootstrap, topic))
        await step('delete topic', () => deleteAndCheck(admin, broker.bootstrap, topic))
      } finally {
        await admin.disconnect()
      }
    }))
  }

  test('restart between produce and consume', { timeout: TEST_TIMEOUT_MS }, () => H.withBroker(async broker => {
    const codec = 'gzip'
    const topic = H.uniqueTopic('kjs-restart')
    const baseTs = H.baseTimestamp()
    const recs = H.makeRecords(codec, baseTs)
    {
      const kafka = kafkaFor(broker.bootstrap)
      const admin = kafka.admin()
      await admin.connect()
      try {
        assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: H.PARTITIONS, replicationFactor: 1 }], waitForLeaders: true }), true)
      } finally {
        await admin.disconnect()
      }
      await step('produce', () => produceAll(kafka, topic, recs, codec))
    }

    await broker.restart()

    const kafka = kafkaFor(broker.bootstrap)
    const admin = kafka.admin()
    await admin.connect()
    try {
      await step('metadata after restart', () => checkMetadata(admin, broker.bootstrap, topic))
      const got = await step('consume after restart', () => consumeAll(broker.bootstrap, topic, H.endOffsets(recs)))
      assertSameRecords(H.expectedByPartition(recs), got, '[after restart]')
      await step('list offsets after restart', () => checkListOffsets(admin, topic, recs, baseTs))
      await step('delete topic', () => deleteAndCheck(admin, broker.bootstrap, topic))
    } finally {
      await admin.disconnect()
    }
  }))
})
