import { test } from 'node:test'
import assert from 'node:assert/strict'
import { canonicalHeapSnapshot, type CanonicalCapture } from '../../../src/state/heap/canonical-heap-snapshot.ts'
import { TOMBSTONE } from '../../../src/state/heap/layered-map.ts'
import { TtlPolicy, type CanonicalStateEntries } from '../../../src/state/keyed-state-backend.ts'
import { assignToKeyGroup } from '../../../src/state/key-groups.ts'
import { entryChunks } from '../../../src/state/entry-chunks.ts'

const MAX_P = 128
const table = (name: string, view: Array<Map<unknown, unknown>>, extra: Partial<CanonicalCapture['tables'][number]> = {}) => ({ name, kind: 'value' as const, ttl: null, view, inPlace: false, ...extra })
const entries = (snapshot: Awaited<ReturnType<typeof canonicalHeapSnapshot>>, name: string) => entryChunks((snapshot.states as Record<string, CanonicalStateEntries>)[name]!.entries).flat()

test('the newest layer holding a key gives its value; a tombstone there hides the older value; every entry carries its key group', async () => {
  const newest = new Map<unknown, unknown>([['a', 3], ['gone', TOMBSTONE]])
  const base = new Map<unknown, unknown>([['a', 1], ['b', 2], ['gone', 9]])
  const snapshot = await canonicalHeapSnapshot({ tables: [table('count', [newest, base])], compositeKeys: new Map(), maxParallelism: MAX_P }, 0)
  const flat = entries(snapshot, 'count')
  const byKey = new Map<unknown, unknown>()
  for (let i = 0; i < flat.length; i += 3) {
    assert.equal(flat[i], assignToKeyGroup(flat[i + 1], MAX_P))
    assert.ok(!byKey.has(flat[i + 1]), `key ${String(flat[i + 1])} appears once`)
    byKey.set(flat[i + 1], flat[i + 2])
  }
  assert.deepEqual(byKey, new Map([['a', 3], ['b', 2]]))
})

test('composite keys come back in their original form; values changed in place are copied; expired values are dropped', async () => {
  const point = ['x', 1]
  const stored = JSON.stringify(point)
  const value = { n: 1 }
  const composite = await canonicalHeapSnapshot({ tables: [table('v', [new Map([[stored, value]])], { inPlace: true })], compositeKeys: new Map([[stored, point]]), maxParallelism: MAX_P }, 0)
  const flat = entries(composite, 'v')
  assert.deepEqual(flat[1], point)
  assert.deepEqual(flat[2], value)
  assert.notEqual(flat[2], value, 'a copy: the task may change the value in place once the capture is released')
  const ttl = new TtlPolicy({ ttlMs: 100 }, () => 1000)
  const timed = new Map<unknown, unknown>([['old', { v: 'o', t: 800 }], ['fresh', { v: 'f', t: 950 }]])
  const expired = await canonicalHeapSnapshot({ tables: [table('t', [timed], { ttl })], compositeKeys: new Map(), maxParallelism: MAX_P }, 1000)
  assert.deepEqual(entries(expired, 't').slice(1), ['fresh', ['f', 950]])
})

test('a conversion in slices gives the same entries as one in one go', async () => {
  const base = new Map<unknown, unknown>()
  for (let k = 0; k < 20_000; k++) base.set(`k${k}`, k)
  const capture = { tables: [table('count', [new Map([['k7', -1]]), base])], compositeKeys: new Map(), maxParallelism: MAX_P }
  // Another task on the event loop: it runs between slices only if the conversion yields.
  let turns = 0
  let done = false
  const tick = () => {
    turns++
    if (!done) setImmediate(tick)
  }
  setImmediate(tick)
  const sliced = await canonicalHeapSnapshot(capture, 0, 0)
  done = true
  const whole = await canonicalHeapSnapshot(capture, 0)
  assert.deepEqual(entries(sliced, 'count'), entries(whole, 'count'))
  assert.equal(entries(whole, 'count').length, 3 * 20_000)
  assert.ok(turns > 1, `the sliced conversion let the event loop run (${turns} turns)`)
})
