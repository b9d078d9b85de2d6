// Jest + kafkajs against Wren: `npx jest`. One broker per file; to empty it between tests add
// `beforeEach(() => wren.control.reset())` (needs a wren with the control listener).
const { Kafka, logLevel } = require('kafkajs')
const { startWren } = require('wren-broker')

let wren
beforeAll(async () => { wren = await startWren() })
afterAll(() => wren.stop())

test('kafkajs sends a record to Wren', async () => {
  const kafka = new Kafka({ brokers: [wren.bootstrapServers], logLevel: logLevel.NOTHING })
  const producer = kafka.producer()
  await producer.connect()
  const [result] = await producer.send({ topic: 'jest', messages: [{ value: 'hi' }] })
  await producer.disconnect()
  expect(result.errorCode).toBe(0)
})
