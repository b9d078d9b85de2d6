// Vitest + kafkajs against Wren: `npx vitest run`. A fresh broker for each test.
import { afterEach, beforeEach, expect, test } from 'vitest'
import kafkajs from 'kafkajs'
import { startWren } from 'wren-broker'

let wren
beforeEach(async () => { wren = await startWren({ config: { numPartitions: 2 } }) })
afterEach(() => wren.stop())

test('kafkajs sends a record to Wren', async () => {
  const kafka = new kafkajs.Kafka({ brokers: [wren.bootstrapServers], logLevel: kafkajs.logLevel.NOTHING })
  const producer = kafka.producer()
  await producer.connect()
  const [result] = await producer.send({ topic: 'vitest', messages: [{ value: 'hi' }] })
  await producer.disconnect()
  expect(result.errorCode).toBe(0)
})
