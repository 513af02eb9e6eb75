// The LMDB backend's incremental checkpoint: a full base (every entry of the capture's view) or a
// delta (the entries changed since the confirmed checkpoint this one extends, read from the view
// and its overlay; a key that is gone is written as a deletion), as segments in the shared
// directory (segment-file.ts). The snapshot lists the base and deltas to apply in order. Deltas
// are relative to the last checkpoint confirmed complete, never to one that may still fail, so a
// file is only referenced by checkpoints that include it.

import type { StateKind } from '../../api/state.ts'
import type { Transaction } from 'lmdb'
import { SegmentWriter } from './segment-file.ts'
import { TaskSlices } from '../task-slices.ts'
import { LMDB_INCREMENTAL_FORMAT, type LmdbIncrementalSnapshot } from './incremental-snapshot.ts'
import { extendChain } from '../incremental-chain.ts'
import { KeyGroupBuckets, mergedScan, rawOverlay, SLICE_MS, type CaptureContext, type Chain, type LmdbCapture } from './capture-view.ts'
import { encodeStateKey, writeMapCacheKey } from './lmdb-key-layout.ts'
import { decodeKey, decodedEnd } from './key-codec.ts'
import { DELETED, packr, timeBytes, type GenTable, type MapPending, type OverlayTable, type Timestamped } from './write-generations.ts'

/** Where and under which name prefix the segments go. */
export interface IncrementalTarget {
  readonly sharedDir: string
  readonly filePrefix: string
}

/** A changed key's source: a generation that wrote it (state, cache key, map key or HEADER); null: a committed key (LMDB's view). */
class Written {
  constructor(readonly tid: number, readonly ck: unknown, readonly mck: unknown) {}
}
/** The map-key slot of a Written for a map's header entry (its write time, or its clearing). */
const HEADER: unique symbol = Symbol('header')
/** The map-key slot of a Written for a value-like state. */
const VALUE: unique symbol = Symbol('value')

/**
 * Adds the LMDB keys a generation of writes touched (with where their values are), and the
 * prefixes of the maps it cleared, yielding between `slices` (a generation holds up to
 * the cache size of entries: one pass over it is too long a slice).
 */
async function addGeneration(ctx: CaptureContext, t: GenTable, add: (k: string, w: Written) => void, clearedPrefixes: Set<string>, slices: TaskSlices): Promise<void> {
  const ref = ctx.snapKey
  for (const [ck, stored] of t.entries) {
    if (slices.due()) await slices.yield()
    const prefixLen = encodeStateKey(ck, t.id, ref, ctx.maxParallelism)
    if (t.kind !== 'map') {
      add(ref.buf.toString('latin1', 0, prefixLen), new Written(t.id, ck, VALUE))
      continue
    }
    const mp = stored as MapPending
    if (mp.cleared || (t.timestamped && mp.t !== undefined)) {
      const prefix = ref.buf.toString('latin1', 0, prefixLen)
      if (mp.cleared) clearedPrefixes.add(prefix)
      add(prefix, new Written(t.id, ck, HEADER))
    }
    for (const mck of mp.entries.keys()) {
      ref.len = writeMapCacheKey(mck, ref.buf, prefixLen)
      add(ref.buf.toString('latin1', 0, ref.len), new Written(t.id, ck, mck))
    }
  }
}

/**
 * The capture's value of a written key from its overlay (null: deleted), or undefined when the
 * overlay does not hold it (LMDB's view does). The bytes may be the encoder's reused buffer:
 * valid until the next encoding (the segment writer copies them at once).
 */
function overlayValue(ctx: CaptureContext, overlay: ReadonlyMap<number, OverlayTable>, w: Written): Buffer | null | undefined {
  const t = overlay.get(w.tid)
  if (t === undefined) return undefined
  for (const gen of t.gens) {
    const stored = gen.get(w.ck)
    if (stored === undefined) continue
    if (t.kind !== 'map') return stored === DELETED ? null : t.timestamped ? ctx.timestamped.encode((stored as Timestamped).v, (stored as Timestamped).t) : packr.pack(stored)
    const mp = stored as MapPending
    if (w.mck === HEADER) {
      if (t.timestamped && mp.t !== undefined) return timeBytes(mp.t)
    } else if (mp.entries.has(w.mck)) {
      const v = mp.entries.get(w.mck)
      return v === DELETED ? null : packr.pack(v)
    }
    if (mp.cleared) return null
  }
  return undefined
}

/** Key texts of [key group][state id][user key] of the maps the overlay cleared: what LMDB's view holds under them is gone. */
function overlayCleared(ctx: CaptureContext, capture: LmdbCapture): Set<string> {
  const out = new Set<string>()
  const ref = ctx.snapKey
  for (const t of capture.overlay) {
    if (t.kind !== 'map') continue
    for (const gen of t.gens) {
      for (const [ck, mp] of gen) {
        if ((mp as MapPending).cleared) out.add(ref.buf.toString('latin1', 0, encodeStateKey(ck, t.id, ref, ctx.maxParallelism)))
      }
    }
  }
  return out
}

/**
 * A delta: the keys changed since the base, each with the capture's value (its overlay's, else
 * LMDB's view's; a key that is gone is a deletion), in key order. Every step is O(changed keys):
 * the overlay is looked up per changed key, never serialized whole, and the keys are sorted per
 * key group, so that no slice of the task thread's share grows with the state or the change set.
 */
async function writeDelta(ctx: CaptureContext, capture: LmdbCapture, writer: SegmentWriter): Promise<void> {
  const inc = capture.incremental!
  const byKg = new KeyGroupBuckets<Written | null>(ctx.maxParallelism)
  const clearedPrefixes = new Set<string>()
  const slices = new TaskSlices(SLICE_MS, 256, () => ctx.checkOpen())
  const addWritten = (k: string, w: Written) => {
    byKg.of(k).set(k, w)
  }
  for (const changes of inc.changes) {
    for (const k of changes.dirty) {
      const g = byKg.of(k)
      if (!g.has(k)) g.set(k, null)
      if (slices.due()) await slices.yield()
    }
    for (const gen of changes.gens) {
      for (const t of gen) {
        await addGeneration(ctx, t, addWritten, clearedPrefixes, slices)
      }
    }
  }
  const overlay = new Map(capture.overlay.map((t) => [t.id, t]))
  const kinds = new Map(capture.tables.map((t) => [t.id, t.kind]))
  let hidden: Set<string> | null = null
  const ref = ctx.snapKey
  const db = ctx.db
  const read = db.getBinaryFast as (key: unknown, options: { transaction: Transaction }) => Buffer | undefined
  for await (const [keys, group] of byKg.sorted(slices)) {
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!
      ref.len = ref.buf.write(k, 0, 'latin1')
      const key = ref.buf.subarray(0, ref.len)
      // A cleared map: whatever the base and earlier deltas hold under it goes first.
      if (clearedPrefixes.has(k)) writer.add(key, null, true)
      const w = group.get(k)!
      let value: Buffer | null | undefined = w === null ? undefined : overlayValue(ctx, overlay, w)
      if (value === undefined && kinds.get((key[2]! << 8) | key[3]!) === 'map' && capture.overlay.length > 0) {
        if (hidden === null) {
          hidden = overlayCleared(ctx, capture)
          ref.len = ref.buf.write(k, 0, 'latin1') // overlayCleared used the buffer
        }
        if (hidden.size > 0) {
          decodeKey(key, 4)
          if (hidden.has(k.slice(0, decodedEnd))) value = null
        }
      }
      if (value === undefined) {
        // getBinaryFast's buffer is lmdb-js's shared one, sized by its length property: a view of that length.
        const bytes = read.call(db, ref, { transaction: capture.txn })
        value = bytes === undefined ? null : bytes.subarray(0, bytes.length)
      }
      writer.add(ref.buf.subarray(0, ref.len), value)
      if ((i & 1023) === 1023) await writer.drain()
      if (slices.due()) await slices.yield()
    }
  }
}

/** Writes the capture's segments; returns the snapshot and the chain it extends the confirmed one to. */
export async function writeIncremental(ctx: CaptureContext, target: IncrementalTarget, capture: LmdbCapture): Promise<{ snapshot: LmdbIncrementalSnapshot; chain: Chain }> {
  const inc = capture.incremental!
  const dir = target.sharedDir
  const writer = new SegmentWriter(dir, target.filePrefix, capture.checkpointId, inc.full ? 'base' : 'delta')
  if (inc.full) await mergedScan(ctx, capture, await rawOverlay(ctx, capture), (key, value) => writer.add(key, value), () => writer.drain())
  else await writeDelta(ctx, capture, writer)
  const segments = await writer.finish()
  const chain: Chain = extendChain(capture.checkpointId, inc, segments)
  const states: Record<string, { id: number; kind: StateKind; ttl: boolean }> = {}
  for (const t of capture.tables) states[t.name] = { id: t.id, kind: t.kind, ttl: t.timestamped }
  const snapshot: LmdbIncrementalSnapshot = {
    format: LMDB_INCREMENTAL_FORMAT,
    version: 1,
    maxParallelism: ctx.maxParallelism,
    checkpointId: capture.checkpointId,
    sharedDir: dir,
    states,
    base: chain.base,
    deltas: chain.deltas,
  }
  return { snapshot, chain }
}
