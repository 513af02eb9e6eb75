import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { sharedFilesOf, unreferencedSharedFiles } from '../../../src/state/lmdb/shared-file-registry.ts'
import type { LmdbIncrementalSnapshot } from '../../../src/state/lmdb/incremental-snapshot.ts'
import { segmentName, type SegmentRef } from '../../../src/state/lmdb/segment-file.ts'
import type { KeyedStateSnapshot } from '../../../src/state/keyed-state-backend.ts'

const dir = '/ckpt/job/shared'
const ref = (prefix: string, chk: number, kind: 'base' | 'delta', seq = 0): SegmentRef => ({ name: segmentName(prefix, chk, kind, seq), firstKeyGroup: 0, lastKeyGroup: 127, bytes: 10, entries: 1 })

function snapshot(chk: number, base: SegmentRef[], deltas: Array<[number, SegmentRef[]]>): LmdbIncrementalSnapshot {
  return { format: 'lmdb-incremental', version: 1, maxParallelism: 128, checkpointId: chk, sharedDir: dir, states: {}, base, deltas: deltas.map(([checkpointId, segments]) => ({ checkpointId, segments })) }
}

// One subtask's history: base at 1, deltas at 2 and 3, a new base at 4 with a delta at 5.
const b1 = [ref('lmdb-op-0-aa', 1, 'base', 0), ref('lmdb-op-0-aa', 1, 'base', 1)]
const d2 = [ref('lmdb-op-0-aa', 2, 'delta')]
const d3 = [ref('lmdb-op-0-aa', 3, 'delta')]
const b4 = [ref('lmdb-op-0-aa', 4, 'base')]
const d5 = [ref('lmdb-op-0-aa', 5, 'delta')]
const chk = new Map<number, KeyedStateSnapshot>([
  [1, snapshot(1, b1, [])],
  [2, snapshot(2, b1, [[2, d2]])],
  [3, snapshot(3, b1, [[2, d2], [3, d3]])],
  [4, snapshot(4, b4, [])],
  [5, snapshot(5, b4, [[5, d5]])],
])
const everyFile = [...b1, ...d2, ...d3, ...b4, ...d5].map((r) => join(dir, r.name))

test('sharedFilesOf lists base and deltas as absolute paths; canonical snapshots reference nothing', () => {
  assert.deepEqual(sharedFilesOf(chk.get(3)!), [...b1, ...d2, ...d3].map((r) => join(dir, r.name)))
  assert.deepEqual(sharedFilesOf({ format: 'canonical', maxParallelism: 128, states: {} }), [])
})

test('files still referenced by a retained checkpoint are never listed, whatever the retained set', () => {
  const ids = [...chk.keys()]
  for (let mask = 0; mask < 1 << ids.length; mask++) {
    const retained = ids.filter((_, i) => mask & (1 << i)).map((id) => chk.get(id)!)
    const referenced = new Set(retained.flatMap(sharedFilesOf))
    const doomed = unreferencedSharedFiles(retained, everyFile)
    for (const f of doomed) assert.ok(!referenced.has(f), `mask ${mask}: ${f} is referenced`)
    assert.deepEqual(new Set(doomed), new Set(everyFile.filter((f) => !referenced.has(f))), `mask ${mask}: every unreferenced file is listed`)
  }
})

test('after subsumption by a new base, the old chain goes; the new one stays', () => {
  const doomed = unreferencedSharedFiles([chk.get(5)!], everyFile)
  assert.deepEqual(doomed, [...b1, ...d2, ...d3].map((r) => join(dir, r.name)))
})

test('with a directory listing, files of checkpoints that may be in flight and unknown files are kept', () => {
  const listing = [...everyFile.map((f) => f.slice(dir.length + 1)), 'notes.txt', `${d5[0]!.name}.tmp-1a2b3c4d`, segmentName('lmdb-op-1-bb', 6, 'delta', 0)]
  const doomed = unreferencedSharedFiles([chk.get(3)!], listing, { inFlightAfter: 5 })
  assert.deepEqual(doomed, [b4[0]!.name, d5[0]!.name, `${d5[0]!.name}.tmp-1a2b3c4d`])
  assert.deepEqual(unreferencedSharedFiles([chk.get(3)!], listing, { inFlightAfter: 3 }), [])
})
