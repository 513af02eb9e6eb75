// Incremental checkpoints of the heap backend (state.backend.type: hashmap with
// execution.checkpointing.incremental: true). A checkpoint writes either a full base (every entry of the
// capture's view) or a delta: the current value, or a deletion, of every key written since the
// last checkpoint confirmed complete (the layers of writes that copy-on-write freezes at each
// capture are exactly those changes, see layered-map.ts). Files are the LMDB backend's segments
// (lmdb/segment-file.ts: framed, checksummed, in <job-id>/shared/, reference-counted by the
// coordinator); an entry is [key group][state id][key] (lmdb/key-codec.ts bytes) with the
// MessagePack of the entry's canonical value. Entries are written in key-group order, so a
// restore at another parallelism skips the segments outside its range. A full base is written
// every `maxDeltas` deltas, or when the deltas outgrow the base; savepoints stay canonical.

import type { StateKind } from '../../api/state.ts'
import { assignToKeyGroup, type KeyGroupRange } from '../key-groups.ts'
import type { TtlPolicy } from '../keyed-state-backend.ts'
import { WeirError } from '../../errors.ts'
import { decodeKey, maxKeyBytes } from '../lmdb/key-codec.ts'
import { KEY_BUFFER_BYTES, KeyRef, writeStateKey, type KeyToken } from '../lmdb/lmdb-key-layout.ts'
import { ENTRY_OVERHEAD, forEachSegmentEntry, putDeletion, putKeyLength, putPrimitiveValue, readSegment, SegmentWriter, type SegmentRef } from '../lmdb/segment-file.ts'
import { primitiveBytes } from '../lmdb/primitive-values.ts'
import { KeyGroupRuns } from './key-group-runs.ts'
import { packr, unpackr } from '../lmdb/write-generations.ts'
import { HEAP_INCREMENTAL_FORMAT } from './heap-incremental-format.ts'
import { extendChain, type Chain as IncrementalChain, type IncrementalSnapshotOf } from '../incremental-chain.ts'
import { shadowedAbove, TOMBSTONE, type FrozenView } from './layered-map.ts'
import { TaskSlices } from '../task-slices.ts'
import { packTransient } from '../../io/transient-pack.ts'
import { originalKey } from './canonical-heap-snapshot.ts'

export { HEAP_INCREMENTAL_FORMAT }

export type HeapIncrementalSnapshot = IncrementalSnapshotOf<typeof HEAP_INCREMENTAL_FORMAT, SegmentRef>

/** The base and deltas a checkpoint consists of. */
export type Chain = IncrementalChain<SegmentRef>

/** The writes of one table between two captures (a layer frozen by the later one). */
export interface TableChanges {
  readonly name: string
  readonly layer: ReadonlyMap<unknown, unknown>
}

export interface IncrementalTable {
  readonly name: string
  readonly id: number
  readonly kind: StateKind
  readonly ttl: TtlPolicy | null
  readonly view: FrozenView
}

export interface IncrementalCapture {
  readonly checkpointId: number
  readonly tables: readonly IncrementalTable[]
  readonly compositeKeys: ReadonlyMap<string, unknown>
  readonly maxParallelism: number
  readonly full: boolean
  readonly base: Chain | null
  /** Delta: the changes of every capture since the base's checkpoint, oldest first. */
  readonly changes: ReadonlyArray<readonly TableChanges[]>
}

const SLICE_MS = 4
/** Values that encode to more bytes than this are encoded when their key group is written (EntryEncoder). */
const SMALL_VALUE_BYTES = 256

/** Writes a capture's segments into `sharedDir`; returns the snapshot and its chain. */
export async function writeHeapIncremental(capture: IncrementalCapture, sharedDir: string, filePrefix: string): Promise<{ snapshot: HeapIncrementalSnapshot; chain: Chain }> {
  const maxP = capture.maxParallelism
  const runs = new KeyGroupRuns(maxP)
  const encoder = new EntryEncoder(capture, runs)
  const slices = new TaskSlices(SLICE_MS)
  if (capture.full) {
    for (let t = 0; t < capture.tables.length; t++) {
      const view = capture.tables[t]!.view
      for (let i = 0; i < view.length; i++) {
        const entries = view[i]!.entries()
        while (!encodeLayer(entries, t, view, i, encoder, slices)) await slices.yield()
      }
    }
  } else {
    const index = new Map(capture.tables.map((t, i) => [t.name, i]))
    const layers = capture.tables.map((): Array<ReadonlyMap<unknown, unknown>> => [])
    for (const changes of capture.changes) {
      for (const c of changes) {
        const t = index.get(c.name)
        if (t !== undefined) layers[t]!.push(c.layer)
      }
    }
    for (let t = 0; t < capture.tables.length; t++) {
      const view = capture.tables[t]!.view
      const changes = layers[t]!
      if (changes.length === 0) continue
      if (changes.length === 1 && changes[0] === view[0]) {
        // The common case (one checkpoint at a time): the changes since the last completed
        // checkpoint are the capture's newest layer, which holds their current values.
        const entries = changes[0].entries()
        while (!encodeLayer(entries, t, null, 0, encoder, slices)) await slices.yield()
        continue
      }
      const changed = new Set<unknown>()
      for (const layer of changes) {
        for (const k of layer.keys()) {
          if (slices.due()) await slices.yield()
          changed.add(k)
        }
      }
      for (const k of changed) {
        if (slices.due()) await slices.yield()
        let v: unknown
        for (let i = 0; i < view.length && v === undefined; i++) v = view[i]!.get(k)
        encoder.add(t, k, v === undefined ? TOMBSTONE : v)
      }
    }
  }
  // The runs in key-group order, each followed by its key group's deferred entries, are the segments' payload.
  const writer = new SegmentWriter(sharedDir, filePrefix, capture.checkpointId, capture.full ? 'base' : 'delta')
  const ref = new KeyRef(Buffer.allocUnsafe(KEY_BUFFER_BYTES))
  for (let kg = 0; kg < maxP; kg++) {
    await encoder.write(kg, writer, ref, slices)
    await writer.drain()
    if (slices.overdue()) await slices.yield()
  }
  const segments = await writer.finish()
  const chain: Chain = extendChain(capture.checkpointId, capture, segments)
  const states: Record<string, { id: number; kind: StateKind; ttl: boolean }> = {}
  for (const t of capture.tables) states[t.name] = { id: t.id, kind: t.kind, ttl: t.ttl !== null }
  return {
    snapshot: { format: HEAP_INCREMENTAL_FORMAT, version: 1, maxParallelism: maxP, checkpointId: capture.checkpointId, sharedDir, states, base: chain.base, deltas: chain.deltas },
    chain,
  }
}

/**
 * Encodes the entries of layer `i` of `view` that `entries` yields, until the layer ends (true)
 * or the slice is over (false: call again after yielding). `view` null: the layer is a delta's
 * changes, every entry goes, tombstones as deletions; else a full base's layer, and only its
 * visible entries go (no tombstones, none a newer layer shadows). A synchronous loop of its own:
 * the same loop in the async function, with an await in it, ran several times slower.
 */
function encodeLayer(entries: Iterator<[unknown, unknown]>, t: number, view: FrozenView | null, i: number, encoder: EntryEncoder, slices: TaskSlices): boolean {
  for (let step = entries.next(); !step.done; step = entries.next()) {
    const [k, v] = step.value
    if (view === null || (v !== TOMBSTONE && !shadowedAbove(view, i, k))) encoder.add(t, k, v)
    if (slices.due()) return false
  }
  return true
}

/**
 * Encodes entries into their key groups' runs, as SegmentWriter.add() would: [u16 key length][key]
 * [u32 value length][value]. Entries whose value is large or not a primitive are only noted
 * (`deferred`) and encoded when their key group is written, as segments fill up and go to
 * disk: encoded at once, a delta of large values would be in memory twice over (a delta of
 * 200 MiB of 1 KiB strings raised the heap by 300 MB).
 */
class EntryEncoder {
  private readonly composite: ReadonlyMap<string, unknown>
  private readonly maxP: number
  /** Per key group: [table index, stored key, stored value] of the entries encoded later. */
  private readonly deferred: Array<unknown[] | undefined>
  constructor(private readonly capture: IncrementalCapture, private readonly runs: KeyGroupRuns) {
    this.composite = capture.compositeKeys
    this.maxP = capture.maxParallelism
    this.deferred = new Array(capture.maxParallelism).fill(undefined)
  }

  /** Entry `mapKey` of table `t`: its stored value, or TOMBSTONE for a deletion. */
  add(t: number, mapKey: unknown, stored: unknown): void {
    const table = this.capture.tables[t]!
    const key = originalKey(this.composite, mapKey)
    const kg = assignToKeyGroup(key, this.maxP)
    let valueRoom = 0
    if (stored !== TOMBSTONE) {
      // Map and TTL values are stored as arrays (canonicalValue), never primitives: no need to build them here.
      valueRoom = table.kind === 'map' || table.ttl !== null ? -1 : primitiveBytes(stored)
      if (valueRoom < 0 || valueRoom > SMALL_VALUE_BYTES) {
        ;(this.deferred[kg] ??= []).push(t, mapKey, stored)
        return
      }
    }
    const buf = this.runs.room(kg, ENTRY_OVERHEAD + 4 + maxKeyBytes(key, key !== mapKey ? (mapKey as string) : undefined) + valueRoom)
    const at = this.runs.end(kg)
    const keyEnd = writeStateKey(cacheKey(key, mapKey, kg), table.id, kg, buf, at + 2)
    putKeyLength(buf, at, keyEnd - at - 2)
    this.runs.added(kg, stored === TOMBSTONE ? putDeletion(buf, keyEnd) : putPrimitiveValue(buf, keyEnd, stored as number | string | boolean | null))
  }

  /** Writes key group `kg`: its run, then its deferred entries (yielding between them when the slice is over). */
  async write(kg: number, writer: SegmentWriter, ref: KeyRef, slices: TaskSlices): Promise<void> {
    writer.addRun(kg, this.runs.take(kg))
    const entries = this.deferred[kg]
    this.deferred[kg] = undefined
    if (entries === undefined) return
    for (let i = 0, n = 1; i < entries.length; i += 3, n++) {
      if (slices.due()) await slices.yield()
      const table = this.capture.tables[entries[i] as number]!
      const mapKey = entries[i + 1]
      ref.len = writeStateKey(cacheKey(originalKey(this.composite, mapKey), mapKey, kg), table.id, kg, ref.buf, 0)
      writer.addValue(ref.buf, ref.len, canonicalValue(table, entries[i + 2]), packValue)
      if (n % 4096 === 0) await writer.drain()
    }
  }
}

/** The key as writeStateKey takes it: a composite key (stored under its JSON text) as a token, any other as it is. */
function cacheKey(key: unknown, mapKey: unknown, kg: number): unknown {
  return key !== mapKey ? ({ key, text: mapKey as string, kg } satisfies KeyToken) : key
}

/** A value that is not a primitive, packed into the writer's shared buffer (SegmentWriter copies it at once). */
const packValue = (v: unknown): Uint8Array => packTransient(packr, v)

/** An entry's value as the canonical format stores it: maps as pairs, TTL values as [value, write time]. */
function canonicalValue(table: IncrementalTable, stored: unknown): unknown {
  const ttl = table.ttl !== null
  const plain = ttl ? (stored as { v: unknown }).v : stored
  const value = table.kind === 'map' ? [...(plain as Map<unknown, unknown>)] : plain
  return ttl ? [value, (stored as { t: number }).t] : value
}

/** What a restore writes into: the table of a state, by name (created when new), and the key setter. */
export interface RestoreTarget {
  table(name: string, kind: StateKind): { set(mapKey: unknown, stored: unknown): void; delete(mapKey: unknown): void }
  /** The stored form of `key` (composite keys: their JSON text, remembered). */
  mapKeyOf(key: unknown): unknown
}

/** Applies a chain's segments in order; returns whether every entry fell in `range`. */
export function restoreHeapIncremental(snapshot: HeapIncrementalSnapshot, range: KeyGroupRange, target: RestoreTarget): boolean {
  if (snapshot.version !== 1) throw new WeirError('WEIR_RESTORE_FAILED', `heap incremental snapshot version ${snapshot.version} is not supported`, { domain: 'user' })
  const byId = new Map<number, { name: string; kind: StateKind; ttl: boolean; table: ReturnType<RestoreTarget['table']> }>()
  for (const [name, s] of Object.entries(snapshot.states)) byId.set(s.id, { name, kind: s.kind, ttl: s.ttl, table: target.table(name, s.kind) })
  let exact = true
  for (const ref of [...snapshot.base, ...snapshot.deltas.flatMap((d) => d.segments)]) {
    if (ref.lastKeyGroup < range.start || ref.firstKeyGroup > range.end) {
      exact = false
      continue
    }
    forEachSegmentEntry(readSegment(snapshot.sharedDir, ref), (key, value) => {
      const kg = (key[0]! << 8) | key[1]!
      if (kg < range.start || kg > range.end) {
        exact = false
        return
      }
      const sid = (key[2]! << 8) | key[3]!
      const s = byId.get(sid)
      if (s === undefined) throw new WeirError('WEIR_CHECKPOINT_CORRUPT', `shared state file ${ref.name} holds state id ${sid}, which the snapshot does not list`, { domain: 'external' })
      const mapKey = target.mapKeyOf(decodeKey(key, 4))
      if (value === null) {
        s.table.delete(mapKey)
        return
      }
      const raw = unpackr.unpack(value) as unknown
      const plain = s.ttl ? (raw as [unknown, number])[0] : raw
      const v = s.kind === 'map' ? new Map(plain as Array<[unknown, unknown]>) : plain
      s.table.set(mapKey, s.ttl ? { v, t: (raw as [unknown, number])[1] } : v)
    })
  }
  return exact
}
