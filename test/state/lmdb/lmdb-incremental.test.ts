import { test, describe, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, readdirSync, existsSync, writeFileSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, basename } from 'node:path'
import { runKeyedStateBackendContract, normalize, throughCodec } from '../keyed-state-backend.contract.ts'
import { LmdbKeyedStateBackend, type LmdbBackendOptions, type LmdbIncrementalSnapshot } from '../../../src/state/lmdb/lmdb-keyed-state-backend.ts'
import { HeapKeyedStateBackend } from '../../../src/state/heap/keyed-state-backend.ts'
import { sharedFilesOf } from '../../../src/state/lmdb/shared-file-registry.ts'
import { ValueStateDescriptor, MapStateDescriptor, ListStateDescriptor } from '../../../src/api/state.ts'
import { keyGroupRangeForOperator, type KeyGroupRange } from '../../../src/state/key-groups.ts'
import type { KeyedStateBackend, KeyedStateSnapshot } from '../../../src/state/keyed-state-backend.ts'
import { isWeirError } from '../../../src/errors.ts'
import { createKeyedStateBackend } from '../../../src/state/backend-factory.ts'

const root = mkdtempSync(join(tmpdir(), 'weir-lmdb-test-'))
after(() => rmSync(root, { recursive: true, force: true }))
const shared = join(root, 'job', 'shared')
const MAX_P = 128
const ALL: KeyGroupRange = { start: 0, end: MAX_P - 1 }
let n = 0

function lmdb(options: LmdbBackendOptions & { incremental?: boolean; sharedDir?: string; now?: () => number; subtask?: number } = {}): LmdbKeyedStateBackend {
  return new LmdbKeyedStateBackend(
    { type: 'lmdb', localDir: join(root, 'local'), incremental: options.incremental ?? true, jobId: `job-${n++}`, attempt: 0, sharedDir: options.sharedDir ?? shared },
    { maxParallelism: MAX_P, operatorUid: 'counter', subtaskIndex: options.subtask ?? 0 },
    options.now ?? Date.now,
    options,
  )
}

// The contract again with every write committed at once, and with incremental checkpoints (the
// contract's checkpoint round trips and merges then go through shared files).
runKeyedStateBackendContract('lmdb, commit per write', ({ now }) => lmdb({ flushEvery: 1, incremental: false, now }))
runKeyedStateBackendContract('lmdb, commit every 3 writes', ({ now }) => lmdb({ flushEvery: 3, now }))
runKeyedStateBackendContract('lmdb, incremental checkpoints', ({ now }) => lmdb({ now }))
// And with caches far smaller than the contract's states: values are evicted and read back.
runKeyedStateBackendContract('lmdb, a cache of 3 entries', ({ now }) => lmdb({ cacheSize: 3, incremental: false, now }))
runKeyedStateBackendContract('lmdb, a cache of 7 entries, incremental', ({ now }) => lmdb({ cacheSize: 7, now }))

const counter = new ValueStateDescriptor<number>('count', 0)
const payload = new ValueStateDescriptor<string>('payload')
const tags = new MapStateDescriptor<string, number>('tags')

async function checkpoint(b: KeyedStateBackend, id: number, confirm = true): Promise<KeyedStateSnapshot> {
  const snap = throughCodec(await b.materializeSnapshot(b.captureSnapshot(id, { savepoint: false })))
  if (confirm) b.notifyCheckpointComplete!(id)
  return snap
}

async function savepoint(b: KeyedStateBackend): Promise<KeyedStateSnapshot> {
  return throughCodec(await b.materializeSnapshot(b.captureSnapshot(999, { savepoint: true })))
}

function bytesOf(snapshot: KeyedStateSnapshot, onlyCheckpoint?: number): number {
  const s = snapshot as LmdbIncrementalSnapshot
  const refs = onlyCheckpoint === undefined ? [...s.base, ...s.deltas.flatMap((d) => d.segments)] : s.deltas.filter((d) => d.checkpointId === onlyCheckpoint).flatMap((d) => d.segments)
  return refs.reduce((a, r) => a + r.bytes, 0)
}

describe('lmdb incremental checkpoints', () => {
  test('a checkpoint after changing 1 % of the keys writes at most 5 % of a full checkpoint', async () => {
    const b = lmdb()
    const c = b.getState(counter), p = b.getState(payload)
    const keys = 20_000
    for (let k = 0; k < keys; k++) {
      b.setCurrentKey(`user-${k}`)
      c.update(k)
      p.update('x'.repeat(100))
    }
    const full = await checkpoint(b, 1)
    assert.equal(full.format, 'lmdb-incremental')
    const fullBytes = bytesOf(full)
    assert.ok(fullBytes > keys * 100, `full checkpoint holds the state (${fullBytes} bytes)`)
    for (let k = 0; k < keys; k += 100) {
      b.setCurrentKey(`user-${k}`)
      c.update(c.value() + 1)
    }
    const delta = await checkpoint(b, 2)
    const deltaBytes = bytesOf(delta, 2)
    assert.ok(deltaBytes > 0)
    assert.ok(deltaBytes <= 0.05 * fullBytes, `delta ${deltaBytes} bytes, full ${fullBytes} bytes`)
    // The delta checkpoint references the base's files and its own.
    const files = sharedFilesOf(delta)
    for (const f of sharedFilesOf(full)) assert.ok(files.includes(f))
    const r = lmdb()
    r.restore(delta, ALL)
    assert.deepEqual(normalize(await savepoint(r)), normalize(await savepoint(b)))
    b.dispose()
    r.dispose()
  })

  test('deltas carry deletions: clear, map remove, emptied lists; restore applies base and deltas in order', async () => {
    const b = lmdb()
    const c = b.getState(counter), m = b.getState(tags), l = b.getState(new ListStateDescriptor<number>('l'))
    for (let k = 0; k < 500; k++) {
      b.setCurrentKey(k)
      c.update(k)
      m.put('a', k)
      m.put('b', k)
      l.add(k)
    }
    await checkpoint(b, 1)
    for (let k = 0; k < 500; k += 7) {
      b.setCurrentKey(k)
      c.clear()
      m.remove('a')
      l.update([])
    }
    await checkpoint(b, 2)
    for (let k = 0; k < 500; k += 11) {
      b.setCurrentKey(k)
      c.update(-1)
      m.clear()
      m.put('c', 1)
      l.add(99)
    }
    b.setCurrentKey('new')
    c.update(1)
    const third = await checkpoint(b, 3)
    assert.equal((third as LmdbIncrementalSnapshot).deltas.length, 2)
    const r = lmdb()
    r.restore(third, ALL)
    assert.deepEqual(normalize(await savepoint(r)), normalize(await savepoint(b)))
    b.dispose()
    r.dispose()
  })

  test('a delta is based on the last confirmed checkpoint, never on one that may still fail', async () => {
    const b = lmdb()
    const c = b.getState(counter)
    for (let k = 0; k < 100; k++) {
      b.setCurrentKey(k)
      c.update(1)
    }
    const first = await checkpoint(b, 1)
    b.setCurrentKey(1)
    c.update(2)
    const second = await checkpoint(b, 2, false) // never confirmed (aborted elsewhere)
    b.setCurrentKey(2)
    c.update(3)
    const third = await checkpoint(b, 3)
    const secondOwn = sharedFilesOf(second).filter((f) => !sharedFilesOf(first).includes(f))
    assert.equal(secondOwn.length, 1)
    assert.ok(!sharedFilesOf(third).includes(secondOwn[0]!), 'checkpoint 3 does not reference checkpoint 2 files')
    rmSync(secondOwn[0]!) // what the coordinator may do with an aborted checkpoint's files
    const r = lmdb()
    r.restore(third, ALL)
    r.setCurrentKey(1)
    assert.equal(r.getState(counter).value(), 2, 'the change of the unconfirmed checkpoint is in the next delta')
    r.setCurrentKey(2)
    assert.equal(r.getState(counter).value(), 3)
    b.dispose()
    r.dispose()
  })

  test('a new base after maxDeltas deltas, or when the deltas outgrow the base', async () => {
    const b = lmdb({ maxDeltas: 2 })
    const c = b.getState(counter)
    const kinds: string[] = []
    for (let id = 1; id <= 5; id++) {
      b.setCurrentKey(id)
      c.update(id)
      const s = (await checkpoint(b, id)) as LmdbIncrementalSnapshot
      kinds.push(s.deltas.length === 0 ? 'base' : `delta${s.deltas.length}`)
    }
    assert.deepEqual(kinds, ['base', 'delta1', 'delta2', 'base', 'delta1'])
    const g = lmdb()
    const gc = g.getState(counter)
    g.setCurrentKey('small')
    gc.update(1)
    await checkpoint(g, 1)
    for (let k = 0; k < 200; k++) {
      g.setCurrentKey(k)
      gc.update(k)
    }
    assert.equal(((await checkpoint(g, 2)) as LmdbIncrementalSnapshot).deltas.length, 1)
    g.setCurrentKey('small')
    gc.update(2)
    assert.equal(((await checkpoint(g, 3)) as LmdbIncrementalSnapshot).deltas.length, 0, 'deltas larger than the base: a new base')
    b.dispose()
    g.dispose()
  })

  test('an unchanged state writes no file for its checkpoint', async () => {
    const b = lmdb()
    b.setCurrentKey('a')
    b.getState(counter).update(1)
    const first = await checkpoint(b, 1)
    const second = await checkpoint(b, 2)
    assert.deepEqual(sharedFilesOf(second), sharedFilesOf(first))
    b.dispose()
  })

  test('without completions it writes full checkpoints (nothing unconfirmed to build on)', async () => {
    const b = lmdb({ maxDeltas: 2 })
    const c = b.getState(counter)
    for (let id = 1; id <= 6; id++) {
      b.setCurrentKey(id)
      c.update(id)
      const s = (await checkpoint(b, id, false)) as LmdbIncrementalSnapshot
      assert.equal(s.deltas.length, 0)
    }
    b.dispose()
  })

  test('savepoints are canonical even with incremental checkpoints on', async () => {
    const b = lmdb()
    b.setCurrentKey('a')
    b.getState(counter).update(1)
    assert.equal((await savepoint(b)).format, 'canonical')
    b.dispose()
  })

  test('restore at the same key groups extends the restored chain; a rescaled restore starts a new base', async () => {
    const b = lmdb()
    const c = b.getState(counter)
    for (let k = 0; k < 300; k++) {
      b.setCurrentKey(k)
      c.update(k)
    }
    const snap = await checkpoint(b, 1)
    b.dispose()
    const same = lmdb()
    same.restore(snap, ALL)
    same.setCurrentKey(5)
    same.getState(counter).update(500)
    const next = (await checkpoint(same, 2)) as LmdbIncrementalSnapshot
    assert.equal(next.deltas.length, 1)
    assert.deepEqual(next.base, (snap as LmdbIncrementalSnapshot).base)
    const half = lmdb()
    half.restore(snap, keyGroupRangeForOperator(MAX_P, 2, 0))
    const rescaled = (await checkpoint(half, 2)) as LmdbIncrementalSnapshot
    assert.equal(rescaled.deltas.length, 0)
    assert.ok(rescaled.base.every((r) => r.lastKeyGroup <= 63))
    const otherJob = lmdb({ sharedDir: join(root, 'other-job', 'shared') })
    otherJob.restore(snap, ALL)
    assert.equal(((await checkpoint(otherJob, 7)) as LmdbIncrementalSnapshot).deltas.length, 0, 'another job writes its own base')
    same.dispose()
    half.dispose()
    otherJob.dispose()
  })

  test('restore reads only the segments of its key groups', async () => {
    const b = lmdb()
    const p = b.getState(payload)
    for (let k = 0; k < 20_000; k++) {
      b.setCurrentKey(k)
      p.update('y'.repeat(2000))
    }
    const snap = (await checkpoint(b, 1)) as LmdbIncrementalSnapshot
    b.dispose()
    assert.ok(snap.base.length >= 2, `${snap.base.length} segments`)
    const range = { start: snap.base[0]!.firstKeyGroup, end: snap.base[0]!.lastKeyGroup - 1 }
    // Damage every other segment: a restore of the first segment's key groups does not read them.
    for (const ref of snap.base.slice(1)) if (ref.firstKeyGroup > range.end) writeFileSync(join(shared, ref.name), 'junk')
    const r = lmdb()
    r.restore(snap, range)
    assert.ok([...r.keys('payload')].length > 0)
    const all = lmdb()
    assert.throws(() => all.restore(snap, ALL), (e: Error) => isWeirError(e) && e.code === 'WEIR_CHECKPOINT_CORRUPT')
    r.dispose()
    all.dispose()
  })

  test('a missing shared file fails the restore with a corrupt-checkpoint error naming it', async () => {
    const b = lmdb()
    b.setCurrentKey('a')
    b.getState(counter).update(1)
    const snap = await checkpoint(b, 1)
    b.dispose()
    const file = sharedFilesOf(snap)[0]!
    const bytes = readFileSync(file)
    rmSync(file)
    const r = lmdb()
    assert.throws(() => r.restore(snap, ALL), (e: Error) => isWeirError(e) && e.code === 'WEIR_CHECKPOINT_CORRUPT' && e.message.includes(basename(file)))
    writeFileSync(file, bytes)
    r.dispose()
  })

  test('the heap backend refuses an incremental snapshot, pointing to savepoints', async () => {
    const b = lmdb()
    b.setCurrentKey('a')
    b.getState(counter).update(1)
    const snap = await checkpoint(b, 1)
    b.dispose()
    assert.throws(() => new HeapKeyedStateBackend(MAX_P).restore(snap, ALL), (e: Error) => isWeirError(e) && e.code === 'WEIR_RESTORE_FAILED' && /savepoint/.test(e.message))
  })

  test('an incremental snapshot taken at another max parallelism is refused', async () => {
    const b = lmdb()
    b.setCurrentKey('a')
    b.getState(counter).update(1)
    const snap = await checkpoint(b, 1)
    b.dispose()
    const other = new LmdbKeyedStateBackend({ type: 'lmdb', localDir: join(root, 'local'), incremental: true, jobId: `job-${n++}`, attempt: 0, sharedDir: shared }, { maxParallelism: 256, operatorUid: 'x', subtaskIndex: 0 })
    assert.throws(() => other.restore(snap, { start: 0, end: 255 }), /max parallelism 128/)
    other.dispose()
  })
})

describe('lmdb snapshots under random operations', () => {
  const seeds = process.env.WEIR_SEED ? [Number(process.env.WEIR_SEED)] : [1, 2, 3, 4, 5, 6]
  for (const seed of seeds) {
    test(`seed ${seed}: every incremental checkpoint restores to the canonical snapshot of the same moment (replay: WEIR_SEED=${seed})`, async () => {
      let x = seed * 2654435761
      const random = () => {
        x ^= x << 13
        x ^= x >>> 17
        x ^= x << 5
        return (x >>> 0) / 2 ** 32
      }
      const pick = <T,>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!
      const b = lmdb({ flushEvery: pick([1, 4, 16, 64, 1000]), maxDeltas: pick([2, 3, 10]) })
      const v = b.getState(counter)
      const l = b.getState(new ListStateDescriptor<number>('l'))
      const m = b.getState(new MapStateDescriptor<unknown, number>('m'))
      const keys: unknown[] = [0, 1, 2, 3, 'a', 'b', [1, 'x'], { k: 2 }, 5n, true]
      const inFlight: Array<{ id: number; capture: unknown; expected: Promise<KeyedStateSnapshot> }> = []
      let id = 0
      for (let step = 0; step < 600; step++) {
        b.setCurrentKey(pick(keys))
        const r = random()
        if (r < 0.15) v.update(Math.floor(random() * 100))
        else if (r < 0.2) v.clear()
        else if (r < 0.3) l.add(step)
        else if (r < 0.33) l.update(random() < 0.5 ? [] : [step, step])
        else if (r < 0.36) l.clear()
        else if (r < 0.5) m.put(pick(['p', 'q', 'r', 7, [1]]), step)
        else if (r < 0.58) m.remove(pick(['p', 'q', 'r', 7, [1]]))
        else if (r < 0.62) m.clear()
        else if (r < 0.64) l.get()
        else if (r < 0.72 && step % 3 === 0) {
          // A checkpoint and, at the same moment, a savepoint: the same view.
          id++
          const capture = b.captureSnapshot(id, { savepoint: false })
          const expected = b.materializeSnapshot(b.captureSnapshot(1000 + id, { savepoint: true }))
          inFlight.push({ id, capture, expected })
        } else if (r < 0.8 && inFlight.length > 0) {
          // Materialize one (not always the oldest), confirm it or not, and check its restore.
          const i = Math.floor(random() * inFlight.length)
          const { id: done, capture, expected } = inFlight.splice(i, 1)[0]!
          const snap = throughCodec(await b.materializeSnapshot(capture))
          if (random() < 0.7) b.notifyCheckpointComplete!(done)
          const restored = lmdb({ incremental: false })
          restored.restore(snap, ALL)
          assert.deepEqual(normalize(await savepoint(restored)), normalize(await expected), `checkpoint ${done} at step ${step}`)
          restored.dispose()
        }
      }
      // The savepoints still in flight finish before the backend goes.
      await Promise.all(inFlight.map((f) => f.expected))
      b.dispose()
    })
  }
})

describe('lmdb working directory', () => {
  test('is named from job, operator uid, subtask and attempt, and dispose() removes it', () => {
    const local = join(root, 'wd')
    const b = new LmdbKeyedStateBackend({ type: 'lmdb', localDir: local, incremental: false, jobId: 'job-abc', attempt: 3 }, { maxParallelism: MAX_P, operatorUid: 'count/words', subtaskIndex: 2 })
    assert.equal(basename(b.dir), 'weir-lmdb-job-abc-count_words-2-3')
    b.setCurrentKey('k')
    b.getState(counter).update(1)
    b.flush()
    assert.ok(existsSync(join(b.dir, 'data.mdb')))
    b.dispose()
    assert.equal(existsSync(b.dir), false)
    assert.deepEqual(readdirSync(local), [])
  })

  test('registers itself with the backend factory when its module is loaded', () => {
    const b = createKeyedStateBackend({ type: 'lmdb', localDir: join(root, 'wd2'), incremental: false, jobId: 'factory', attempt: 0 }, { maxParallelism: MAX_P, operatorUid: 'u', subtaskIndex: 0 })
    assert.equal(b.type, 'lmdb')
    b.dispose()
  })
})
