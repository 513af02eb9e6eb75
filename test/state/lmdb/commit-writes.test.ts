import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { throughCodec } from '../keyed-state-backend.contract.ts'
import { LmdbKeyedStateBackend, type LmdbIncrementalSnapshot } from '../../../src/state/lmdb/lmdb-keyed-state-backend.ts'
import { ValueStateDescriptor, MapStateDescriptor } from '../../../src/api/state.ts'
import type { KeyedStateSnapshot } from '../../../src/state/keyed-state-backend.ts'
import { lmdbBackends } from './fixtures.ts'

const MAX_P = 128
const ALL = { start: 0, end: MAX_P - 1 }

const lmdb = lmdbBackends('commit', { incremental: true })

const value = new ValueStateDescriptor<string>('v')
const tags = new MapStateDescriptor<string, number>('tags')
const KEYS = 200

/** Keys of three kinds (composite, string, number), in many key groups. */
function keyOf(k: number): unknown {
  return k % 3 === 0 ? [k, 'composite'] : k % 3 === 1 ? `key-${k}` : k
}

function write(b: LmdbKeyedStateBackend, from: number, to: number, v: string): void {
  const s = b.getState(value)
  for (let k = from; k < to; k++) {
    b.setCurrentKey(keyOf(k))
    s.update(`${v}${k}`)
  }
}

/** Every key's value in a backend restored from `snapshot` (undefined: absent). */
function restored(snapshot: KeyedStateSnapshot): Array<string | undefined> {
  const r = lmdb()
  r.restore(snapshot, ALL)
  const s = r.getState(value)
  const out: Array<string | undefined> = []
  for (let k = 0; k < KEYS; k++) {
    r.setCurrentKey(keyOf(k))
    out.push(s.value())
  }
  r.dispose()
  return out
}

function expected(parts: Array<[number, number, string]>): Array<string | undefined> {
  const out: Array<string | undefined> = new Array(KEYS).fill(undefined)
  for (const [from, to, v] of parts) for (let k = from; k < to; k++) out[k] = v === '' ? undefined : `${v}${k}`
  return out
}

describe('lmdb commits and the write cache', () => {
  test('a checkpoint taken with writes in the cache restores to its moment, though the cache is committed and written over before the checkpoint is written', async () => {
    const b = lmdb({ flushEvery: 10_000 })
    write(b, 0, KEYS, 'a')
    const first = throughCodec(await b.materializeSnapshot(b.captureSnapshot(1, { savepoint: false })))
    b.notifyCheckpointComplete(1)
    write(b, 0, 100, 'b')
    const second = b.captureSnapshot(2, { savepoint: false })
    write(b, 0, KEYS, 'c')
    b.flush()
    write(b, 0, 10, 'd')
    const s = b.getState(value)
    for (let k = 190; k < KEYS; k++) {
      b.setCurrentKey(keyOf(k))
      s.clear()
    }
    const third = b.captureSnapshot(3, { savepoint: false })
    write(b, 0, KEYS, 'e')
    b.flush()
    const secondSnap = throughCodec(await b.materializeSnapshot(second))
    b.notifyCheckpointComplete(2)
    const thirdSnap = throughCodec(await b.materializeSnapshot(third))
    b.notifyCheckpointComplete(3)
    assert.deepEqual(restored(first), expected([[0, KEYS, 'a']]))
    assert.deepEqual(restored(secondSnap), expected([[0, 100, 'b'], [100, KEYS, 'a']]))
    assert.equal((thirdSnap as LmdbIncrementalSnapshot).deltas.length, 1, 'the third is a delta on the first (the second was not complete when it was taken)')
    assert.deepEqual(restored(thirdSnap), expected([[10, 190, 'c'], [0, 10, 'd'], [190, KEYS, '']]))
    // The live backend reads the last writes, from its cache or LMDB.
    for (let k = 0; k < KEYS; k += 7) {
      b.setCurrentKey(keyOf(k))
      assert.equal(s.value(), `e${k}`)
    }
    b.dispose()
  })

  test('hot keys read from the cache after commits agree with what LMDB holds', async () => {
    const b = lmdb({ flushEvery: 8 })
    const s = b.getState(value)
    for (let round = 0; round < 50; round++) {
      b.setCurrentKey('hot')
      s.update(`${round}`)
      write(b, round * 3, round * 3 + 3, `r${round}-`)
      b.setCurrentKey('hot')
      assert.equal(s.value(), `${round}`)
    }
    b.flush()
    const snap = throughCodec(await b.materializeSnapshot(b.captureSnapshot(1, { savepoint: true })))
    const r = lmdb()
    r.restore(snap, ALL)
    r.setCurrentKey('hot')
    assert.equal(r.getState(value).value(), '49')
    r.dispose()
    b.dispose()
  })

  test('a map cleared in the cache and refilled restores without its old entries, from a delta', async () => {
    const b = lmdb({ flushEvery: 10_000 })
    const m = b.getState(tags)
    b.setCurrentKey('u')
    m.putAll([['x', 1], ['y', 2]])
    b.flush()
    throughCodec(await b.materializeSnapshot(b.captureSnapshot(1, { savepoint: false })))
    b.notifyCheckpointComplete(1)
    m.clear()
    m.put('z', 3)
    const capture = b.captureSnapshot(2, { savepoint: false })
    m.put('x', 9)
    b.flush()
    const snap = throughCodec(await b.materializeSnapshot(capture))
    assert.equal((snap as LmdbIncrementalSnapshot).deltas.length, 1)
    const r = lmdb()
    r.restore(snap, ALL)
    r.setCurrentKey('u')
    assert.deepEqual([...r.getState(tags).entries()], [['z', 3]])
    r.dispose()
    b.dispose()
  })
})

test('values packed into the arena stay intact while more are packed, across chunks, primitives and others alike', async () => {
  const { ValueArena } = await import('../../../src/state/lmdb/commit-writes.ts')
  const { unpackr, packr } = await import('../../../src/state/lmdb/write-generations.ts')
  const arena = new ValueArena()
  const values: unknown[] = []
  for (let i = 0; i < 150_000; i++) values.push(i % 5 === 0 ? { n: i, s: `v${i}` } : i % 5 === 1 ? `word-${i}` : i % 5 === 2 ? i * 1.5 : i % 5 === 3 ? -i : i % 2 === 0)
  const views = values.map((v) => arena.pack(v))
  assert.ok(new Set(views.map((b) => b.buffer)).size > 1, 'more than one chunk')
  // The views share chunks: none was overwritten by a later value.
  assert.deepEqual(views.map((b) => unpackr.unpack(b)), values)
  assert.equal(arena.copied, views.reduce((a, b) => a + b.length, 0), 'copied counts the bytes of every value')
  for (const v of [7, 'x', { a: 1 }]) assert.deepEqual(unpackr.unpack(arena.pack(v)), unpackr.unpack(packr.pack(v)), 'decodes as packr\'s bytes do')
})
