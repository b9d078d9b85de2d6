'use strict'
// kafkajs's admin has only the legacy AlterConfigs (no IncrementalAlterConfigs): the set it
// sends replaces the topic's overrides, validate_only changes nothing, a bad value is
// INVALID_CONFIG (issue 11, "Missing APIs").

const { test } = require('node:test')
const assert = require('node:assert/strict')
const { ConfigResourceTypes } = require('kafkajs')

const H = require('./helpers')
const { kafkaFor } = require('./kafkajs-steps')

/** The topic's per-topic overrides (DYNAMIC_TOPIC_CONFIG, source 1), as { key: value }. */
async function overrides(admin, topic) {
  const described = await admin.describeConfigs({
    resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }],
    includeSynonyms: false,
  })
  const out = {}
  for (const entry of described.resources[0].configEntries) {
    if (entry.configSource === 1) out[entry.configName] = entry.configValue
  }
  return out
}

test('kafkajs alterConfigs replaces the override set', { timeout: 120000 }, async () => {
  const broker = new H.WrenBroker()
  await broker.start()
  const admin = kafkaFor(broker.bootstrap).admin()
  await admin.connect()
  try {
    const topic = H.uniqueTopic('kjs-alter-configs')
    await admin.createTopics({
      topics: [{ topic, numPartitions: 1, replicationFactor: 1, configEntries: [{ name: 'retention.ms', value: '60000' }] }],
      waitForLeaders: true,
    })
    assert.deepEqual(await overrides(admin, topic), { 'retention.ms': '60000' })
    const set = (configEntries, validateOnly = false) => admin.alterConfigs({
      validateOnly,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries }],
    })
    await set([{ name: 'retention.bytes', value: '5000' }], true)
    assert.deepEqual(await overrides(admin, topic), { 'retention.ms': '60000' }, 'validateOnly keeps the set')
    const answer = await set([{ name: 'retention.bytes', value: '5000' }])
    assert.equal(answer.resources[0].errorCode, 0)
    assert.deepEqual(await overrides(admin, topic), { 'retention.bytes': '5000' }, 'retention.ms went back to its default')
    await assert.rejects(set([{ name: 'retention.ms', value: 'soon' }]), err => err.type === 'INVALID_CONFIG')
    assert.deepEqual(await overrides(admin, topic), { 'retention.bytes': '5000' })
  } catch (e) {
    e.message += `\n${broker.logs()}`
    throw e
  } finally {
    await admin.disconnect()
    assert.equal(await broker.stop(), 0)
    broker.cleanup()
  }
})
