// What an LMDB snapshot capture sees, and how its asynchronous phase reads it: LMDB's view at the
// capture (a pinned read transaction, MVCC) with the frozen uncommitted writes (the overlay) on
// top, merged in key order, read in chunks that yield to the task between them.

import type { RootDatabase, Transaction } from 'lmdb'
import type { StateKind } from '../../api/state.ts'
import type { TtlPolicy } from '../keyed-state-backend.ts'
import { decodeKey, decodedEnd } from './key-codec.ts'
import { encodeStateKey, LOWEST_KEY, STATE_KEYS_END, writeMapCacheKey, type KeyRef } from './lmdb-key-layout.ts'
import { DELETED, packr, timeBytes, type Changes, type MapPending, type OverlayTable, type Timestamped, type TimestampedEncoder } from './write-generations.ts'
import type { SegmentRef } from './segment-file.ts'
import type { Chain as IncrementalChain } from '../incremental-chain.ts'
import { TaskSlices } from '../task-slices.ts'

/** Snapshots and scans read this many entries per LMDB range query, and read the clock after each: 4,096 held the task thread for up to 36 ms with their segment writes, 1,024 for 20. */
export const SCAN_CHUNK = 256
/** The asynchronous phase yields to the task after this long. */
export const SLICE_MS = 4

/** The base and deltas of an incremental checkpoint. */
export type Chain = IncrementalChain<SegmentRef>

export interface CaptureTable {
  readonly name: string
  readonly id: number
  readonly kind: StateKind
  readonly ttl: TtlPolicy | null
  readonly timestamped: boolean
}

export interface LmdbCapture {
  readonly checkpointId: number
  /** LMDB's view at the capture; `overlay` (uncommitted writes) lies on top of it. */
  readonly txn: Transaction
  readonly overlay: readonly OverlayTable[]
  readonly tables: readonly CaptureTable[]
  /** Incremental: a full base, or a delta on `base` with the changes since it. */
  readonly incremental: { readonly full: boolean; readonly base: Chain | null; readonly changes: readonly Changes[] } | null
  done: boolean
}

/** What the asynchronous phase needs of the backend. */
export interface CaptureContext {
  readonly db: RootDatabase<Buffer, any>
  readonly maxParallelism: number
  readonly now: () => number
  /** A key buffer of the asynchronous phase (never the task's). */
  readonly snapKey: KeyRef
  readonly timestamped: TimestampedEncoder
  checkOpen(): void
}

/** A capture's overlay as LMDB entries. */
export interface RawOverlay {
  /** Sorted by key; value null: deleted. */
  readonly points: Array<[Buffer, Buffer | null]>
  /** Key texts of [key group][state id][user key] of maps cleared in the overlay: stored entries under them are gone. */
  readonly cleared: Set<string>
}

/** The bytes LMDB holds for a value-like state's stored form (a copy: packr reuses its buffer). */
export function storedBytes(ctx: CaptureContext, timestamped: boolean, stored: unknown): Buffer {
  return Buffer.from(timestamped ? ctx.timestamped.encode((stored as Timestamped).v, (stored as Timestamped).t) : packr.pack(stored))
}

/**
 * The capture's overlay as LMDB entries (values serialized now: they are not changed after a
 * capture), the newest generation of each state first, so that an older generation's write of a
 * key (or anything under a map a newer one cleared) is skipped. Yields to the task between
 * slices: the overlay is bounded by the cache size, not by the state, but is not free.
 */
export async function rawOverlay(ctx: CaptureContext, capture: LmdbCapture): Promise<RawOverlay> {
  const byKg = new KeyGroupBuckets<Buffer | null>(ctx.maxParallelism)
  const cleared = new Set<string>()
  const ref = ctx.snapKey
  const slices = new TaskSlices(SLICE_MS, 256, () => ctx.checkOpen())
  for (const t of capture.overlay) {
    // Map prefixes a newer generation cleared: older generations' entries under them are gone.
    const clearedNewer = new Set<string>()
    for (const gen of t.gens) {
      for (const [ck, stored] of gen) {
        if (slices.due()) await slices.yield()
        const prefixLen = encodeStateKey(ck, t.id, ref, ctx.maxParallelism)
        const prefix = ref.buf.toString('latin1', 0, prefixLen)
        const byKey = byKg.of(prefix)
        if (t.kind !== 'map') {
          if (!byKey.has(prefix)) byKey.set(prefix, stored === DELETED ? null : storedBytes(ctx, t.timestamped, stored))
          continue
        }
        if (clearedNewer.has(prefix)) continue
        const mp = stored as MapPending
        if (!byKey.has(prefix)) {
          if (t.timestamped && mp.t !== undefined) byKey.set(prefix, timeBytes(mp.t))
          else if (mp.cleared) byKey.set(prefix, null)
        }
        // A map's entries share its key group.
        for (const [mck, v] of mp.entries) {
          ref.len = writeMapCacheKey(mck, ref.buf, prefixLen)
          const k = ref.buf.toString('latin1', 0, ref.len)
          if (!byKey.has(k)) byKey.set(k, v === DELETED ? null : Buffer.from(packr.pack(v)))
        }
        if (mp.cleared) {
          cleared.add(prefix)
          clearedNewer.add(prefix)
        }
      }
    }
  }
  const points: Array<[Buffer, Buffer | null]> = []
  for await (const [keys, byKey] of byKg.sorted(slices)) {
    for (let i = 0; i < keys.length; i++) {
      if (slices.due()) await slices.yield()
      points.push([Buffer.from(keys[i]!, 'latin1'), byKey.get(keys[i]!)!])
    }
  }
  return { points, cleared }
}

/**
 * Latin1 texts of LMDB keys, each with a value, in buckets by key group (a key's first two
 * bytes), so that they are sorted one group at a time with the task running between: one sort
 * of every key of a large overlay or change set held the thread for 35 ms.
 */
export class KeyGroupBuckets<V> {
  private readonly groups: Array<Map<string, V> | undefined>
  constructor(maxParallelism: number) {
    this.groups = new Array(maxParallelism)
  }

  /** The bucket of `key`'s key group. */
  of(key: string): Map<string, V> {
    return (this.groups[(key.charCodeAt(0) << 8) | key.charCodeAt(1)] ??= new Map())
  }

  /** Each bucket in key-group order with its keys sorted (a latin1 text sorts as its bytes): all keys in order. A bucket is let go once given. */
  async *sorted(slices: TaskSlices): AsyncGenerator<[string[], Map<string, V>]> {
    for (let kg = 0; kg < this.groups.length; kg++) {
      const bucket = this.groups[kg]
      if (bucket === undefined) continue
      this.groups[kg] = undefined
      const keys = [...bucket.keys()].sort()
      if (slices.overdue()) await slices.yield()
      yield [keys, bucket]
    }
  }
}

/** Whether a stored entry lies under a map the overlay cleared. */
export function hiddenByClear(raw: RawOverlay, kinds: ReadonlyMap<number, StateKind>, key: Buffer): boolean {
  if (raw.cleared.size === 0 || kinds.get((key[2]! << 8) | key[3]!) !== 'map') return false
  decodeKey(key, 4)
  return raw.cleared.has(key.toString('latin1', 0, decodedEnd))
}

/** Every entry of the capture's view (LMDB's, under the overlay) in key order. */
export async function mergedScan(ctx: CaptureContext, capture: LmdbCapture, raw: RawOverlay, onEntry: (key: Buffer, value: Buffer) => void, between?: () => Promise<void>): Promise<void> {
  const points = raw.points
  const kinds = new Map(capture.tables.map((t) => [t.id, t.kind]))
  let i = 0
  await scan(ctx, capture, (key, value) => {
    while (i < points.length) {
      const [pk, pv] = points[i]!
      const c = pk.compare(key)
      if (c > 0) break
      i++
      if (pv !== null) onEntry(pk, pv)
      if (c === 0) return
    }
    if (!hiddenByClear(raw, kinds, key)) onEntry(key, value)
  }, between)
  for (; i < points.length; i++) if (points[i]![1] !== null) onEntry(points[i]![0], points[i]![1]!)
}

/** Reads every entry of the capture's LMDB view in key order, in chunks, yielding between them. */
async function scan(ctx: CaptureContext, capture: LmdbCapture, onEntry: (key: Buffer, value: Buffer) => void, between?: () => Promise<void>): Promise<void> {
  let start: Buffer | undefined
  // A step is a chunk of entries: the clock is read after each.
  const slices = new TaskSlices(SLICE_MS, 1)
  for (;;) {
    ctx.checkOpen()
    let n = 0
    let last: Buffer | undefined
    for (const { key, value } of ctx.db.getRange({ start: start ?? LOWEST_KEY, end: STATE_KEYS_END, exclusiveStart: start !== undefined, limit: SCAN_CHUNK, transaction: capture.txn }) as Iterable<{ key: Buffer; value: Buffer }>) {
      onEntry(key, value)
      last = key
      n++
    }
    if (between) await between()
    if (n < SCAN_CHUNK) return
    start = last
    if (slices.due()) await slices.yield()
  }
}
