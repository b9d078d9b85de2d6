import type { ChildProcess } from 'node:child_process'

export interface StartOptions {
  /** Broker config keys: `{ numPartitions: 3 }` or `{ 'num.partitions': 3 }` (sent as WREN_<KEY>). */
  config?: Record<string, string | number | boolean>
  /** Address to bind; default 127.0.0.1:0 (a free port). */
  listen?: string
  /** Data directory kept after stop; default a temporary one removed at stop. */
  dataDir?: string
  /** Serve the HTTP control listener; default: when the binary has one. */
  control?: boolean
  /** The wren binary; default $WREN_BIN, else the one in this package. */
  binary?: string
  /** A simulated cluster of this many brokers in the one process (ids 1..N); default 1. */
  brokers?: number
}

export interface PartitionState {
  partition: number
  leader: number
  leader_epoch: number
  replicas: number[]
  isr: number[]
}

export declare class ControlError extends Error {
  status: number
  error: string
  errorCode?: number
}

export declare class Control {
  readonly address: string
  readonly url: string
  health(): Promise<{ status: string }>
  createTopic(name: string, opts?: { partitions?: number; configs?: Record<string, string | number | boolean> }): Promise<any>
  topics(): Promise<any[]>
  advanceClock(ms: number): Promise<{ now_ms: number; offset_ms: number }>
  clock(): Promise<{ now_ms: number; offset_ms: number }>
  reset(): Promise<{ topics: number; groups: number; transactions: number }>
  addFault(rule: Record<string, unknown>): Promise<number>
  faults(): Promise<any[]>
  removeFault(id: number): Promise<unknown>
  clearFaults(): Promise<number>
  requests(filter?: { api?: string; since?: number; waitMs?: number }): Promise<any[]>
  cluster(): Promise<{ cluster_id: string; controller: number; brokers: { id: number; host: string; port: number; up: boolean }[] }>
  stopBroker(id: number): Promise<{ id: number; up: boolean }>
  startBroker(id: number): Promise<{ id: number; up: boolean }>
  partitions(topic: string): Promise<PartitionState[]>
  moveLeader(topic: string, partition: number, broker: number): Promise<PartitionState>
  setIsr(topic: string, partition: number, isr: number[]): Promise<PartitionState>
  groupCoordinator(group: string): Promise<number>
  transactionCoordinator(transactionalId: string): Promise<number>
}

export interface Wren {
  bootstrapServers: string
  /** Broker id -> HOST:PORT (one entry unless started with `brokers`). */
  brokers: Record<number, string>
  control: Control
  /** SIGTERM; resolves once wren exited cleanly (status 0). */
  stop(): Promise<void>
  process: ChildProcess
}

export declare function startWren(options?: StartOptions): Promise<Wren>
export declare function binaryPath(): string
export declare function supportsControl(binary?: string): boolean
export declare function configEnv(config?: Record<string, unknown>): Record<string, string>
