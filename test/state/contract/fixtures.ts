// What the parts of the keyed state backend contract (../keyed-state-backend.contract.ts) share:
// the factory's options, a clock the tests move, snapshots through the checkpoint codec and in a
// comparable form, one descriptor of each kind of state and a writer of all of them, and the
// context of one backend's run (its factory, the heap backend as reference, a savepoint).

import assert from 'node:assert/strict'
import {
  ValueStateDescriptor, ListStateDescriptor, MapStateDescriptor, ReducingStateDescriptor, AggregatingStateDescriptor,
  type StateTtlConfig,
} from '../../../src/api/state.ts'
import type { KeyedStateBackend, KeyedStateSnapshot } from '../../../src/state/keyed-state-backend.ts'
import type { HeapKeyedStateBackend } from '../../../src/state/heap/keyed-state-backend.ts'
import type { KeyGroupRange } from '../../../src/state/key-groups.ts'
import { entryChunks } from '../../../src/state/entry-chunks.ts'
import { encodeValue, decodeValue } from '../../../src/runtime/network/batch-codec.ts'

export interface ContractBackendOptions {
  readonly maxParallelism: number
  /** The clock TTL reads. */
  readonly now: () => number
}

export type BackendFactory = (options: ContractBackendOptions) => KeyedStateBackend

export const MAX_P = 128
export const ALL: KeyGroupRange = { start: 0, end: MAX_P - 1 }
/** A clock the test moves. */
export class ManualClock {
  time = 1_000_000
  readonly now = () => this.time
  advance(ms: number): void {
    this.time += ms
  }
}

/** A snapshot as a checkpoint stores it and a restore reads it. */
export function throughCodec(snapshot: KeyedStateSnapshot): KeyedStateSnapshot {
  return decodeValue<KeyedStateSnapshot>(encodeValue(snapshot))
}

/** A canonical snapshot in a comparable form: per state, sorted [keyGroup, key, value] JSON lines. */
export function normalize(snapshot: KeyedStateSnapshot): Record<string, { kind: string; ttl: boolean; entries: string[] }> {
  assert.equal(snapshot.format, 'canonical')
  const states = (snapshot as Extract<KeyedStateSnapshot, { format: 'canonical' }>).states
  const out: Record<string, { kind: string; ttl: boolean; entries: string[] }> = {}
  for (const [name, s] of Object.entries(states)) {
    const lines: string[] = []
    const flat = entryChunks(s.entries).flat()
    for (let i = 0; i < flat.length; i += 3) {
      let value = flat[i + 2]
      const sortPairs = (pairs: Array<[unknown, unknown]>) => [...pairs].sort((a, b) => (JSON.stringify(a[0]) < JSON.stringify(b[0]) ? -1 : 1))
      // (map keys here are JSON-able; user keys may be bigints)
      if (s.kind === 'map') value = s.ttl ? [sortPairs((value as [Array<[unknown, unknown]>, number])[0]), (value as [unknown, number])[1]] : sortPairs(value as Array<[unknown, unknown]>)
      lines.push(JSON.stringify([flat[i], flat[i + 1], value], (_k, v) => (typeof v === 'bigint' ? `${v}n` : v)))
    }
    out[name] = { kind: s.kind, ttl: s.ttl, entries: lines.sort() }
  }
  return out
}

export const counter = new ValueStateDescriptor<number>('count', 0)
export const list = new ListStateDescriptor<string>('list')
export const map = new MapStateDescriptor<string, number>('map')
export const sum = new ReducingStateDescriptor<number>('sum', (a, b) => a + b)
export const avg = new AggregatingStateDescriptor<number, { s: number; n: number }, number>('avg', {
  createAccumulator: () => ({ s: 0, n: 0 }),
  add: (v, acc) => ({ s: acc.s + v, n: acc.n + 1 }),
  getResult: (acc) => acc.s / acc.n,
})


/** A TTL configuration: 1 s, no incremental cleanup, unless overridden. */
export const ttl = (config: Partial<StateTtlConfig> = {}): StateTtlConfig => ({ ttlMs: 1000, cleanupIncrementally: 0, ...config })

/** Writes a little of every state kind for keys 0..n-1 (plus composite keys). */
export function fill(b: KeyedStateBackend, n: number): void {
  const c = b.getState(counter), l = b.getState(list), m = b.getState(map), s = b.getState(sum), a = b.getState(avg)
  for (let k = 0; k < n; k++) {
    b.setCurrentKey(k % 3 === 0 ? `key-${k}` : k % 3 === 1 ? k : [k, 'x'])
    c.update(k + 1)
    l.addAll([`a${k}`, `b${k}`])
    m.put('x', k)
    m.put('y', -k)
    s.add(k)
    s.add(1)
    a.add(k)
    a.add(k + 2)
  }
}

/** One backend's run of the contract: its factory, the heap backend (the reference), a savepoint through the codec. */
export interface ContractContext {
  /** A fresh backend of the implementation under test, disposed after the test. */
  make(options?: Partial<ContractBackendOptions>): KeyedStateBackend
  /** The implementation's factory itself (the caller disposes what it makes). */
  create: BackendFactory
  /** A fresh heap backend, the reference implementation. */
  heap(now?: () => number): HeapKeyedStateBackend
  /** A savepoint of `b`, as a restore reads it. */
  savepoint(b: KeyedStateBackend, id?: number): Promise<KeyedStateSnapshot>
}
