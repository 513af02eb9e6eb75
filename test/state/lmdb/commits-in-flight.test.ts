import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { throughCodec } from '../keyed-state-backend.contract.ts'
import { LmdbKeyedStateBackend } from '../../../src/state/lmdb/lmdb-keyed-state-backend.ts'
import { ASYNC_MIN_WRITES, CommitsInFlight, WRITE_OVERHEAD_BYTES } from '../../../src/state/lmdb/commits-in-flight.ts'
import { MapStateDescriptor, ValueStateDescriptor } from '../../../src/api/state.ts'
import { isWeirError } from '../../../src/errors.ts'
import { COMMIT_MARKER_KEY, KeyRef } from '../../../src/state/lmdb/lmdb-key-layout.ts'
import type { LmdbCapture } from '../../../src/state/lmdb/capture-view.ts'
import { packTransient } from '../../../src/io/transient-pack.ts'
import { Packr } from 'msgpackr'
import { lmdbBackends } from './fixtures.ts'

const MAX_P = 128
const ALL = { start: 0, end: MAX_P - 1 }
/**
 * Distinct writes per commit: a commit may hold back up to half of them (hot keys), and the
 * other half are enough for an asynchronous one.
 */
const BATCH = 2 * (ASYNC_MIN_WRITES + 500)

/** A small read cache: most reads of keys just written go past it, to the committing layer or LMDB. */
const lmdb = lmdbBackends('inflight', { incremental: true, cacheSize: 16, flushEvery: BATCH })

const value = new ValueStateDescriptor<string>('v')

function keyOf(k: number): unknown {
  return k % 3 === 0 ? [k, 'composite'] : k % 3 === 1 ? `key-${k}` : k
}

/** Writes keys [0, count) with `tag`; the last write starts an asynchronous commit of them all. */
function writeAll(b: LmdbKeyedStateBackend, count: number, tag: string): void {
  const s = b.getState(value)
  for (let k = 0; k < count; k++) {
    b.setCurrentKey(keyOf(k))
    s.update(`${tag}${k}`)
  }
}

function readAll(b: LmdbKeyedStateBackend, count: number): Array<string | undefined> {
  const s = b.getState(value)
  const out: Array<string | undefined> = []
  for (let k = 0; k < count; k++) {
    b.setCurrentKey(keyOf(k))
    out.push(s.value())
  }
  return out
}

/** What a fresh backend reads for keys [0, count) after restoring `snapshot`. */
function readAfterRestore(snapshot: Parameters<LmdbKeyedStateBackend['restore']>[0], count: number): Array<string | undefined> {
  const r = lmdb()
  try {
    r.restore(snapshot, ALL)
    return readAll(r, count)
  } finally {
    r.dispose()
  }
}

const tagged = (count: number, tag: string) => Array.from({ length: count }, (_, k) => `${tag}${k}`)

type Db = { batch: (cb: () => void) => Promise<unknown>; put: (k: unknown, v: unknown) => unknown; remove: (k: unknown) => unknown }

/**
 * Holds the backend's asynchronous commits back from LMDB: a batch's puts and removes are
 * recorded as the commit issues them (keys copied, as lmdb-js does), and applied, in order, in
 * real batches only at release(). Until then LMDB holds none of them, so whatever a read or a
 * capture sees of them came from the committing layer.
 */
const stalls: Array<{ release(): void }> = []

/** Releases every stalled backend (before disposing: dispose waits for the commits in flight). */
function releaseStalls(): void {
  for (const s of stalls.splice(0)) s.release()
}

function stallCommits(b: LmdbKeyedStateBackend): { release(): void } {
  const db = b.db as unknown as Db
  const realBatch = db.batch
  const held: Array<() => void> = []
  db.batch = (cb) => {
    const ops: Array<[boolean, Buffer, unknown]> = []
    const copy = (k: unknown) => Buffer.from(k instanceof KeyRef ? k.buf.subarray(0, k.len) : (k as Buffer))
    const put = db.put
    const remove = db.remove
    db.put = (k, v) => ops.push([true, copy(k), v])
    db.remove = (k) => ops.push([false, copy(k), undefined])
    try {
      cb()
    } finally {
      db.put = put
      db.remove = remove
    }
    return new Promise((resolve, reject) => {
      held.push(() => realBatch.call(db, () => {
        for (const [isPut, k, v] of ops) void (isPut ? db.put(k, v) : db.remove(k))
      }).then(resolve, reject))
    })
  }
  const stall = {
    release() {
      db.batch = realBatch
      for (const start of held.splice(0)) start()
    },
  }
  stalls.push(stall)
  return stall
}

/** Resolves once `condition` holds, checking after each turn of the event loop. */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setImmediate(resolve))
}

/** Runs `fn` on a fresh backend, then releases any stalled commits and disposes it (dispose waits for the commits in flight). */
async function withBackend(fn: (b: LmdbKeyedStateBackend) => void | Promise<void>, options?: Parameters<typeof lmdb>[0]): Promise<void> {
  const b = lmdb(options)
  try {
    await fn(b)
  } finally {
    releaseStalls()
    b.dispose()
  }
}

describe('lmdb commits in flight', () => {
  test('reads of keys whose commit is in flight return the new values, not LMDB\'s older ones', () => withBackend((b) => {
    writeAll(b, BATCH, 'a')
    b.flush()
    assert.equal(b.commits.busy, false)
    const stall = stallCommits(b)
    writeAll(b, BATCH, 'b')
    assert.equal(b.commits.inFlight, 1, 'the commit of the b writes is in flight')
    // A commit of other keys, in flight too, takes the read cache's room.
    const s = b.getState(value)
    for (let k = BATCH; k < 2 * BATCH; k++) {
      b.setCurrentKey(k)
      s.update('x')
    }
    assert.equal(b.commits.inFlight, 2)
    assert.deepEqual(readAll(b, BATCH), tagged(BATCH, 'b'))
    stall.release()
    b.flush()
    assert.equal(b.commits.busy, false)
    assert.deepEqual(readAll(b, BATCH), tagged(BATCH, 'b'))
  }))

  test('counts over many commits in a loop that never yields are exact (back-pressure, landing seen without the event loop)', () => withBackend((b) => {
    const counts = b.getState(new ValueStateDescriptor<number>('count', 0))
    const keys = 3 * BATCH
    const expected = new Array<number>(keys).fill(0)
    let seed = 7
    for (let i = 0; i < 12 * BATCH; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0
      const k = seed % keys
      expected[k]!++
      b.setCurrentKey(k)
      counts.update(counts.value() + 1)
    }
    for (let k = 0; k < keys; k++) {
      b.setCurrentKey(k)
      assert.equal(counts.value(), expected[k], `key ${k}`)
    }
    b.flush()
    for (let k = 0; k < keys; k++) {
      b.setCurrentKey(k)
      assert.equal(counts.value(), expected[k], `key ${k} after the flush`)
    }
  }))

  test('a capture taken while a commit is in flight sees every write (savepoint and incremental delta), and restores to its moment', () => withBackend(async (b) => {
    writeAll(b, BATCH, 'a')
    const base = b.captureSnapshot(1, { savepoint: false })
    const baseSnapshot = throughCodec(await b.materializeSnapshot(base))
    b.notifyCheckpointComplete(1)
    const stall = stallCommits(b)
    writeAll(b, BATCH, 'b')
    assert.equal(b.commits.busy, true, 'the commit of the b writes is in flight')
    const delta = b.captureSnapshot(2, { savepoint: false })
    const savepoint = b.captureSnapshot(3, { savepoint: true })
    writeAll(b, 100, 'c') // after the captures: in neither
    const deltaSnapshot = throughCodec(await b.materializeSnapshot(delta))
    const savepointSnapshot = throughCodec(await b.materializeSnapshot(savepoint))
    stall.release()
    for (const [name, snapshot, tag] of [['base', baseSnapshot, 'a'], ['delta', deltaSnapshot, 'b'], ['savepoint', savepointSnapshot, 'b']] as const) {
      assert.deepEqual(readAfterRestore(snapshot, BATCH), tagged(BATCH, tag), name)
    }
    // A restore into the backend itself while a commit is in flight: the snapshot's values win.
    writeAll(b, BATCH, 'd')
    assert.equal(b.commits.busy, true, 'the commit of the d writes is in flight')
    b.restore(savepointSnapshot, ALL)
    assert.equal(b.commits.busy, false)
    assert.deepEqual(readAll(b, BATCH), tagged(BATCH, 'b'))
  }))

  test('values in flight survive other packing on the thread before they are written (a network batch reuses msgpackr\'s buffer)', () => withBackend(async (b) => {
    const packr = new Packr({ useRecords: false })
    packTransient(packr, 'x') // msgpackr's output buffer is the reused one from here on
    const stall = stallCommits(b)
    writeAll(b, BATCH, 'v')
    assert.equal(b.commits.inFlight, 1)
    for (let i = 0; i < 8; i++) packTransient(packr, 'z'.repeat(5000)) // packed over and over at its start
    stall.release()
    b.flush()
    const savepoint = throughCodec(await b.materializeSnapshot(b.captureSnapshot(1, { savepoint: true })))
    assert.deepEqual(readAfterRestore(savepoint, BATCH), tagged(BATCH, 'v'))
  }))

  test('a delta taken while a commit of an earlier capture\'s frozen writes is in flight lists only the keys changed since that capture', () => withBackend(async (b) => {
    writeAll(b, BATCH + 100, 'a') // a commit of BATCH keys, then 100 pending
    b.flush()
    const s = b.getState(value)
    for (let k = 0; k < 100; k++) {
      b.setCurrentKey(keyOf(k))
      s.update(`f${k}`)
    }
    const first = b.captureSnapshot(1, { savepoint: false }) // freezes the 100 f writes
    await b.materializeSnapshot(first)
    b.notifyCheckpointComplete(1)
    const stall = stallCommits(b)
    for (let k = BATCH + 100; b.commits.inFlight === 0; k++) {
      b.setCurrentKey(keyOf(k))
      s.update(`n${k}`)
    }
    const second = b.captureSnapshot(2, { savepoint: false }) as unknown as LmdbCapture
    const changed = new Set<unknown>()
    for (const c of second.incremental!.changes) for (const gen of c.gens) for (const t of gen) for (const ck of t.entries.keys()) changed.add(ck)
    // (primitive keys: composite ones are interned tokens)
    for (let k = 0; k < 100; k++) if (k % 3 !== 0) assert.equal(changed.has(keyOf(k)), false, `key ${k} was frozen by the first capture, not changed since`)
    assert.ok(changed.size > 0)
    stall.release()
    assert.deepEqual(readAfterRestore(throughCodec(await b.materializeSnapshot(second as never)), 100), tagged(100, 'f'))
  }))

  test('a map cleared while the commit that filled it is in flight loses those entries too', () => withBackend((b) => {
    const tags = b.getState(new MapStateDescriptor<string, number>('tags'))
    const stall = stallCommits(b)
    // A new user key's map counts twice (its map and its entry): this fills a batch.
    for (let k = 0; k < BATCH / 2; k++) {
      b.setCurrentKey(k)
      tags.put(`t${k}`, k)
    }
    assert.equal(b.commits.busy, true, 'the commit of the map entries is in flight')
    for (let k = 0; k < 100; k++) {
      b.setCurrentKey(k)
      tags.clear()
    }
    // A second commit (of the clears and most of these) while the first is in flight.
    for (let k = BATCH / 2; k < BATCH; k++) {
      b.setCurrentKey(k)
      tags.put(`t${k}`, k)
    }
    assert.equal(b.commits.inFlight, 2)
    const check = (when: string) => {
      for (let k = 0; k < BATCH; k += 7) {
        b.setCurrentKey(k)
        assert.deepEqual([...tags.entries()], k < 100 ? [] : [[`t${k}`, k]], `${when}: key ${k}`)
      }
    }
    check('in flight')
    stall.release()
    b.flush()
    check('after the flush')
  }))

  test('a commit that fails fails the next commit, flush and capture with a typed error', () => withBackend(async (b) => {
    writeAll(b, 10, 'a')
    b.flush()
    const db = b.db as unknown as { batch: (cb: () => void) => Promise<unknown> }
    db.batch = () => Promise.reject(new Error('injected: no space left on device'))
    writeAll(b, BATCH, 'b')
    assert.equal(b.commits.busy, true)
    await until(() => b.commits.failure !== null)
    const typed = (e: unknown) => isWeirError(e) && (e as { code: string }).code === 'WEIR_STATE_COMMIT_FAILED' && /no space left/.test((e as Error).message)
    assert.throws(() => b.flush(), typed)
    assert.throws(() => b.captureSnapshot(5, { savepoint: false }), typed)
    assert.throws(() => writeAll(b, BATCH, 'c'), typed)
  }))

  test('with asyncMinWrites 0 every commit goes to the write thread, a batch of one write or none too, and lands without the event loop', () => withBackend((b) => {
    const counts = b.getState(new ValueStateDescriptor<number>('count', 0))
    // A commit per write, never yielding: each waits on the ones in flight (back-pressure),
    // which must start on lmdb-js's write thread from this thread, however small.
    for (let i = 0; i < 60; i++) {
      b.setCurrentKey(i % 7)
      counts.update(counts.value() + 1)
    }
    assert.ok(b.commits.asyncBatches >= 30, `${b.commits.asyncBatches} asynchronous commits`)
    b.flush()
    assert.equal(b.commits.busy, false)
    for (let k = 0; k < 7; k++) {
      b.setCurrentKey(k)
      assert.equal(counts.value(), k < 4 ? 9 : 8, `key ${k}`)
    }
    // A batch with no state write at all (its writes all held back): only the marker.
    const before = b.commits.asyncBatches
    for (let i = 0; i < 3; i++) b.commits.commit(() => {}, new Map(), 0)
    b.commits.settle()
    assert.equal(b.commits.asyncBatches, before + 3)
  }, { asyncMinWrites: 0, flushEvery: 1 }))

  test('by default a commit of fewer than ASYNC_MIN_WRITES writes is synchronous', () => withBackend((b) => {
    writeAll(b, 100, 'a')
    assert.equal(b.commits.asyncBatches, 0)
    assert.equal(b.commits.busy, false)
  }, { flushEvery: 10 }))
})

/**
 * A stand-in for lmdb-js under CommitsInFlight: batches never resolve, and the marker LMDB
 * holds is what the test says has landed: `land(seq)`, or `landOnceIssued(seq, after)`, batch
 * `seq` lands once batch `after` has been issued (a write thread finishing it while the task
 * waits after handing over the next).
 */
function fakeDb() {
  const issued: number[] = []
  let landedSeq = 0
  const later: Array<{ seq: number; after: number }> = []
  const fake = {
    issued,
    land(seq: number) {
      landedSeq = Math.max(landedSeq, seq)
    },
    landOnceIssued(seq: number, after: number) {
      later.push({ seq, after })
    },
    db: {
      batch(cb: () => void) {
        cb()
        return new Promise(() => {})
      },
      put(key: Buffer, value: Buffer) {
        if (key.equals(COMMIT_MARKER_KEY) && issued.at(-1) !== value.readDoubleBE(0)) issued.push(value.readDoubleBE(0))
      },
      resetReadTxn() {},
      getBinaryFast() {
        for (const l of later) if (issued.includes(l.after)) fake.land(l.seq)
        if (landedSeq === 0) return undefined
        const b = Buffer.alloc(8)
        b.writeDoubleBE(landedSeq, 0)
        return b
      },
      transactionSync(cb: () => void) {
        cb()
      },
    },
  }
  return fake
}

describe('lmdb commits in flight, bytes', () => {
  const noGens = new Map()
  /** Batches of 500, 100 and 900 value bytes (one write each); the first has landed before the third, the second lands once the third is issued. */
  function threeBatches(maxBytesInFlight: number): CommitsInFlight {
    const fake = fakeDb()
    let values = 0
    const commits = new CommitsInFlight(fake.db as never, () => values, 0, maxBytesInFlight)
    const commitOf = (valueBytes: number) => commits.commit(() => (values += valueBytes), noGens, 1)
    commitOf(500)
    assert.equal(commits.bytesInFlight, 500 + WRITE_OVERHEAD_BYTES)
    commitOf(100)
    assert.equal(commits.inFlight, 2)
    assert.equal(commits.bytesInFlight, 600 + 2 * WRITE_OVERHEAD_BYTES)
    fake.land(1)
    fake.landOnceIssued(2, 3)
    commitOf(900)
    assert.deepEqual(fake.issued, [1, 2, 3])
    return commits
  }

  test('a commit that takes the bytes in flight past the budget waits until the older batches have landed, and never for itself', () => {
    const commits = threeBatches(1000)
    // 228 + 1028 bytes were in flight: past 1000, so it waited until batch 2 had landed.
    assert.equal(commits.inFlight, 1)
    assert.equal(commits.bytesInFlight, 900 + WRITE_OVERHEAD_BYTES, 'alone past the budget, it is in flight')
  })

  test('under the budget the same batches stay in flight together', () => {
    const commits = threeBatches(1_000_000)
    assert.equal(commits.inFlight, 2, 'batches 2 and 3')
    assert.equal(commits.bytesInFlight, 1000 + 2 * WRITE_OVERHEAD_BYTES)
  })
})
