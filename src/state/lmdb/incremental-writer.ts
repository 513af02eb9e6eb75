// The LMDB backend's incremental checkpoint: a full base (every entry of the capture's view) or a
// delta (the entries changed since the confirmed checkpoint this one extends, read from the view
// and its overlay; a key that is gone is written as a deletion), as segments in the shared
// directory (segment-file.ts). The snapshot lists the base and deltas to apply in order. Deltas
// are relative to the last checkpoint confirmed complete, never to one that may still fail, so a
// file is only referenced by checkpoints that include it.

import type { StateKind } from '../../api/state.ts'
import type { Transaction } from 'lmdb'
import { SegmentWriter } from './segment-file.ts'
import { LMDB_INCREMENTAL_FORMAT, type LmdbIncrementalSnapshot } from './incremental-snapshot.ts'
import { extendChain } from '../incremental-chain.ts'
import { hiddenByClear, mergedScan, rawOverlay, SLICE_MS, yieldToTask, type CaptureContext, type Chain, type LmdbCapture } from './capture-view.ts'
import { encodeStateKey, writeMapCacheKey } from './lmdb-key-layout.ts'
import type { GenTable, MapPending } from './write-generations.ts'

/** Where and under which name prefix the segments go. */
export interface IncrementalTarget {
  readonly sharedDir: string
  readonly filePrefix: string
}

/** Adds the LMDB keys a generation of writes touched, and the prefixes of the maps it cleared. */
function genKeys(ctx: CaptureContext, t: GenTable, into: Set<string>, clearedPrefixes: Set<string>): void {
  const ref = ctx.snapKey
  for (const [ck, stored] of t.entries) {
    const prefixLen = encodeStateKey(ck, t.id, ref, ctx.maxParallelism)
    const prefix = ref.buf.toString('latin1', 0, prefixLen)
    into.add(prefix)
    if (t.kind !== 'map') continue
    const mp = stored as MapPending
    if (mp.cleared) clearedPrefixes.add(prefix)
    for (const mck of mp.entries.keys()) {
      ref.len = writeMapCacheKey(mck, ref.buf, prefixLen)
      into.add(ref.buf.toString('latin1', 0, ref.len))
    }
  }
}

/** Writes the capture's segments; returns the snapshot and the chain it extends the confirmed one to. */
export async function writeIncremental(ctx: CaptureContext, target: IncrementalTarget, capture: LmdbCapture): Promise<{ snapshot: LmdbIncrementalSnapshot; chain: Chain }> {
  const inc = capture.incremental!
  const dir = target.sharedDir
  const writer = new SegmentWriter(dir, target.filePrefix, capture.checkpointId, inc.full ? 'base' : 'delta')
  const raw = rawOverlay(ctx, capture)
  if (inc.full) {
    await mergedScan(ctx, capture, raw, (key, value) => writer.add(key, value), () => writer.drain())
  } else {
    // The changed keys, by key group (the first two bytes of the key): each group is sorted on
    // its own, so no step of the task thread's share of this work grows with the whole change set.
    const byKg: Array<Set<string> | undefined> = new Array(ctx.maxParallelism)
    const clearedPrefixes = new Set<string>()
    let slice = performance.now()
    let n = 0
    const pause = async () => {
      if ((++n & 1023) === 0 && performance.now() - slice > SLICE_MS) {
        await yieldToTask()
        ctx.checkOpen()
        slice = performance.now()
      }
    }
    const addKey = (k: string) => {
      const kg = (k.charCodeAt(0) << 8) | k.charCodeAt(1)
      ;(byKg[kg] ??= new Set()).add(k)
    }
    for (const changes of inc.changes) {
      for (const k of changes.dirty) {
        addKey(k)
        await pause()
      }
      for (const gen of changes.gens) {
        for (const t of gen) {
          const keys = new Set<string>()
          genKeys(ctx, t, keys, clearedPrefixes)
          for (const k of keys) {
            addKey(k)
            await pause()
          }
        }
      }
    }
    const kinds = new Map(capture.tables.map((t) => [t.id, t.kind]))
    const ref = ctx.snapKey
    const db = ctx.db
    for (let kg = 0; kg < byKg.length; kg++) {
      const set = byKg[kg]
      if (set === undefined) continue
      byKg[kg] = undefined
      const keys = [...set].sort()
      await pause()
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i]!
        ref.len = ref.buf.write(k, 0, 'latin1')
        const key = ref.buf.subarray(0, ref.len)
        // A cleared map: whatever the base and earlier deltas hold under it goes first.
        if (clearedPrefixes.has(k)) writer.add(key, null, true)
        let value: Buffer | null | undefined = raw.byKey.get(k)
        if (value === undefined) value = hiddenByClear(raw, kinds, key) ? null : ((db.getBinaryFast as (key: unknown, options: { transaction: Transaction }) => Buffer | undefined).call(db, ref, { transaction: capture.txn }) ?? null)
        writer.add(key, value === null ? null : value.subarray(0, value.length))
        if ((i & 1023) === 1023) await writer.drain()
        await pause()
      }
    }
  }
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
