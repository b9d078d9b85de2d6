// node:test + kafkajs against Wren: `node --test`.
const { test, before, after, beforeEach } = require('node:test')
const assert = require('node:assert')
const { Kafka, logLevel } = require('kafkajs')
const { startWren, supportsControl } = require('wren-broker')

let wren
let kafka
before(async () => {
  wren = await startWren({ config: { numPartitions: 3 } })
  kafka = new Kafka({ clientId: 'example', brokers: [wren.bootstrapServers], logLevel: logLevel.NOTHING })
})
after(() => wren.stop())

test('a record produced with kafkajs is consumed back', async () => {
  const producer = kafka.producer()
  await producer.connect()
  await producer.send({ topic: 'orders', messages: [{ key: 'k1', value: 'hello' }] })
  await producer.disconnect()

  const consumer = kafka.consumer({ groupId: 'example' })
  await consumer.connect()
  await consumer.subscribe({ topic: 'orders', fromBeginning: true })
  const value = await new Promise((resolve) => {
    consumer.run({ eachMessage: async ({ message }) => resolve(message.value.toString()) })
  })
  await consumer.disconnect()
  assert.equal(value, 'hello')

  // config.numPartitions reached the broker: the auto-created topic has 3 partitions.
  const admin = kafka.admin()
  await admin.connect()
  const { topics } = await admin.fetchTopicMetadata({ topics: ['orders'] })
  await admin.disconnect()
  assert.equal(topics[0].partitions.length, 3)
})

const noControl = !supportsControl() && 'this wren binary has no control listener (--control)'

test('the control plane creates topics and empties the broker', { skip: noControl }, async () => {
  await wren.control.createTopic('seeded', { partitions: 2 })
  const admin = kafka.admin()
  await admin.connect()
  assert.ok((await admin.listTopics()).includes('seeded'))
  const summary = await wren.control.reset()
  assert.ok(summary.topics >= 1)
  // What is left is Kafka's internal __consumer_offsets, which every broker lists.
  assert.deepEqual((await admin.listTopics()).filter((t) => !t.startsWith('__')), [])
  await admin.disconnect()
})
