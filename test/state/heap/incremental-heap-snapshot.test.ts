import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runKeyedStateBackendContract, normalize, throughCodec } from '../keyed-state-backend.contract.ts'
import { HeapKeyedStateBackend } from '../../../src/state/heap/keyed-state-backend.ts'
import type { HeapIncrementalSnapshot } from '../../../src/state/heap/incremental-heap-snapshot.ts'
import { sharedFilesOf } from '../../../src/state/lmdb/shared-file-registry.ts'
import { ValueStateDescriptor, MapStateDescriptor, ListStateDescriptor } from '../../../src/api/state.ts'
import { keyGroupRangeForOperator } from '../../../src/state/key-groups.ts'
import type { KeyedStateBackend, KeyedStateSnapshot } from '../../../src/state/keyed-state-backend.ts'
import { createKeyedStateBackend } from '../../../src/state/backend-factory.ts'
import { SeededRandom } from '../../../src/testing/random.ts'

const root = mkdtempSync(join(tmpdir(), 'weir-heap-inc-'))
after(() => rmSync(root, { recursive: true, force: true }))
const shared = join(root, 'shared')
const MAX_P = 128
const ALL = { start: 0, end: MAX_P - 1 }
let n = 0
const heap = (now: () => number = Date.now, sharedDir = shared) => new HeapKeyedStateBackend(MAX_P, now, { sharedDir, filePrefix: `heap-test-${n++}` })

// The contract with incremental checkpoints: its checkpoint round trips go through shared files.
runKeyedStateBackendContract('hashmap, incremental checkpoints', ({ now }) => heap(now))

async function checkpoint(b: KeyedStateBackend, id: number): Promise<HeapIncrementalSnapshot> {
  const s = throughCodec(await b.materializeSnapshot(b.captureSnapshot(id, { savepoint: false }))) as unknown as HeapIncrementalSnapshot
  b.notifyCheckpointComplete?.(id)
  return s
}

async function savepoint(b: KeyedStateBackend, id: number): Promise<KeyedStateSnapshot> {
  return throughCodec(await b.materializeSnapshot(b.captureSnapshot(id, { savepoint: true })))
}

const count = new ValueStateDescriptor<number>('count', 0)

test('after a base, a checkpoint writes only the keys changed since the last completed one, deletions included', async () => {
  const b = heap()
  const c = b.getState(count)
  for (let k = 0; k < 1000; k++) {
    b.setCurrentKey(k)
    c.update(k)
  }
  const base = await checkpoint(b, 1)
  assert.equal(base.format, 'heap-incremental')
  assert.equal(base.deltas.length, 0)
  assert.equal(base.base.reduce((a, r) => a + r.entries, 0), 1000)
  for (let k = 0; k < 10; k++) {
    b.setCurrentKey(k)
    c.update(-k)
  }
  b.setCurrentKey(500)
  c.clear()
  const delta = await checkpoint(b, 2)
  assert.deepEqual(delta.base, base.base, 'the delta extends the same base')
  assert.equal(delta.deltas.length, 1)
  assert.equal(delta.deltas[0]!.segments.reduce((a, r) => a + r.entries, 0), 11)
  // Every file the snapshot lists is reference-counted by the coordinator.
  assert.equal(sharedFilesOf(delta).length, delta.base.length + 1)
  const restored = heap()
  restored.restore(delta, ALL)
  assert.deepEqual(normalize(await savepoint(restored, 3)), normalize(await savepoint(b, 4)))
})

test('values of every size and kind in one key group: small ones and large ones (written as their key group is) come back together', async () => {
  const b = heap()
  const v = b.getState(new ValueStateDescriptor<unknown>('v'))
  const long = 'é'.repeat(2000)
  for (let k = 0; k < 3000; k++) {
    b.setCurrentKey(k % 5 === 0 ? [k, 'composite'] : `key-${k}`)
    // Numbers, short strings, strings of 84 to ~2,000 characters (more than 256 bytes), objects.
    const value = k % 4 === 0 ? k : k % 4 === 1 ? `short ${k}` : k % 4 === 2 ? `${long.slice(k % 1900)}${k}` : { k, tags: ['a', 'b'] }
    v.update(value)
  }
  for (const id of [1, 2]) {
    if (id === 2) {
      for (let k = 0; k < 3000; k += 7) {
        b.setCurrentKey(k % 5 === 0 ? [k, 'composite'] : `key-${k}`)
        if (k % 2 === 0) v.clear()
        else v.update(`${long}${k}`)
      }
    }
    const s = await checkpoint(b, id)
    assert.equal(s.deltas.length, id - 1)
    const restored = heap()
    restored.restore(s, ALL)
    assert.deepEqual(normalize(await savepoint(restored, 10 + id)), normalize(await savepoint(b, 20 + id)), `checkpoint ${id}`)
  }
})

test('a checkpoint that never completed is not a base: the next delta covers its changes too', async () => {
  const b = heap()
  const c = b.getState(count)
  b.setCurrentKey('a')
  c.update(1)
  await checkpoint(b, 1)
  b.setCurrentKey('b')
  c.update(2)
  // Checkpoint 2 is materialized but never confirmed.
  await b.materializeSnapshot(b.captureSnapshot(2, { savepoint: false }))
  b.setCurrentKey('c')
  c.update(3)
  const s3 = await checkpoint(b, 3)
  assert.equal(s3.deltas.length, 1)
  assert.equal(s3.deltas[0]!.segments.reduce((a, r) => a + r.entries, 0), 2, 'b and c')
  const restored = heap()
  restored.restore(s3, ALL)
  assert.deepEqual(normalize(await savepoint(restored, 4)), normalize(await savepoint(b, 5)))
})

test('random writes over many checkpoints: every restored chain equals the state at its capture, also split over two subtasks', async () => {
  const random = new SeededRandom(8)
  const b = heap()
  const c = b.getState(count)
  const l = b.getState(new ListStateDescriptor<number>('list'))
  const m = b.getState(new MapStateDescriptor<string, number>('map'))
  for (let round = 1; round <= 14; round++) {
    for (let i = 0; i < 300; i++) {
      const k = random.int(0, 200)
      b.setCurrentKey(k % 7 === 0 ? [k, 'x'] : k)
      const r = random.next()
      if (r < 0.4) c.update(round * 1000 + i)
      else if (r < 0.6) l.add(i)
      else if (r < 0.8) m.put(`f${i % 5}`, i)
      else if (r < 0.9) c.clear()
      else m.remove(`f${i % 5}`)
    }
    const expected = normalize(await savepoint(b, 1000 + round))
    // A savepoint between checkpoints must not hide changes from the next delta.
    const s = await checkpoint(b, round)
    const whole = heap(Date.now, join(root, 'other'))
    whole.restore(s, ALL)
    assert.deepEqual(normalize(await savepoint(whole, 1)), expected, `round ${round}`)
    const halves = [0, 1].map((i) => {
      const h = heap(Date.now, join(root, 'other'))
      h.restore(s, keyGroupRangeForOperator(MAX_P, 2, i))
      return h
    })
    const merged = heap(Date.now, join(root, 'other'))
    for (const h of halves) merged.restore(await savepoint(h, 1), ALL)
    assert.deepEqual(normalize(await savepoint(merged, 1)), expected, `round ${round}, rescaled to 2 and back`)
  }
})

test('state.backend.incremental: true gives the hashmap backend incremental checkpoints when checkpoints go to a file system', async () => {
  const settings = { type: 'hashmap' as const, localDir: null, incremental: true, jobId: 'j', attempt: 0, sharedDir: shared }
  const b = createKeyedStateBackend(settings, { maxParallelism: MAX_P, operatorUid: 'op', subtaskIndex: 0 })
  b.getState(count)
  b.setCurrentKey(1)
  b.getState(count).update(5)
  assert.equal((await checkpoint(b, 1)).format, 'heap-incremental')
  const plain = createKeyedStateBackend({ ...settings, sharedDir: null }, { maxParallelism: MAX_P, operatorUid: 'op', subtaskIndex: 0 })
  plain.getState(count)
  assert.equal((await checkpoint(plain, 1)).format, 'canonical')
})
