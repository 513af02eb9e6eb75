import { test } from 'node:test'
import assert from 'node:assert/strict'
import { LayeredMap, visibleEntries, type FrozenView } from '../../../src/state/heap/layered-map.ts'
import { SeededRandom } from '../../../src/testing/random.ts'

test('freezing copies nothing: the live Map becomes the snapshot layer as it is', () => {
  const m = new LayeredMap()
  for (let i = 0; i < 10; i++) m.set(i, i)
  const live = m.live
  const view = m.freeze()
  assert.equal(view[0], live)
  m.set(3, 'new')
  m.delete(4)
  assert.deepEqual(new Map(visibleEntries(view)).get(3), 3)
  assert.equal(new Map(visibleEntries(view)).has(4), true)
  assert.equal(m.get(3), 'new')
  assert.equal(m.get(4), undefined)
})

function check(seed: number, keepLive: boolean): void {
  const random = new SeededRandom(seed)
  const m = new LayeredMap({ check: 7 })
  const model = new Map<unknown, unknown>()
  const views: Array<{ view: FrozenView; expected: Map<unknown, unknown> }> = []
  for (let step = 0; step < 4000; step++) {
    const r = random.next()
    const key = Math.floor(random.next() * 300)
    if (r < 0.5) {
      m.set(key, step)
      model.set(key, step)
    } else if (r < 0.7) {
      m.delete(key)
      model.delete(key)
    } else if (r < 0.72 && views.length < 3) {
      views.push({ view: m.freeze(), expected: new Map(model) })
    } else if (r < 0.75 && views.length > 0) {
      const { view, expected } = views.splice(Math.floor(random.next() * views.length), 1)[0]!
      assert.deepEqual(new Map(visibleEntries(view)), expected, `seed ${seed}: a view changed before its release (step ${step})`)
      m.release()
    } else if (m.needsFold(keepLive)) {
      // A deadline in the past: the smallest slices, so that folds stop and resume often.
      m.foldSome(0, keepLive)
    }
    assert.equal(m.get(key), model.get(key), `seed ${seed}: key ${key} at step ${step}`)
  }
  for (const { view, expected } of views) assert.deepEqual(new Map(visibleEntries(view)), expected, `seed ${seed}`)
  for (let i = 0; i < views.length; i++) m.release()
  while (m.needsFold(keepLive)) m.foldSome(performance.now() + 1000, keepLive)
  assert.deepEqual(new Map(m.entries()), model, `seed ${seed}: entries after folding`)
  if (!keepLive) assert.equal(m.frozen.length, 0, `seed ${seed}: folded back into one Map`)
  else assert.ok(m.frozen.length <= 1, `seed ${seed}: at most the base under live`)
}

test('random writes, deletes, snapshots, releases and sliced folds: reads and every pinned view stay exact', () => {
  for (let seed = 1; seed <= 20; seed++) {
    check(seed, false)
    check(seed + 1000, true)
  }
})

test('captures that are never materialized do not pin the heap backend for ever', async () => {
  const { HeapKeyedStateBackend } = await import('../../../src/state/heap/keyed-state-backend.ts')
  const { ValueStateDescriptor } = await import('../../../src/api/state.ts')
  const b = new HeapKeyedStateBackend(128)
  const s = b.getState(new ValueStateDescriptor<number>('v', 0))
  const captures: unknown[] = []
  for (let i = 1; i <= 20; i++) {
    b.setCurrentKey(i)
    s.update(i)
    captures.push(b.captureSnapshot(i, { savepoint: false }))
  }
  // The oldest were released to bound the pinned layers; the newest still materialize whole.
  await assert.rejects(b.materializeSnapshot(captures[0]), /already materialized or released/)
  const last = await b.materializeSnapshot(captures[19])
  assert.equal((last as { states: Record<string, { entries: unknown[] }> }).states.v!.entries.length, 60)
  b.dispose()
})

/** A Map that counts the steps taken by iterators over it. */
class CountingMap<K, V> extends Map<K, V> {
  steps = 0
  override entries(): MapIterator<[K, V]> {
    const inner = super.entries()
    const counter = { next: () => (this.steps++, inner.next()), [Symbol.iterator]() { return this } }
    return counter as unknown as MapIterator<[K, V]>
  }
  override [Symbol.iterator](): MapIterator<[K, V]> {
    return this.entries()
  }
}

test('a fold in slices goes on where its last slice stopped instead of walking the layer from its start again', () => {
  const m = new LayeredMap({ check: 10 })
  m.set('base', 0)
  m.freeze() // the base
  m.release()
  const layer = new CountingMap<unknown, unknown>()
  m.live = layer
  for (let i = 0; i < 1000; i++) m.set(i, i)
  m.freeze() // the layer above the base
  m.release()
  let slices = 0
  // A deadline in the past: each slice folds `check` entries.
  while (m.needsFold(true)) {
    m.foldSome(0, true)
    slices++
  }
  assert.ok(slices >= 100, `folded in ${slices} slices`)
  assert.ok(layer.steps <= 1000 + slices, `the layer was walked ${layer.steps} steps for 1000 entries`)
  for (let i = 0; i < 1000; i++) assert.equal(m.get(i), i)
  assert.equal(m.get('base'), 0)
})

/**
 * A table of keys [0, count) with `base` folded into one Map, then a released snapshot after
 * which every key was written `live`: the fold of live into the base has not begun.
 */
function liveOverBase(count: number, base: unknown, live: unknown): LayeredMap {
  const m = new LayeredMap({ check: 10 })
  for (let i = 0; i < count; i++) m.set(i, base)
  m.freeze()
  m.release()
  while (m.needsFold(false)) m.foldSome(performance.now() + 1000, false)
  m.freeze()
  for (let i = 0; i < count; i++) m.set(i, live)
  m.release()
  return m
}

test('a fold of live ends even when every key is written again between its slices, and reads stay the newest', () => {
  const m = liveOverBase(1000, 0, 1)
  let slices = 0
  let round = 1
  // A deadline in the past: each slice folds `check` entries; between slices every key is written.
  while (m.needsFold(false)) {
    m.foldSome(0, false)
    slices++
    round++
    for (let i = 0; i < 1000; i++) m.set(i, round)
    for (let i = 0; i < 1000; i += 97) assert.equal(m.get(i), round, `key ${i} after slice ${slices}`)
    assert.ok(slices <= 1000, 'the fold keeps up with the writes')
  }
  // Writes during the fold went to the base and emptied live: the second slice found nothing left.
  assert.equal(slices, 2)
  assert.equal(m.frozen.length, 0)
  for (let i = 0; i < 1000; i++) assert.equal(m.get(i), round)
  m.delete(5)
  assert.equal(m.get(5), undefined)
})

test('a snapshot taken in the middle of a fold of live sees the writes the base took, and the fold goes on after it', () => {
  const m = liveOverBase(100, 'base', 'live')
  m.foldSome(0, false) // one slice: 10 of the 100 folded, writes now go to the base
  m.set(50, 'through')
  m.delete(60)
  const view = m.freeze()
  m.set(50, 'after')
  m.set(70, 'after')
  const seen = new Map(visibleEntries(view))
  assert.equal(seen.get(50), 'through')
  assert.equal(seen.has(60), false)
  assert.equal(seen.get(70), 'live')
  assert.equal(seen.size, 99)
  m.release()
  while (m.needsFold(false)) m.foldSome(0, false)
  assert.equal(m.frozen.length, 0)
  assert.equal(m.get(50), 'after')
  assert.equal(m.get(70), 'after')
  assert.equal(m.get(60), undefined)
  assert.equal(m.get(10), 'live')
})
