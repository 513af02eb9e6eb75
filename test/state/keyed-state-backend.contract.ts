// The contract every keyed state backend meets (heap, LMDB). Each implementation's test file
// runs it with a factory:
//
//   runKeyedStateBackendContract('hashmap', ({ maxParallelism, now }) => new HeapKeyedStateBackend(maxParallelism, now))
//
// The factory gets the max parallelism and a clock (TTL tests move it by hand). Snapshots pass
// through the checkpoint codec (encodeValue/decodeValue) before a restore, as they do between a
// checkpoint and a restart. Canonical snapshots are also exchanged with the heap backend, the
// reference implementation, in both directions.

import { describe, test, afterEach } from 'node:test'
import assert from 'node:assert/strict'
import {
  ValueStateDescriptor, ListStateDescriptor, MapStateDescriptor, ReducingStateDescriptor, AggregatingStateDescriptor,
  type StateTtlConfig,
} from '../../src/api/state.ts'
import type { KeyedStateBackend, KeyedStateSnapshot } from '../../src/state/keyed-state-backend.ts'
import { HeapKeyedStateBackend } from '../../src/state/heap/keyed-state-backend.ts'
import { assignToKeyGroup, keyGroupRangeForOperator, type KeyGroupRange } from '../../src/state/key-groups.ts'
import { encodeValue, decodeValue } from '../../src/runtime/network/batch-codec.ts'
import { isWeirError } from '../../src/errors.ts'

export interface ContractBackendOptions {
  readonly maxParallelism: number
  /** The clock TTL reads. */
  readonly now: () => number
}

export type BackendFactory = (options: ContractBackendOptions) => KeyedStateBackend

const MAX_P = 128
const ALL: KeyGroupRange = { start: 0, end: MAX_P - 1 }

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
    for (let i = 0; i < s.entries.length; i += 3) {
      let value = s.entries[i + 2]
      const sortPairs = (pairs: Array<[unknown, unknown]>) => [...pairs].sort((a, b) => (JSON.stringify(a[0]) < JSON.stringify(b[0]) ? -1 : 1))
      // (map keys here are JSON-able; user keys may be bigints)
      if (s.kind === 'map') value = s.ttl ? [sortPairs((value as [Array<[unknown, unknown]>, number])[0]), (value as [unknown, number])[1]] : sortPairs(value as Array<[unknown, unknown]>)
      lines.push(JSON.stringify([s.entries[i], s.entries[i + 1], value], (_k, v) => (typeof v === 'bigint' ? `${v}n` : v)))
    }
    out[name] = { kind: s.kind, ttl: s.ttl, entries: lines.sort() }
  }
  return out
}

const counter = new ValueStateDescriptor<number>('count', 0)
const list = new ListStateDescriptor<string>('list')
const map = new MapStateDescriptor<string, number>('map')
const sum = new ReducingStateDescriptor<number>('sum', (a, b) => a + b)
const avg = new AggregatingStateDescriptor<number, { s: number; n: number }, number>('avg', {
  createAccumulator: () => ({ s: 0, n: 0 }),
  add: (v, acc) => ({ s: acc.s + v, n: acc.n + 1 }),
  getResult: (acc) => acc.s / acc.n,
})

/** Writes a little of every state kind for keys 0..n-1 (plus composite keys). */
function fill(b: KeyedStateBackend, n: number): void {
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

export function runKeyedStateBackendContract(name: string, create: BackendFactory): void {
  describe(`keyed state backend contract: ${name}`, () => {
    const created: KeyedStateBackend[] = []
    const make = (options: Partial<ContractBackendOptions> = {}) => {
      const b = create({ maxParallelism: MAX_P, now: Date.now, ...options })
      created.push(b)
      return b
    }
    const heap = (now: () => number = Date.now) => new HeapKeyedStateBackend(MAX_P, now)
    afterEach(() => {
      for (const b of created.splice(0)) b.dispose()
    })

    async function savepoint(b: KeyedStateBackend, id = 1): Promise<KeyedStateSnapshot> {
      return throughCodec(await b.materializeSnapshot(b.captureSnapshot(id, { savepoint: true })))
    }

    // ---- state kinds ----

    test('value state returns the default until updated, then the value; clear and null remove it', () => {
      const b = make()
      const s = b.getState(new ValueStateDescriptor<number>('v', 7))
      const t = b.getState(new ValueStateDescriptor<string>('w'))
      b.setCurrentKey('a')
      assert.equal(s.value(), 7)
      assert.equal(t.value(), undefined)
      s.update(1)
      t.update('x')
      assert.equal(s.value(), 1)
      assert.equal(t.value(), 'x')
      s.clear()
      assert.equal(s.value(), 7)
      t.update(null as unknown as string)
      assert.equal(t.value(), undefined)
      assert.deepEqual([...b.keys('w')], [])
    })

    test('value state holds structured values', () => {
      const b = make()
      const s = b.getState(new ValueStateDescriptor<unknown>('v'))
      const value = { n: 1, s: 'x', list: [1, 2, { deep: true }], big: 12345678901234n, f: 1.5, nested: { a: [null] } }
      b.setCurrentKey('k')
      s.update(value)
      b.setCurrentKey('other')
      s.update(1)
      b.setCurrentKey('k')
      assert.deepEqual(s.value(), value)
    })

    test('list state adds, replaces, clears; an empty list is no entry', () => {
      const b = make()
      const s = b.getState(new ListStateDescriptor<number>('l'))
      b.setCurrentKey('a')
      assert.deepEqual(s.get(), [])
      s.add(1)
      s.addAll([2, 3])
      s.addAll([])
      assert.deepEqual(s.get(), [1, 2, 3])
      const given = [9, 8]
      s.update(given)
      given.push(7)
      assert.deepEqual(s.get(), [9, 8], 'update copies the array it is given')
      s.update([])
      assert.deepEqual(s.get(), [])
      assert.deepEqual([...b.keys('l')], [])
      s.add(5)
      s.clear()
      assert.deepEqual(s.get(), [])
    })

    test('map state: put, get, contains, remove, entries, keys, values, isEmpty, putAll, clear', () => {
      const b = make()
      const s = b.getState(new MapStateDescriptor<string, number>('m'))
      b.setCurrentKey('a')
      assert.equal(s.isEmpty(), true)
      assert.equal(s.get('x'), undefined)
      assert.equal(s.contains('x'), false)
      s.put('x', 1)
      s.put('y', 2)
      s.put('x', 3)
      assert.equal(s.get('x'), 3)
      assert.equal(s.contains('y'), true)
      assert.equal(s.isEmpty(), false)
      assert.deepEqual(new Map(s.entries()), new Map([['x', 3], ['y', 2]]))
      assert.deepEqual([...s.keys()].sort(), ['x', 'y'])
      assert.deepEqual([...s.values()].sort(), [2, 3])
      s.putAll([['z', 4], ['y', 5]])
      assert.deepEqual(new Map(s.entries()), new Map([['x', 3], ['y', 5], ['z', 4]]))
      s.remove('y')
      s.remove('nope')
      assert.equal(s.contains('y'), false)
      assert.deepEqual(new Map(s.entries()), new Map([['x', 3], ['z', 4]]))
      s.remove('x')
      s.remove('z')
      assert.equal(s.isEmpty(), true)
      assert.deepEqual([...b.keys('m')], [], 'a map emptied by remove() leaves no entry')
      s.put('q', 1)
      s.clear()
      assert.equal(s.isEmpty(), true)
      assert.equal(s.get('q'), undefined)
      s.put('r', 2)
      assert.deepEqual([...s.entries()], [['r', 2]], 'a map cleared and written again holds only the new entries')
    })

    test('map state with number, string and composite map keys', () => {
      const b = make()
      const s = b.getState(new MapStateDescriptor<unknown, string>('m'))
      b.setCurrentKey(1)
      const pair = [1, 2]
      s.put(1, 'one')
      s.put('1', 'string one')
      s.put(pair, 'pair')
      assert.equal(s.get(1), 'one')
      assert.equal(s.get('1'), 'string one')
      assert.equal(s.contains(2), false)
      assert.equal(s.get(pair), 'pair')
      // (Composite map keys: the heap backend compares them by identity, LMDB by JSON value.)
      assert.deepEqual([...s.entries()].map(([k, v]) => [JSON.stringify(k), v]).sort(), [['"1"', 'string one'], ['1', 'one'], ['[1,2]', 'pair']])
    })

    test('reducing and aggregating state', () => {
      const b = make()
      const r = b.getState(new ReducingStateDescriptor<number>('r', (x, y) => x + y))
      const a = b.getState(avg)
      b.setCurrentKey('a')
      assert.equal(r.get(), undefined)
      assert.equal(a.get(), undefined)
      r.add(2)
      r.add(3)
      a.add(1)
      a.add(4)
      assert.equal(r.get(), 5)
      assert.equal(a.get(), 2.5)
      r.clear()
      a.clear()
      assert.equal(r.get(), undefined)
      assert.equal(a.get(), undefined)
    })

    test('each key has its own entries', () => {
      const b = make()
      const c = b.getState(counter)
      const m = b.getState(map)
      for (let round = 0; round < 3; round++) {
        for (let k = 0; k < 50; k++) {
          b.setCurrentKey(`k${k}`)
          c.update(c.value() + k)
          m.put(`r${round}`, k)
        }
      }
      for (let k = 0; k < 50; k++) {
        b.setCurrentKey(`k${k}`)
        assert.equal(c.value(), 3 * k)
        assert.deepEqual(new Map(m.entries()), new Map([['r0', k], ['r1', k], ['r2', k]]))
      }
      assert.equal([...b.keys('count')].length, 50)
      assert.deepEqual(new Set(b.keys('map')), new Set(Array.from({ length: 50 }, (_, k) => `k${k}`)))
    })

    test('keys of different types are different keys: 1, "1", 1n, true', () => {
      const b = make()
      const c = b.getState(counter)
      const keys = [1, '1', 1n, true, 0, -1, 2 ** 40, 0.5, '', 'ü€']
      keys.forEach((k, i) => {
        b.setCurrentKey(k)
        c.update(i + 1)
      })
      keys.forEach((k, i) => {
        b.setCurrentKey(k)
        assert.equal(c.value(), i + 1, `key ${String(k)}`)
      })
      assert.equal([...b.keys('count')].length, keys.length)
    })

    test('composite keys: equal arrays and objects share one entry; currentMapKey is their JSON text', () => {
      const b = make()
      const c = b.getState(counter)
      b.setCurrentKey(['a', 1])
      assert.equal(b.currentMapKey, '["a",1]')
      c.update(c.value() + 1)
      b.setCurrentKey(['a', 1])
      c.update(c.value() + 1)
      b.setCurrentKey({ user: 'u', n: 2 })
      c.update(10)
      b.setCurrentKey(['a', 2])
      assert.equal(c.value(), 0)
      b.setCurrentKey(['a', 1])
      assert.equal(c.value(), 2)
      assert.deepEqual(b.currentKey, ['a', 1])
      b.setCurrentKey({ user: 'u', n: 2 })
      assert.equal(c.value(), 10)
      const keys = [...b.keys('count')]
      assert.equal(keys.length, 2)
      assert.deepEqual(new Set(keys.map((k) => JSON.stringify(k))), new Set(['["a",1]', '{"user":"u","n":2}']))
    })

    test('getState returns the registered state; another kind under the same name fails, naming it', () => {
      const b = make()
      const s1 = b.getState(new ValueStateDescriptor<number>('same'))
      const s2 = b.getState(new ValueStateDescriptor<number>('same'))
      assert.equal(s1, s2)
      assert.throws(() => b.getState(new ListStateDescriptor<number>('same')), (e: Error) => isWeirError(e) && /'same'/.test(e.message) && /value/.test(e.message) && /list/.test(e.message))
      assert.throws(() => b.getState(new MapStateDescriptor<string, number>('same')), /'same'.*value.*map/)
    })

    // ---- TTL ----

    const ttl = (config: Partial<StateTtlConfig> = {}): StateTtlConfig => ({ ttlMs: 1000, cleanupIncrementally: 0, ...config })

    test('TTL: a value is visible until ttlMs after its last write, then gone', () => {
      const clock = new ManualClock()
      const b = make({ now: clock.now })
      const s = b.getState(new ValueStateDescriptor<number>('v', -1).enableTimeToLive(ttl()))
      b.setCurrentKey('a')
      s.update(1)
      clock.advance(999)
      assert.equal(s.value(), 1)
      s.update(2)
      clock.advance(999)
      assert.equal(s.value(), 2, 'a write restarts the time to live')
      clock.advance(1)
      assert.equal(s.value(), -1, 'expired: the default')
      clock.advance(10_000)
      assert.equal(s.value(), -1)
    })

    test('TTL: reads do not refresh by default; OnReadAndWrite does', () => {
      const clock = new ManualClock()
      const b = make({ now: clock.now })
      const plain = b.getState(new ValueStateDescriptor<number>('plain').enableTimeToLive(ttl()))
      const onRead = b.getState(new ValueStateDescriptor<number>('onRead').enableTimeToLive(ttl({ updateType: 'OnReadAndWrite' })))
      b.setCurrentKey('a')
      plain.update(1)
      onRead.update(1)
      for (let i = 0; i < 3; i++) {
        clock.advance(600)
        plain.value()
        onRead.value()
      }
      assert.equal(plain.value(), undefined)
      assert.equal(onRead.value(), 1)
      clock.advance(1000)
      assert.equal(onRead.value(), undefined)
    })

    test('TTL: ReturnExpiredIfNotCleanedUp returns an expired value until it is cleaned up', () => {
      const clock = new ManualClock()
      const b = make({ now: clock.now })
      const s = b.getState(new ValueStateDescriptor<number>('v').enableTimeToLive(ttl({ stateVisibility: 'ReturnExpiredIfNotCleanedUp' })))
      b.setCurrentKey('a')
      s.update(1)
      clock.advance(5000)
      assert.equal(s.value(), 1)
    })

    test('TTL on list, map, reducing and aggregating state', () => {
      const clock = new ManualClock()
      const b = make({ now: clock.now })
      const l = b.getState(new ListStateDescriptor<number>('l').enableTimeToLive(ttl()))
      const m = b.getState(new MapStateDescriptor<string, number>('m').enableTimeToLive(ttl()))
      const r = b.getState(new ReducingStateDescriptor<number>('r', (x, y) => x + y).enableTimeToLive(ttl()))
      const a = b.getState(new AggregatingStateDescriptor('a', avg.aggregate).enableTimeToLive(ttl()))
      b.setCurrentKey('k')
      l.add(1)
      m.put('x', 1)
      r.add(1)
      a.add(1)
      clock.advance(600)
      l.add(2)
      m.put('y', 2)
      r.add(2)
      a.add(3)
      clock.advance(600)
      assert.deepEqual(l.get(), [1, 2])
      assert.deepEqual(new Map(m.entries()), new Map([['x', 1], ['y', 2]]), 'a write to a map refreshes the whole map')
      assert.equal(r.get(), 3)
      assert.equal(a.get(), 2)
      clock.advance(1000)
      assert.deepEqual(l.get(), [])
      assert.equal(m.get('x'), undefined)
      assert.equal(m.isEmpty(), true)
      assert.equal(r.get(), undefined)
      assert.equal(a.get(), undefined)
      m.put('z', 3)
      assert.deepEqual([...m.entries()], [['z', 3]], 'an expired map does not come back with a new write')
    })

    test('TTL: savepoints store [value, lastWrite] and drop expired entries', async () => {
      const clock = new ManualClock()
      const b = make({ now: clock.now })
      const s = b.getState(new ValueStateDescriptor<number>('v').enableTimeToLive(ttl()))
      const m = b.getState(new MapStateDescriptor<string, number>('m').enableTimeToLive(ttl()))
      b.setCurrentKey('old')
      s.update(1)
      m.put('a', 1)
      clock.advance(600)
      b.setCurrentKey('new')
      s.update(2)
      m.put('b', 2)
      clock.advance(600)
      const n = normalize(await savepoint(b))
      const kg = assignToKeyGroup('new', MAX_P)
      assert.deepEqual(n.v, { kind: 'value', ttl: true, entries: [JSON.stringify([kg, 'new', [2, clock.time - 600]])] })
      assert.deepEqual(n.m, { kind: 'map', ttl: true, entries: [JSON.stringify([kg, 'new', [[['b', 2]], clock.time - 600]])] })
    })

    test('TTL: restored entries keep their write time', async () => {
      const clock = new ManualClock()
      const b = make({ now: clock.now })
      const d = new ValueStateDescriptor<number>('v').enableTimeToLive(ttl())
      b.getState(d)
      b.setCurrentKey('a')
      b.getState(d).update(1)
      clock.advance(600)
      const snap = await savepoint(b)
      const r = make({ now: clock.now })
      r.restore(snap, ALL)
      const s = r.getState(d)
      r.setCurrentKey('a')
      assert.equal(s.value(), 1)
      clock.advance(400)
      assert.equal(s.value(), undefined)
    })

    // ---- snapshots ----

    test('changes after captureSnapshot are not in the materialized snapshot', async () => {
      const b = make()
      const c = b.getState(counter), l = b.getState(list), m = b.getState(map), s = b.getState(sum)
      for (const k of ['a', 'b', 'c']) {
        b.setCurrentKey(k)
        c.update(1)
        l.add('first')
        m.put('x', 1)
        s.add(1)
      }
      const capture = b.captureSnapshot(1, { savepoint: true })
      b.setCurrentKey('a')
      c.update(2)
      l.add('second') // in place, on the heap
      m.put('x', 2) // in place
      m.put('y', 3)
      s.add(10)
      b.setCurrentKey('b')
      c.clear()
      l.clear()
      m.clear()
      b.setCurrentKey('c')
      l.update(['replaced'])
      m.remove('x')
      b.setCurrentKey('d')
      c.update(4)
      l.add('new key')
      const n = normalize(throughCodec(await b.materializeSnapshot(capture)))
      const line = (k: string, v: unknown) => JSON.stringify([assignToKeyGroup(k, MAX_P), k, v])
      assert.deepEqual(n.count!.entries, ['a', 'b', 'c'].map((k) => line(k, 1)).sort())
      assert.deepEqual(n.list!.entries, ['a', 'b', 'c'].map((k) => line(k, ['first'])).sort())
      assert.deepEqual(n.map!.entries, ['a', 'b', 'c'].map((k) => line(k, [['x', 1]])).sort())
      assert.deepEqual(n.sum!.entries, ['a', 'b', 'c'].map((k) => line(k, 1)).sort())
      b.setCurrentKey('a')
      assert.deepEqual(l.get(), ['first', 'second'])
      assert.deepEqual(new Map(m.entries()), new Map([['x', 2], ['y', 3]]))
    })

    test('two captures in flight each keep their own view', async () => {
      const b = make()
      const c = b.getState(counter)
      b.setCurrentKey('a')
      c.update(1)
      const first = b.captureSnapshot(1, { savepoint: true })
      c.update(2)
      const second = b.captureSnapshot(2, { savepoint: true })
      c.update(3)
      const line = (v: number) => [JSON.stringify([assignToKeyGroup('a', MAX_P), 'a', v])]
      assert.deepEqual(normalize(await b.materializeSnapshot(second)).count!.entries, line(2))
      assert.deepEqual(normalize(await b.materializeSnapshot(first)).count!.entries, line(1))
    })

    test('a savepoint lists every registered state, empty ones too, in canonical format', async () => {
      const b = make()
      b.getState(counter)
      b.getState(map)
      const snap = await savepoint(b)
      assert.equal(snap.format, 'canonical')
      assert.equal(snap.maxParallelism, MAX_P)
      assert.deepEqual(normalize(snap), { count: { kind: 'value', ttl: false, entries: [] }, map: { kind: 'map', ttl: false, entries: [] } })
    })

    // ---- restore ----

    test('restore round trip: savepoint and checkpoint snapshots give back every state', async () => {
      const b = make()
      fill(b, 300)
      const expected = normalize(await savepoint(b))
      for (const savepointMode of [true, false]) {
        const snap = throughCodec(await b.materializeSnapshot(b.captureSnapshot(2, { savepoint: savepointMode })))
        const r = make()
        r.restore(snap, ALL)
        assert.deepEqual(normalize(await savepoint(r)), expected)
        // The restored states work through the API.
        const c = r.getState(counter), l = r.getState(list), m = r.getState(map), s = r.getState(sum), a = r.getState(avg)
        r.setCurrentKey([5, 'x'])
        assert.equal(c.value(), 6)
        assert.deepEqual(l.get(), ['a5', 'b5'])
        assert.equal(m.get('y'), -5)
        assert.equal(s.get(), 6)
        assert.equal(a.get(), 6)
        l.add('c5')
        assert.deepEqual(l.get(), ['a5', 'b5', 'c5'])
        assert.deepEqual(new Set(r.keys('count')), new Set(b.keys('count')))
      }
    })

    test('restore keeps only the key groups in range; restoring two snapshots merges them', async () => {
      const b = make()
      fill(b, 400)
      const full = await savepoint(b)
      const expected = normalize(full)
      const halves = [0, 1].map((i) => keyGroupRangeForOperator(MAX_P, 2, i))
      const parts: KeyedStateSnapshot[] = []
      for (const range of halves) {
        const r = make()
        r.restore(full, range)
        const n = normalize(await savepoint(r))
        for (const [stateName, s] of Object.entries(n)) {
          const want = expected[stateName]!.entries.filter((line) => {
            const kg = JSON.parse(line)[0] as number
            return kg >= range.start && kg <= range.end
          })
          assert.deepEqual(s.entries, want, `${stateName} in ${range.start}..${range.end}`)
          assert.ok(want.length > 0)
        }
        for (const k of r.keys('count')) {
          const kg = assignToKeyGroup(k, MAX_P)
          assert.ok(kg >= range.start && kg <= range.end)
        }
        parts.push(throughCodec(await r.materializeSnapshot(r.captureSnapshot(3, { savepoint: false }))))
      }
      const merged = make()
      for (const p of parts) merged.restore(p, ALL)
      assert.deepEqual(normalize(await savepoint(merged)), expected)
    })

    test('canonical snapshots move between this backend and the heap backend both ways', async () => {
      const clock = new ManualClock()
      const ttlDescriptor = new ValueStateDescriptor<number>('timed').enableTimeToLive(ttl({ ttlMs: 1_000_000 }))
      const write = (b: KeyedStateBackend) => {
        fill(b, 200)
        const t = b.getState(ttlDescriptor)
        b.setCurrentKey('t')
        t.update(5)
      }
      const ours = make({ now: clock.now })
      write(ours)
      const reference = heap(clock.now)
      write(reference)
      const fromOurs = await savepoint(ours)
      const fromHeap = await savepoint(reference)
      assert.deepEqual(normalize(fromOurs), normalize(fromHeap), 'both backends write the same canonical snapshot')
      const intoHeap = heap(clock.now)
      intoHeap.restore(fromOurs, ALL)
      assert.deepEqual(normalize(await savepoint(intoHeap)), normalize(fromHeap))
      const intoOurs = make({ now: clock.now })
      intoOurs.restore(fromHeap, ALL)
      assert.deepEqual(normalize(await savepoint(intoOurs)), normalize(fromHeap))
      intoOurs.setCurrentKey('t')
      assert.equal(intoOurs.getState(ttlDescriptor).value(), 5)
    })

    test('restore into a backend that already has the state with another kind fails, naming it', async () => {
      const b = make()
      b.getState(counter)
      b.setCurrentKey('a')
      b.getState(counter).update(1)
      const snap = await savepoint(b)
      const r = make()
      r.getState(new ListStateDescriptor<number>('count'))
      assert.throws(() => r.restore(snap, ALL), /'count'/)
    })

    test('dispose can be called twice', () => {
      const b = create({ maxParallelism: MAX_P, now: Date.now })
      b.getState(counter)
      b.dispose()
      b.dispose()
    })
  })
}
