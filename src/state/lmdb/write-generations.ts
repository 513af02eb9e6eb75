// The LMDB backend's in-memory layers of writes and their value bytes. Writes go to a per-state
// pending Map (decoded values, by cache key); a snapshot capture freezes it (a generation that is
// never modified again, read asynchronously by the capture and committed with the next regular
// commit). Captures between two commits stack their generations (newest first) instead of
// merging them, so that a capture costs O(states), not O(uncommitted writes); past
// MAX_FROZEN_GENERATIONS the two oldest are merged. A commit hands the generations to LMDB
// asynchronously; until they land they stay readable as the committing layer, and their writes
// move to the read cache (read-cache.ts). Values are
// MessagePack (msgpackr, no records); for a state with a TTL they are prefixed with the last
// write time (f64, 8 bytes).

import { Packr, Unpackr } from 'msgpackr'
import type { StateKind } from '../../api/state.ts'
import type { TtlPolicy } from '../keyed-state-backend.ts'

export const DELETED: unique symbol = Symbol('deleted')

export const packr = new Packr({ useRecords: false, moreTypes: true })
export const unpackr = new Unpackr({ useRecords: false, moreTypes: true })

export interface Timestamped {
  readonly v: unknown
  readonly t: number
}

/** Pending changes of one user key's map. */
export interface MapPending {
  /** Everything stored for this user key is dropped before `entries` apply. */
  cleared: boolean
  /** By map-key cache key: the value, or DELETED. */
  readonly entries: Map<unknown, unknown>
  /** Timed maps: the new write time of the map (undefined: unchanged). */
  t: number | undefined
}

export interface Table {
  readonly name: string
  readonly id: number
  kind: StateKind
  ttl: TtlPolicy | null
  /** Whether stored values carry a write time (and, for maps, header entries). */
  timestamped: boolean
  /** Writes not yet in LMDB, by cache key: value (timestamped: {v, t}) or DELETED; maps: MapPending. */
  pending: Map<unknown, unknown>
  /**
   * Generations of writes frozen by snapshot captures and not yet committed (same form as
   * pending), newest first: newer than LMDB and older than pending. Neither the Maps nor the
   * array are ever modified (a capture keeps the array it saw); a capture or commit replaces it.
   */
  frozen: ReadonlyArray<Map<unknown, unknown>>
  /**
   * Generations handed to LMDB in a commit that has not landed yet (commits-in-flight.ts), newest
   * first, same form: older than frozen, newer than LMDB. Replaced, never modified, as `frozen`.
   */
  committing: ReadonlyArray<Map<unknown, unknown>>
  /** Value-like states: committed stored forms by cache key (DELETED: none), see read-cache.ts. */
  cache: Map<unknown, unknown>
  /** Value-like states: the pending writes at the last commit (what tells hot keys, see commit-writes.ts). */
  lastBatch: ReadonlyMap<unknown, unknown> | null
  cleanupCursor: Buffer | null
  cleanupCountdown: number
  state: unknown
}

/** Captures stack at most this many uncommitted generations per state (then the two oldest merge). */
export const MAX_FROZEN_GENERATIONS = 6

export const NO_GENERATIONS: ReadonlyArray<Map<unknown, unknown>> = Object.freeze([])

/** The newest frozen write of `ck` (undefined: none). */
export function frozenGet(frozen: ReadonlyArray<Map<unknown, unknown>>, ck: unknown): unknown {
  for (let i = 0; i < frozen.length; i++) {
    const v = frozen[i]!.get(ck)
    if (v !== undefined) return v
  }
  return undefined
}

/** The frozen generations after a capture froze `pending` on top of `frozen`. */
export function stackGeneration(kind: StateKind, frozen: ReadonlyArray<Map<unknown, unknown>>, pending: Map<unknown, unknown>): ReadonlyArray<Map<unknown, unknown>> {
  const next = [pending, ...frozen]
  if (next.length > MAX_FROZEN_GENERATIONS) {
    const older = next.pop()!
    const newer = next.pop()!
    next.push(mergeGenerations(kind, older, newer))
  }
  return next
}

/** One state's writes of one generation (a pending Map swapped out by a capture). */
export interface GenTable {
  readonly id: number
  readonly kind: StateKind
  readonly timestamped: boolean
  readonly entries: ReadonlyMap<unknown, unknown>
}

/** Keys changed between two captures: committed ones (LMDB key text) and the frozen writes. */
export interface Changes {
  readonly dirty: Set<string>
  readonly gens: GenTable[][]
}

/** One state's uncommitted generations as a capture sees them (newest first). */
export interface OverlayTable {
  readonly id: number
  readonly kind: StateKind
  readonly timestamped: boolean
  readonly gens: ReadonlyArray<ReadonlyMap<unknown, unknown>>
}

/**
 * A capture's synchronous share, O(states): each state's pending writes become a frozen
 * generation on top of the older ones. Returns the generations frozen now (changes for the
 * incremental chain), every state's uncommitted generations (the capture's overlay) and the
 * generations of the commits in flight that `isChange` (pending ones whose keys went to the
 * changed keys; frozen ones are changes of the captures that froze them): a delta must take
 * their values from the overlay, as the capture's LMDB view may not hold them.
 */
export function freezePending(tables: Iterable<Table>, isChange: (gen: ReadonlyMap<unknown, unknown>) => boolean = () => false): { gen: GenTable[]; overlay: OverlayTable[]; inFlight: GenTable[] } {
  const overlay: OverlayTable[] = []
  const gen: GenTable[] = []
  const inFlight: GenTable[] = []
  for (const table of tables) {
    for (const entries of table.committing) if (isChange(entries)) inFlight.push({ id: table.id, kind: table.kind, timestamped: table.timestamped, entries })
    const pending = table.pending
    if (pending.size > 0) {
      gen.push({ id: table.id, kind: table.kind, timestamped: table.timestamped, entries: pending })
      table.frozen = stackGeneration(table.kind, table.frozen, pending)
      table.pending = new Map()
    }
    // Commits in flight are not in the capture's LMDB view (or may be, with the same values).
    const gens = table.committing.length === 0 ? table.frozen : [...table.frozen, ...table.committing]
    if (gens.length > 0) overlay.push({ id: table.id, kind: table.kind, timestamped: table.timestamped, gens })
  }
  return { gen, overlay, inFlight }
}

/** Entries in the states' committing generations. */
export function committingEntries(tables: Iterable<Table>): number {
  let n = 0
  for (const t of tables) for (const g of t.committing) n += g.size
  return n
}

/** Every cache key the read caches, pending writes and commits in flight hold (after a commit: no frozen ones are left). */
export function* heldCacheKeys(tables: Iterable<Table>): Iterable<unknown> {
  for (const t of tables) {
    yield* t.cache.keys()
    yield* t.pending.keys()
    for (const g of t.committing) {
      yield* g.keys()
      if (t.kind === 'map') for (const mp of g.values()) yield* (mp as MapPending).entries.keys()
    }
  }
}

/** One generation of writes over an older one (too many generations stacked between commits). */
export function mergeGenerations(kind: StateKind, older: Map<unknown, unknown>, newer: Map<unknown, unknown>): Map<unknown, unknown> {
  const merged = new Map(older)
  for (const [ck, v] of newer) {
    const old = merged.get(ck) as MapPending | undefined
    if (kind !== 'map' || old === undefined || (v as MapPending).cleared) {
      merged.set(ck, v)
    } else {
      const mp = v as MapPending
      merged.set(ck, { cleared: old.cleared, entries: new Map([...old.entries, ...mp.entries]), t: mp.t ?? old.t } satisfies MapPending)
    }
  }
  return merged
}

/** Value bytes with a write time in front, in a reused buffer (valid until the next call). */
export class TimestampedEncoder {
  private buf = Buffer.allocUnsafe(64 * 1024)
  encode(v: unknown, t: number): Buffer {
    const packed = packr.pack(v)
    if (this.buf.length < packed.length + 8) this.buf = Buffer.allocUnsafe(packed.length * 2 + 8)
    this.buf.writeDoubleBE(t, 0)
    packed.copy(this.buf, 8)
    return this.buf.subarray(0, packed.length + 8)
  }
}

/** A TTL map header: only the write time. */
export function timeBytes(t: number): Buffer {
  const b = Buffer.allocUnsafe(8)
  b.writeDoubleBE(t, 0)
  return b
}

/** Stored value bytes with a write time put in front. */
export function withTime(value: Buffer, t: number): Buffer {
  const b = Buffer.allocUnsafe(value.length + 8)
  b.writeDoubleBE(t, 0)
  value.copy(b, 8)
  return b
}
