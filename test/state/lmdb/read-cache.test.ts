import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { throughCodec } from '../keyed-state-backend.contract.ts'
import { ReadCache } from '../../../src/state/lmdb/read-cache.ts'
import { NO_GENERATIONS, unpackr, type Table } from '../../../src/state/lmdb/write-generations.ts'
import { CLEANUP_EVERY } from '../../../src/state/lmdb/ttl-maintenance.ts'
import { ListStateDescriptor, ValueStateDescriptor } from '../../../src/api/state.ts'
import { lmdbBackends } from './fixtures.ts'

const MAX_P = 128

const lmdb = lmdbBackends('cache')

function table(): Table {
  return { name: 's', id: 1, kind: 'value', ttl: null, timestamped: false, pending: new Map(), frozen: NO_GENERATIONS, committing: NO_GENERATIONS, cache: new Map(), lastBatch: null, cleanupCursor: null, cleanupCountdown: CLEANUP_EVERY, state: null }
}

/** Keys of three kinds (composite, string, number). */
function keyOf(k: number): unknown {
  return k % 3 === 0 ? [k, 'composite'] : k % 3 === 1 ? `key-${k}` : k
}

describe('read cache', () => {
  test('a commit gives the cached keys their committed values, adds no others, and reads past the capacity then spare the keys it wrote', () => {
    const t = table()
    const cache = new ReadCache(8, () => [t])
    for (let k = 0; k < 8; k++) cache.insert(t, k, k)
    assert.equal(cache.entries, 8)
    // Key 0 is the oldest entry, but written again in the batch just committed.
    const batch = new Map<unknown, unknown>([[0, 100], [8, 8], [9, 9]])
    cache.committed(new Map([[t, [batch]]]))
    t.lastBatch = batch
    assert.equal(cache.entries, 8)
    assert.equal(t.cache.get(0), 100, 'the cached key has its committed value')
    assert.equal(t.cache.has(8), false, 'a key not cached is not added')
    cache.insert(t, 10, 10)
    assert.ok(cache.entries <= 6, `cut below the capacity, got ${cache.entries}`)
    assert.equal(cache.entries, t.cache.size)
    assert.equal(t.cache.get(0), 100, 'the rewritten old key stays')
    assert.equal(t.cache.has(1), false, 'the oldest key not written again goes first')
    assert.equal(t.cache.get(10), 10)
  })

  test('reads past the capacity evict in batches and never exceed it', () => {
    const t = table()
    const cache = new ReadCache(10, () => [t])
    for (let k = 0; k < 100; k++) {
      cache.insert(t, k, k)
      assert.ok(cache.entries <= 10)
      assert.equal(cache.entries, t.cache.size)
    }
    assert.equal(t.cache.get(99), 99)
  })

  test('states share the capacity: reads of one state evict the entries of another', () => {
    const a = table()
    const b: Table = { ...table(), name: 't', id: 2, cache: new Map() }
    const cache = new ReadCache(10, () => [a, b])
    for (let k = 0; k < 9; k++) cache.insert(a, k, k)
    for (let k = 0; k < 50; k++) {
      cache.insert(b, k, k)
      assert.ok(cache.entries <= 10, `${cache.entries} entries`)
      assert.equal(cache.entries, a.cache.size + b.cache.size)
    }
    assert.equal(a.cache.size, 0, 'the other state gave up its share at every eviction')
  })

  test('values evicted from a small cache are read back from LMDB, for every kind of key', () => {
    const b = lmdb({ cacheSize: 16 })
    try {
      const count = b.getState(new ValueStateDescriptor<number>('count', 0))
      const log = b.getState(new ListStateDescriptor<number>('log'))
      const expected = new Map<number, number>()
      let seed = 7
      for (let i = 0; i < 3000; i++) {
        seed = (seed * 1103515245 + 12345) >>> 0
        // Skewed: a few hot keys, many cold ones.
        const k = seed % 4 === 0 ? seed % 500 : seed % 5
        b.setCurrentKey(keyOf(k))
        count.update(count.value() + 1)
        log.add(i)
        expected.set(k, (expected.get(k) ?? 0) + 1)
        assert.ok(b.cachedEntries <= 16)
      }
      for (const [k, c] of expected) {
        b.setCurrentKey(keyOf(k))
        assert.equal(count.value(), c, `count of key ${JSON.stringify(keyOf(k))}`)
        assert.equal(log.get().length, c, `log of key ${JSON.stringify(keyOf(k))}`)
      }
    } finally {
      b.dispose()
    }
  })

  test('a checkpoint taken with writes held and then evicted restores to its moment', async () => {
    for (const incremental of [false, true]) {
      const b = lmdb({ cacheSize: 8, flushEvery: 64, incremental })
      try {
        const s = b.getState(new ValueStateDescriptor<string>('v'))
        for (let k = 0; k < 100; k++) {
          b.setCurrentKey(keyOf(k))
          s.update(`a${k}`)
        }
        assert.ok(b.pendingEntries > 0, 'writes are held when the capture freezes them')
        const capture = b.captureSnapshot(1, { savepoint: false })
        // After the capture: commits, evictions and rewrites of the same keys.
        for (let k = 0; k < 100; k++) {
          b.setCurrentKey(keyOf(k))
          s.update(`b${k}`)
          b.setCurrentKey(keyOf(k + 1000))
          s.update(`c${k}`)
        }
        b.flush()
        const snapshot = throughCodec(await b.materializeSnapshot(capture))
        b.notifyCheckpointComplete(1)
        const r = lmdb({ cacheSize: 8, incremental })
        try {
          r.restore(snapshot, { start: 0, end: MAX_P - 1 })
          const rs = r.getState(new ValueStateDescriptor<string>('v'))
          for (let k = 0; k < 100; k++) {
            r.setCurrentKey(keyOf(k))
            assert.equal(rs.value(), `a${k}`, `incremental ${incremental}: key ${k}`)
            r.setCurrentKey(keyOf(k + 1000))
            assert.equal(rs.value(), undefined, `incremental ${incremental}: key ${k + 1000} was written after the capture`)
          }
        } finally {
          r.dispose()
        }
        // The live backend has the newer values, whether cached or read back.
        for (let k = 0; k < 100; k++) {
          b.setCurrentKey(keyOf(k))
          assert.equal(s.value(), `b${k}`)
        }
      } finally {
        b.dispose()
      }
    }
  })
})

describe('write-back of hot keys', () => {
  test('keys written again since the last commit stay pending across commits, a flush commits them, and reads see the newest value', () => {
    const b = lmdb({ cacheSize: 40 }) // commits every 20 new keys, holds up to 10 hot ones
    try {
      const s = b.getState(new ValueStateDescriptor<number>('count', 0))
      /** What LMDB holds for the current key of the first state (id 1). */
      const stored = (): unknown => {
        const bytes = b.db.getBinaryFast(b.key.keyFor(1))
        return bytes === undefined ? undefined : unpackr.unpack(bytes)
      }
      // Key 0 is written between every two cold keys, in every batch.
      for (let i = 1; i <= 100; i++) {
        b.setCurrentKey(0)
        s.update(s.value() + 1)
        b.setCurrentKey(1000 + i)
        s.update(i)
      }
      assert.ok(b.pendingEntries >= 1, 'the hot key is still pending')
      b.setCurrentKey(0)
      assert.equal(s.value(), 100)
      assert.notEqual(stored(), 100, 'LMDB holds an older count of the hot key: its writes were held back')
      b.flush()
      assert.equal(b.pendingEntries, 0)
      b.setCurrentKey(0)
      assert.equal(stored(), 100, 'a flush commits the held writes')
      assert.equal(s.value(), 100)
      for (let i = 1; i <= 100; i++) {
        b.setCurrentKey(1000 + i)
        assert.equal(s.value(), i)
      }
    } finally {
      b.dispose()
    }
  })

  test('a checkpoint taken while hot keys are held restores to its moment', async () => {
    const b = lmdb({ cacheSize: 16, incremental: true })
    try {
      const s = b.getState(new ValueStateDescriptor<number>('count', 0))
      const hot = (i: number) => i % 3
      const expected = new Map<unknown, number>()
      const round = (from: number, to: number) => {
        for (let i = from; i < to; i++) {
          for (const k of [hot(i), 100 + i]) {
            b.setCurrentKey(keyOf(k))
            s.update(s.value() + 1)
          }
        }
      }
      const snapshotOf = async (id: number) => {
        const capture = b.captureSnapshot(id, { savepoint: false })
        const snapshot = throughCodec(await b.materializeSnapshot(capture))
        b.notifyCheckpointComplete(id)
        return snapshot
      }
      round(0, 60)
      await snapshotOf(1)
      round(60, 120)
      assert.ok(b.pendingEntries > 0)
      // The values of the moment of checkpoint 2.
      for (let k = 0; k < 3; k++) {
        b.setCurrentKey(keyOf(k))
        expected.set(k, s.value())
      }
      const capture = b.captureSnapshot(2, { savepoint: false })
      round(120, 200) // more commits and held writes after the capture
      const snapshot = throughCodec(await b.materializeSnapshot(capture))
      b.notifyCheckpointComplete(2)
      const r = lmdb({ cacheSize: 16, incremental: true })
      try {
        r.restore(snapshot, { start: 0, end: MAX_P - 1 })
        const rs = r.getState(new ValueStateDescriptor<number>('count', 0))
        for (let k = 0; k < 3; k++) {
          r.setCurrentKey(keyOf(k))
          assert.equal(rs.value(), expected.get(k), `hot key ${k}`)
        }
        for (let i = 0; i < 200; i++) {
          r.setCurrentKey(keyOf(100 + i))
          assert.equal(rs.value(), i < 120 ? 1 : 0, `cold key ${100 + i}`)
        }
      } finally {
        r.dispose()
      }
    } finally {
      b.dispose()
    }
  })
})
