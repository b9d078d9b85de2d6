'use strict'
// The control listener (wren --control) driven over HTTP from a kafkajs test: two
// NOT_LEADER_OR_FOLLOWER answers to an idempotent producer, then every record once and in
// order; a dropped Produce answer retried without a duplicate; a transaction aborted by moving the broker's clock past its timeout, its producer
// fenced on commit and its records never read by a read_committed consumer; a frozen group
// member expired by moving the clock past its session timeout, its partitions reassigned.

const { test } = require('node:test')
const assert = require('node:assert/strict')

const H = require('./helpers')
const { Kafka, logLevel } = require('kafkajs')

const RECORDS = 200

async function control(broker, method, path, body) {
  const res = await fetch(broker.control + path, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.text()
  assert.ok(res.ok, `${method} ${path}: ${res.status} ${text}`)
  return JSON.parse(text)
}

function kafkaFor(broker) {
  return new Kafka({
    clientId: 'wren-kafkajs-control',
    brokers: [broker.bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 10, initialRetryTime: 20, maxRetryTime: 200 },
  })
}

async function createTopic(kafka) {
  const topic = H.uniqueTopic('control-kafkajs')
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true })
  await admin.disconnect()
  return topic
}

/** Values of partition 0, read_committed, up to and including the committed `sentinel`. */
async function readCommittedUntil(kafka, topic, sentinel) {
  const consumer = kafka.consumer({ groupId: H.uniqueTopic('g'), readUncommitted: false })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  const got = []
  await new Promise((resolve, reject) => {
    consumer.run({
      eachMessage: async ({ message }) => {
        got.push(message.value.toString())
        if (got[got.length - 1] === sentinel) resolve()
      },
    }).catch(reject)
  })
  await consumer.disconnect()
  return got
}

async function withControlledBroker(fn) {
  const broker = new H.WrenBroker(['--control', '127.0.0.1:0'])
  await broker.start()
  try {
    await fn(broker)
  } catch (e) {
    e.message += `\n${broker.logs()}`
    throw e
  } finally {
    assert.equal(await broker.stop(), 0)
    broker.cleanup()
  }
}

/** An idempotent producer sends RECORDS records and a sentinel to a new topic through the
 * Produce fault `fault`: a read_committed reader gets every record once, in order, and the
 * rule fired `fired` times. */
async function produceThroughFault(broker, fault, fired) {
  const kafka = kafkaFor(broker)
  const topic = await createTopic(kafka)
  const rule = await control(broker, 'POST', '/v1/faults', { api: 'Produce', topic, ...fault })
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false })
  await producer.connect()
  for (let i = 0; i < RECORDS; i += 20) {
    const messages = []
    for (let j = i; j < i + 20; j++) messages.push({ partition: 0, value: String(j) })
    await producer.send({ topic, acks: -1, messages })
  }
  await producer.send({ topic, acks: -1, messages: [{ partition: 0, value: 'sentinel' }] })
  await producer.disconnect()
  const want = [...Array(RECORDS).keys()].map(String).concat(['sentinel'])
  assert.deepEqual(await readCommittedUntil(kafka, topic, 'sentinel'), want)
  const rules = await control(broker, 'GET', '/v1/faults')
  assert.equal(rules.find(r => r.id === rule.id).fired, fired)
}

test('two NOT_LEADER_OR_FOLLOWER answers, then every record once in order', { timeout: 120000 }, async () => {
  await withControlledBroker(broker =>
    produceThroughFault(broker, { error_code: 'NOT_LEADER_OR_FOLLOWER', count: 2 }, 2))
})

test('a dropped Produce answer is retried without a duplicate', { timeout: 120000 }, async () => {
  await withControlledBroker(broker =>
    produceThroughFault(broker, { action: 'drop_response', after: 1, count: 1 }, 1))
})

test('moving the clock aborts a transaction and fences its producer', { timeout: 120000 }, async () => {
  await withControlledBroker(async broker => {
    const kafka = kafkaFor(broker)
    const topic = await createTopic(kafka)
    const producer = kafka.producer({
      transactionalId: H.uniqueTopic('txn'), idempotent: true, maxInFlightRequests: 1, transactionTimeout: 60000,
    })
    await producer.connect()
    const txn = await producer.transaction()
    await txn.send({ topic, messages: [...Array(10).keys()].map(i => ({ partition: 0, value: `doomed-${i}` })) })
    const clock = await control(broker, 'POST', '/v1/clock/advance', { ms: 120000 })
    assert.equal(clock.offset_ms, 120000)
    await assert.rejects(txn.commit(), 'the timed-out transaction cannot commit')
    await producer.disconnect().catch(() => {})
    const plain = kafka.producer()
    await plain.connect()
    await plain.send({ topic, acks: -1, messages: [{ partition: 0, value: 'sentinel' }] })
    await plain.disconnect()
    assert.deepEqual(await readCommittedUntil(kafka, topic, 'sentinel'), ['sentinel'])
  })
})

// A group member in its own process, which the test freezes (SIGSTOP: no heartbeat, no
// LeaveGroup). It prints `assigned N` at each join.
const FROZEN_MEMBER = `
const { Kafka, logLevel } = require('kafkajs')
const [bootstrap, group, topic] = process.argv.slice(1)
const kafka = new Kafka({ clientId: 'frozen', brokers: [bootstrap], logLevel: logLevel.NOTHING })
const consumer = kafka.consumer({ groupId: group, sessionTimeout: 60000, heartbeatInterval: 500 })
consumer.on(consumer.events.GROUP_JOIN, e => {
  console.log('assigned ' + (e.payload.memberAssignment[topic] || []).length)
})
consumer.connect()
  .then(() => consumer.subscribe({ topic, fromBeginning: true }))
  .then(() => consumer.run({ eachMessage: async () => {} }))
`

test('moving the clock expires a frozen member and moves its partitions', { timeout: 120000 }, async () => {
  await withControlledBroker(async broker => {
    const kafka = kafkaFor(broker)
    const topic = H.uniqueTopic('control-kafkajs-group')
    const admin = kafka.admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic, numPartitions: 4, replicationFactor: 1 }], waitForLeaders: true })
    await admin.disconnect()
    const group = H.uniqueTopic('g')
    const { spawn } = require('node:child_process')
    const frozen = spawn(process.execPath, ['-e', FROZEN_MEMBER, broker.bootstrap, group, topic],
      { cwd: __dirname, stdio: ['ignore', 'pipe', 'inherit'] })
    const frozenJoins = []
    frozen.stdout.on('data', d => frozenJoins.push(...d.toString().trim().split('\n')))
    const other = kafka.consumer({ groupId: group, sessionTimeout: 60000, heartbeatInterval: 500 })
    try {
      const until = async (what, cond, ms = 60000) => {
        const deadline = Date.now() + ms
        while (!cond()) {
          assert.ok(Date.now() < deadline, what)
          await new Promise(r => setTimeout(r, 50))
        }
      }
      await until('the frozen member joined alone', () => frozenJoins.includes('assigned 4'))
      let owned = 0
      other.on(other.events.GROUP_JOIN, e => { owned = (e.payload.memberAssignment[topic] || []).length })
      await other.connect()
      await other.subscribe({ topic, fromBeginning: true })
      await other.run({ eachMessage: async () => {} })
      await until('the rebalance shares the partitions', () => owned === 2)
      frozen.kill('SIGSTOP')
      await control(broker, 'POST', '/v1/clock/advance', { ms: 61000 })
      // Well before the 60 s session timeout runs out in real time: the clock moved it.
      await until("the frozen member's partitions moved", () => owned === 4, 30000)
    } finally {
      await other.disconnect().catch(() => {})
      frozen.kill('SIGKILL')
    }
  })
})
