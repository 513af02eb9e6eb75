// The keyed state backend contract (../keyed-state-backend.contract.ts): snapshots (copy-on-write
// views while writes go on, concurrent captures, canonical savepoints) and restores (round trips,
// key-group ranges, merging, between this backend and the heap backend, refusals).

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ValueStateDescriptor, ListStateDescriptor } from '../../../src/api/state.ts'
import type { KeyedStateBackend, KeyedStateSnapshot } from '../../../src/state/keyed-state-backend.ts'
import { assignToKeyGroup, keyGroupRangeForOperator } from '../../../src/state/key-groups.ts'
import { MAX_P, ALL, ManualClock, throughCodec, normalize, counter, list, map, sum, avg, fill, ttl, type ContractContext } from './fixtures.ts'

export function snapshotContract(ctx: ContractContext): void {
  const { make, heap, savepoint, create } = ctx
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

  test('a savepoint restored over a key that already holds a map replaces that map', async () => {
    const first = make()
    const m1 = first.getState(map)
    first.setCurrentKey('k')
    m1.put('x', 1)
    m1.put('y', 2)
    const second = make()
    const m2 = second.getState(map)
    second.setCurrentKey('k')
    m2.put('z', 3)
    const r = make()
    r.restore(await savepoint(first), ALL)
    r.restore(await savepoint(second), ALL)
    const m = r.getState(map)
    r.setCurrentKey('k')
    assert.deepEqual([...m.entries()].sort(), [['z', 3]])
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
}
