// Committing the states' uncommitted generations of writes to LMDB in one asynchronous batch,
// oldest first (commits-in-flight.ts: lmdb-js's write thread applies it; the generations stay
// readable as the committing layer until it lands), noting the keys pending wrote for the next
// incremental checkpoint; the committed writes then move to the read cache.
// Writing each key's newest value once, in key order, was measured slower (uniform 2 M keys
// 0.82x, Zipf 1 M keys 0.76x in one run): dedupe and sort cost more than the B-tree locality
// saves, LMDB copying one page per touched leaf either way.

import type { RootDatabase } from 'lmdb'
import { encodeStateKey, prefixEnd, writeMapCacheKey, type KeyRef } from './lmdb-key-layout.ts'
import { DELETED, NO_GENERATIONS, packr, timeBytes, type MapPending, type Table, type Timestamped, type TimestampedEncoder } from './write-generations.ts'
import type { ReadCache } from './read-cache.ts'
import { primitiveBytes, writePrimitive } from './primitive-values.ts'
import type { KeyFilter } from './key-filter.ts'
import type { CommitsInFlight } from './commits-in-flight.ts'

export interface CommitContext {
  readonly db: RootDatabase<Buffer, any>
  readonly maxParallelism: number
  readonly key: KeyRef
  readonly timestamped: TimestampedEncoder
  /** The keys value-like states have stored values under. */
  readonly filter: KeyFilter
  readonly commits: CommitsInFlight
  readonly values: ValueArena
}

/**
 * Where a commit's value bytes live until lmdb-js's write thread has written them: it copies a
 * key at once but reads the value later, and packr's results are views of msgpackr's output
 * buffer, which the next packing anywhere on the thread may overwrite (a network batch,
 * io/transient-pack.ts). Values are copied one after another into chunks that are never
 * reused (lmdb-js holds each value until written; a full chunk is left to the collector).
 */
export class ValueArena {
  static readonly CHUNK = 1 << 20
  private chunk = Buffer.allocUnsafeSlow(ValueArena.CHUNK)
  private pos = 0
  /** Bytes copied so far (what a commit's batch holds in flight is its share, commits-in-flight.ts). */
  copied = 0

  copy(bytes: Uint8Array): Buffer {
    const n = bytes.length
    this.copied += n
    if (n > ValueArena.CHUNK >> 4) return Buffer.from(bytes) // a large value: a buffer of its own
    if (this.pos + n > this.chunk.length) {
      this.chunk = Buffer.allocUnsafeSlow(ValueArena.CHUNK)
      this.pos = 0
    }
    this.chunk.set(bytes, this.pos)
    const view = this.chunk.subarray(this.pos, this.pos + n)
    this.pos += (n + 7) & ~7
    return view
  }

  /** `value` packed (as packr would) into the arena: a small primitive written in place, anything else packed by msgpackr and copied. */
  pack(value: unknown): Buffer {
    const room = primitiveBytes(value)
    if (room < 0 || room > ValueArena.CHUNK >> 4) return this.copy(packr.pack(value))
    if (this.pos + room > this.chunk.length) {
      this.chunk = Buffer.allocUnsafeSlow(ValueArena.CHUNK)
      this.pos = 0
    }
    const start = this.pos
    const end = writePrimitive(this.chunk, start, value as number | string | boolean | null)
    this.copied += end - start
    this.pos += (end - start + 7) & ~7
    return this.chunk.subarray(start, end)
  }
}

/**
 * Commits the states' uncommitted generations in one batch and hands the value-like
 * states' committed writes to the read cache. With a `holdBudget`, up to that many pending
 * writes of hot keys stay pending instead (write-back): keys written again since the last
 * commit, with a new value, are likely written again before the next one, and committing them
 * in every batch was about half of the puts of a skewed stream. Everything else is committed:
 * frozen generations always (captures read them). Returns the writes still pending.
 */
export function commitAll(ctx: CommitContext, tables: Iterable<Table>, dirty: Set<string> | null, cache: ReadCache, holdBudget: number): number {
  const all = [...tables]
  const held = new Map<Table, Map<unknown, unknown>>()
  const budget = { left: holdBudget }
  // What the batch makes the committing layer, per state newest first (held writes included:
  // pending, newer, still holds them).
  const gens = new Map<Table, Array<Map<unknown, unknown>>>()
  // At least this many writes: what decides between an asynchronous and a synchronous commit.
  let writes = 0
  let holdable = 0
  for (const table of all) {
    if (table.pending.size > 0 || table.frozen.length > 0) gens.set(table, table.pending.size > 0 ? [table.pending, ...table.frozen] : [...table.frozen])
    if (table.kind !== 'map') {
      writes += table.pending.size
      if (table.lastBatch !== null) holdable += table.pending.size
      for (const g of table.frozen) writes += g.size
    } else {
      for (const g of [table.pending, ...table.frozen]) for (const mp of g.values()) writes += (mp as MapPending).entries.size
    }
  }
  writes -= Math.min(holdBudget, holdable)
  if (dirty !== null) for (const table of all) if (table.pending.size > 0) ctx.commits.changes.add(table.pending)
  ctx.commits.commit(() => {
    for (const table of all) {
      // Frozen writes are already accounted for as changes of the captures that froze them.
      for (let i = table.frozen.length - 1; i >= 0; i--) {
        if (table.kind === 'map') commitMapGeneration(ctx, table, table.frozen[i]!, null, [...table.frozen.slice(i + 1), ...table.committing])
        else commitValueGeneration(ctx, table, table.frozen[i]!, null)
      }
      if (table.pending.size === 0) continue
      const last = table.kind === 'map' ? null : table.lastBatch
      if (table.kind === 'map') {
        commitMapGeneration(ctx, table, table.pending, dirty, [...table.frozen, ...table.committing])
      } else if (last === null || budget.left <= 0) {
        commitValueGeneration(ctx, table, table.pending, dirty)
      } else {
        const hold = new Map<unknown, unknown>()
        held.set(table, hold)
        commitValueGeneration(ctx, table, table.pending, dirty, { last, hold, budget })
      }
    }
  }, gens, writes)
  // Cached keys of the whole pending generation take its values, held writes too: a cached value
  // may be newer than LMDB's while pending still holds it, and reads look at pending first. Values there may
  // be extended in place by ListState, as on the heap: LMDB (or pending) holds what was written,
  // and the write that follows puts them in pending.
  const written = new Map<Table, ReadonlyArray<Map<unknown, unknown>>>()
  let pending = 0
  for (const table of all) {
    if (table.kind !== 'map') {
      if (table.pending.size > 0) {
        written.set(table, [table.pending, ...table.frozen])
        table.lastBatch = table.pending
      } else if (table.frozen.length > 0) {
        written.set(table, table.frozen)
      }
    }
    table.pending = held.get(table) ?? new Map()
    table.frozen = NO_GENERATIONS
    pending += table.pending.size
  }
  cache.committed(written)
  return pending
}

/** Which pending writes a commit holds back: those of keys `last` (the batch before) has with another value, while `budget` lasts. */
interface HoldBack {
  readonly last: ReadonlyMap<unknown, unknown>
  readonly hold: Map<unknown, unknown>
  readonly budget: { left: number }
}

export function commitValueGeneration(ctx: CommitContext, table: Table, gen: Map<unknown, unknown>, dirty: Set<string> | null, holdBack?: HoldBack): void {
  const db = ctx.db
  const ref = ctx.key
  for (const [ck, stored] of gen) {
    if (holdBack !== undefined && holdBack.budget.left > 0) {
      const before = holdBack.last.get(ck)
      if (before !== undefined && before !== stored) {
        holdBack.hold.set(ck, stored)
        holdBack.budget.left--
        continue
      }
    }
    encodeStateKey(ck, table.id, ref, ctx.maxParallelism)
    if (stored === DELETED) {
      void db.remove(ref)
    } else {
      void db.put(ref, table.timestamped ? ctx.values.copy(ctx.timestamped.encode((stored as Timestamped).v, (stored as Timestamped).t)) : ctx.values.pack(stored))
      ctx.filter.add(ref.buf, ref.len)
    }
    if (dirty !== null) dirty.add(ref.buf.toString('latin1', 0, ref.len))
  }
}

/**
 * Writes one generation of map changes. `older`: the generations written before it that LMDB's
 * read view may not hold yet (earlier in this batch, or in a batch in flight): a cleared map
 * removes what they put under it too, as well as what LMDB holds.
 */
export function commitMapGeneration(ctx: CommitContext, table: Table, gen: Map<unknown, unknown>, dirty: Set<string> | null, older: ReadonlyArray<ReadonlyMap<unknown, unknown>>): void {
  const db = ctx.db
  const ref = ctx.key
  for (const [ck, mpv] of gen) {
    const mp = mpv as MapPending
    const prefixLen = encodeStateKey(ck, table.id, ref, ctx.maxParallelism)
    if (mp.cleared) {
      const start = Buffer.from(ref.buf.subarray(0, prefixLen))
      const doomed = [...(db.getKeys({ start, end: prefixEnd(start) }) as Iterable<Buffer>)]
      for (const k of doomed) {
        void db.remove(k)
        if (dirty !== null) dirty.add(k.toString('latin1'))
      }
      for (const o of older) {
        const omp = o.get(ck) as MapPending | undefined
        if (omp === undefined) continue
        ref.len = prefixLen
        void db.remove(ref) // a TTL map's header
        if (dirty !== null && table.timestamped) dirty.add(ref.buf.toString('latin1', 0, prefixLen))
        for (const mck of omp.entries.keys()) {
          ref.len = writeMapCacheKey(mck, ref.buf, prefixLen)
          void db.remove(ref)
          if (dirty !== null) dirty.add(ref.buf.toString('latin1', 0, ref.len))
        }
      }
    }
    if (table.timestamped && mp.t !== undefined) {
      ref.len = prefixLen
      void db.put(ref, timeBytes(mp.t))
      if (dirty !== null) dirty.add(ref.buf.toString('latin1', 0, prefixLen))
    }
    for (const [mck, v] of mp.entries) {
      ref.len = writeMapCacheKey(mck, ref.buf, prefixLen)
      if (v === DELETED) void db.remove(ref)
      else void db.put(ref, ctx.values.pack(v))
      if (dirty !== null) dirty.add(ref.buf.toString('latin1', 0, ref.len))
    }
  }
}
