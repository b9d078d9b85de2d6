'use strict'
// A thin client of Wren's HTTP control listener (`wren --control`), on Node's fetch.

/** The broker refused: status (HTTP), error (a Kafka error name, INVALID_REQUEST, NOT_FOUND), errorCode (Kafka's or undefined). */
class ControlError extends Error {
  constructor(status, body) {
    super(`${status} ${body.error}: ${body.message || ''}`)
    this.name = 'ControlError'
    this.status = status
    this.error = body.error
    this.errorCode = body.error_code
  }
}

class Control {
  constructor(address) {
    this.address = address
    this.url = `http://${address}`
  }

  async call(method, route, body, query) {
    const params = new URLSearchParams()
    for (const [k, v] of Object.entries(query || {})) if (v !== undefined && v !== null) params.set(k, String(v))
    const qs = params.toString()
    const res = await fetch(this.url + route + (qs ? `?${qs}` : ''), {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const text = await res.text()
    let parsed
    try {
      parsed = text ? JSON.parse(text) : null
    } catch {
      parsed = { error: 'HTTP_ERROR', message: text }
    }
    if (!res.ok) throw new ControlError(res.status, parsed || {})
    return parsed
  }

  health() { return this.call('GET', '/v1/health') }

  /** CreateTopics' validation; partitions undefined takes num.partitions. */
  createTopic(name, { partitions, configs } = {}) {
    return this.call('POST', '/v1/topics', { name, partitions, configs })
  }

  topics() { return this.call('GET', '/v1/topics') }

  /** Moves the broker's clock forward; resolves once every timer now due has run. */
  advanceClock(ms) { return this.call('POST', '/v1/clock/advance', { ms }) }

  clock() { return this.call('GET', '/v1/clock') }

  /** Deletes every topic, group, offset and transaction; same address, same process. */
  reset() { return this.call('POST', '/v1/reset') }

  /** A rule as `wren --fault` reads it, e.g. { api: 'Produce', error_code: 6, count: 2 }; resolves to its id. */
  async addFault(rule) { return (await this.call('POST', '/v1/faults', rule)).id }

  faults() { return this.call('GET', '/v1/faults') }

  removeFault(id) { return this.call('DELETE', `/v1/faults/${Number(id)}`) }

  async clearFaults() { return (await this.call('DELETE', '/v1/faults')).removed }

  // ---- simulated cluster (startWren({ brokers: N })) ----
  cluster() { return this.call('GET', '/v1/cluster') }

  /** Its listener closes and its connections drop; partitions it led move to an ISR member. */
  stopBroker(id) { return this.call('POST', `/v1/brokers/${Number(id)}/stop`) }

  /** Listens on its port again and rejoins the ISRs; leadership does not move back. */
  startBroker(id) { return this.call('POST', `/v1/brokers/${Number(id)}/start`) }

  partitions(topic) { return this.call('GET', `/v1/topics/${encodeURIComponent(topic)}/partitions`) }

  moveLeader(topic, partition, broker) {
    return this.call('POST', `/v1/topics/${encodeURIComponent(topic)}/partitions/${Number(partition)}/leader`, { broker })
  }

  /** Shrinks or grows the ISR (a subset of the replicas), e.g. below min.insync.replicas. */
  setIsr(topic, partition, isr) {
    return this.call('POST', `/v1/topics/${encodeURIComponent(topic)}/partitions/${Number(partition)}/isr`, { isr })
  }

  async groupCoordinator(group) { return (await this.call('GET', `/v1/coordinators/group/${encodeURIComponent(group)}`)).broker }

  async transactionCoordinator(id) {
    return (await this.call('GET', `/v1/coordinators/transaction/${encodeURIComponent(id)}`)).broker
  }

  /** Logged requests, oldest first; waitMs waits for a first match. */
  requests({ api, since, waitMs } = {}) {
    return this.call('GET', '/v1/requests', undefined, { api, since, wait_ms: waitMs })
  }
}

module.exports = { Control, ControlError }
