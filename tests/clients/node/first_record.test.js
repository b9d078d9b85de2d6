'use strict'
// How soon kafkajs consumer-group members get their first record with Wren's default
// group.initial.rebalance.delay.ms: a lone consumer within a second of being created, and two
// created together both within a second, sharing the first generation (one partition each).

const { test } = require('node:test')
const assert = require('node:assert/strict')

const H = require('./helpers')
const { kafkaFor } = require('./kafkajs-steps')

const PARTITIONS = 2
const WITHIN_MS = 1000 // the README's promise

async function topicWithARecordPerPartition(kafka) {
  const topic = H.uniqueTopic('first')
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 1 }], waitForLeaders: true })
  await admin.disconnect()
  const producer = kafka.producer()
  await producer.connect()
  await producer.send({ topic, acks: -1, messages: [...Array(PARTITIONS).keys()].map(p => ({ value: 'x', partition: p })) })
  await producer.disconnect()
  return topic
}

/** Creates a consumer, subscribes, and resolves with [ms to the first record, partitions owned,
 * generations joined by then]. */
async function firstRecord(kafka, topic, groupId) {
  const started = Date.now()
  const consumer = kafka.consumer({ groupId })
  let owned = 0
  let joins = 0
  consumer.on(consumer.events.GROUP_JOIN, e => {
    joins += 1
    owned = e.payload.memberAssignment[topic]?.length ?? 0
  })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  const [took, ownedThen, joinsThen] = await new Promise((resolve, reject) => {
    consumer.run({ eachMessage: async () => resolve([Date.now() - started, owned, joins]) }).catch(reject)
  })
  await consumer.disconnect()
  return [took, ownedThen, joinsThen]
}

test('a lone kafkajs consumer and two started together read within a second', { timeout: 120000 }, async () => {
  const broker = new H.WrenBroker()
  await broker.start()
  try {
    const kafka = kafkaFor(broker.bootstrap)
    const lone = await firstRecord(kafka, await topicWithARecordPerPartition(kafka), H.uniqueTopic('g'))
    assert.ok(lone[0] < WITHIN_MS, `lone consumer: first record after ${lone[0]} ms`)
    assert.equal(lone[1], PARTITIONS)
    assert.equal(lone[2], 1)

    const topic = await topicWithARecordPerPartition(kafka)
    const group = H.uniqueTopic('g')
    const pair = await Promise.all([firstRecord(kafka, topic, group), firstRecord(kafka, topic, group)])
    assert.ok(pair.every(([took]) => took < WITHIN_MS), `pair: ${JSON.stringify(pair)}`)
    assert.deepEqual(pair.map(([, owned, joins]) => [owned, joins]), [[1, 1], [1, 1]],
      'one partition each, from the first generation they joined')
  } finally {
    assert.equal(await broker.stop(), 0, broker.logs())
    broker.cleanup()
  }
})
