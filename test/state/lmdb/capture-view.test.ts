import { test } from 'node:test'
import assert from 'node:assert/strict'
import { rawOverlay, type CaptureContext, type LmdbCapture } from '../../../src/state/lmdb/capture-view.ts'
import { encodeStateKey, KEY_BUFFER_BYTES, KeyRef } from '../../../src/state/lmdb/lmdb-key-layout.ts'
import { DELETED, unpackr } from '../../../src/state/lmdb/write-generations.ts'
import { assignToKeyGroup } from '../../../src/state/key-groups.ts'

test('the overlay comes out in key order across key groups, the newest generation of each key winning', async () => {
  const ctx = { maxParallelism: 128, now: () => 0, snapKey: new KeyRef(Buffer.alloc(KEY_BUFFER_BYTES)), checkOpen: () => {} } as unknown as CaptureContext
  const newer = new Map<unknown, unknown>()
  const older = new Map<unknown, unknown>()
  for (let i = 0; i < 3000; i++) older.set(`user-${i}`, i)
  for (let i = 0; i < 3000; i += 3) newer.set(`user-${i}`, i % 2 === 0 ? DELETED : -i)
  const capture = { overlay: [{ id: 1, kind: 'value', timestamped: false, gens: [newer, older] }] } as unknown as LmdbCapture
  const { points } = await rawOverlay(ctx, capture)
  assert.equal(points.length, 3000)
  for (let i = 1; i < points.length; i++) assert.ok(Buffer.compare(points[i - 1]![0], points[i]![0]) < 0, `entry ${i} follows entry ${i - 1} in key order`)
  const groups = new Set(points.map(([k]) => k.readUInt16BE(0)))
  assert.ok(groups.size > 100, `keys of ${groups.size} key groups`)
  const byKey = new Map(points.map(([k, v]) => [k.toString('latin1'), v]))
  const ref = new KeyRef(Buffer.alloc(KEY_BUFFER_BYTES))
  for (let i = 0; i < 3000; i++) {
    const v = byKey.get(ref.buf.toString('latin1', 0, encodeStateKey(`user-${i}`, 1, ref, 128)))
    const expected = i % 3 === 0 ? (i % 2 === 0 ? null : -i) : i
    assert.deepEqual(v === null || v === undefined ? v : unpackr.unpack(v), expected, `user-${i}`)
  }
  assert.equal(points[0]![0].readUInt16BE(0), Math.min(...Array.from({ length: 3000 }, (_, i) => assignToKeyGroup(`user-${i}`, 128))))
})
