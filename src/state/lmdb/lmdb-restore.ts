// Loading snapshots into the LMDB backend's environment: the canonical format (savepoints, the
// other backend's checkpoints; rehashed when the max parallelism changed) and this backend's
// incremental chains (segments applied in order). Only the key groups of the given range are kept.

import type { RootDatabase } from 'lmdb'
import type { StateKind } from '../../api/state.ts'
import { assignToKeyGroup, type KeyGroupRange } from '../key-groups.ts'
import type { KeyedStateSnapshot } from '../keyed-state-backend.ts'
import { entryChunks } from '../entry-chunks.ts'
import { WeirError } from '../../errors.ts'
import { decodeKey, decodedEnd } from './key-codec.ts'
import { forEachSegmentEntry, readSegment } from './segment-file.ts'
import type { LmdbIncrementalSnapshot } from './incremental-snapshot.ts'
import { encodeStateKey, LOWEST_KEY, STATE_KEYS_END, prefixEnd, writeMapKey, type KeyRef, type KeyToken } from './lmdb-key-layout.ts'
import { packr, timeBytes, withTime, type Table, type TimestampedEncoder } from './write-generations.ts'

/** Restores commit every this many entries. */
const RESTORE_BATCH = 50_000

/** What a restore needs of the backend. */
export interface RestoreContext {
  readonly db: RootDatabase<Buffer, any>
  readonly maxParallelism: number
  readonly now: () => number
  /** A key buffer of the task thread. */
  readonly key: KeyRef
  readonly timestamped: TimestampedEncoder
  /** The table of a restored state (created if new; `preferredId` kept when free). */
  restoreTable(name: string, kind: StateKind, timestamped: boolean, preferredId: number | null): Table
}

export function restoreCanonical(ctx: RestoreContext, snapshot: Extract<KeyedStateSnapshot, { format: 'canonical' }>, range: KeyGroupRange): void {
  const db = ctx.db
  const rehash = snapshot.maxParallelism !== ctx.maxParallelism
  const now = ctx.now()
  const ref = ctx.key
  let empty = true
  for (const _ of db.getKeys({ start: LOWEST_KEY, end: STATE_KEYS_END, limit: 1 })) empty = false
  for (const [name, entries] of Object.entries(snapshot.states)) {
    const table = ctx.restoreTable(name, entries.kind, entries.ttl, null)
    for (const flat of entryChunks(entries.entries)) {
      for (let from = 0; from < flat.length; from += 3 * RESTORE_BATCH) {
        const to = Math.min(flat.length, from + 3 * RESTORE_BATCH)
        db.transactionSync(() => {
          for (let i = from; i < to; i += 3) {
            const key = flat[i + 1]
            const kg = rehash ? assignToKeyGroup(key, ctx.maxParallelism) : (flat[i] as number)
            if (kg < range.start || kg > range.end) continue
            const raw = flat[i + 2]
            const value = entries.ttl ? (raw as [unknown, number])[0] : raw
            const time = entries.ttl ? (raw as [unknown, number])[1] : now
            const ck = typeof key === 'object' && key !== null ? ({ key, text: JSON.stringify(key), kg } satisfies KeyToken) : key
            const prefixLen = encodeStateKey(ck, table.id, ref, ctx.maxParallelism)
            if (table.kind === 'map') {
              const start = Buffer.from(ref.buf.subarray(0, prefixLen))
              // A map restored over one already here replaces it, as on the heap.
              if (!empty) for (const k of [...(db.getKeys({ start, end: prefixEnd(start) }) as Iterable<Buffer>)]) db.removeSync(k)
              const pairs = value as Array<[unknown, unknown]>
              if (pairs.length === 0) continue
              if (table.timestamped) db.putSync(start, timeBytes(time))
              for (const [mk, mv] of pairs) {
                ref.len = writeMapKey(mk, ref.buf, prefixLen)
                db.putSync(ref, packr.pack(mv))
              }
            } else {
              if (value === undefined || value === null) continue
              db.putSync(ref, table.timestamped ? ctx.timestamped.encode(value, time) : packr.pack(value))
            }
          }
        })
      }
    }
  }
}

/** Applies a chain's segments; returns whether every entry fell in `range` (nothing was left out). */
export function restoreIncremental(ctx: RestoreContext, snapshot: LmdbIncrementalSnapshot, range: KeyGroupRange): boolean {
  if (snapshot.version !== 1) throw new WeirError('WEIR_RESTORE_FAILED', `lmdb incremental snapshot version ${snapshot.version} is not supported`, { domain: 'user' })
  if (snapshot.maxParallelism !== ctx.maxParallelism) {
    throw new WeirError('WEIR_RESTORE_FAILED', `the checkpoint was taken with max parallelism ${snapshot.maxParallelism}, this job has ${ctx.maxParallelism}; restore from a savepoint to change it`, { domain: 'user' })
  }
  const db = ctx.db
  const now = ctx.now()
  const mapping = new Map<number, { table: Table; timestamped: boolean }>()
  let exact = true
  for (const [name, s] of Object.entries(snapshot.states)) {
    const table = ctx.restoreTable(name, s.kind, s.ttl, s.id)
    if (table.id !== s.id) exact = false
    mapping.set(s.id, { table, timestamped: s.ttl })
  }
  const segments = [...snapshot.base, ...snapshot.deltas.flatMap((d) => d.segments)]
  for (const ref of segments) {
    if (ref.lastKeyGroup < range.start || ref.firstKeyGroup > range.end) {
      exact = false
      continue
    }
    const payload = readSegment(snapshot.sharedDir, ref)
    let lastUk: Buffer | null = null
    db.transactionSync(() => {
      forEachSegmentEntry(payload, (key, value, prefix) => {
        const kg = (key[0]! << 8) | key[1]!
        if (kg < range.start || kg > range.end) {
          exact = false
          return
        }
        const sid = (key[2]! << 8) | key[3]!
        const m = mapping.get(sid)
        if (m === undefined) throw new WeirError('WEIR_CHECKPOINT_CORRUPT', `shared state file ${ref.name} holds state id ${sid}, which the snapshot does not list`, { domain: 'external' })
        const table = m.table
        if (table.id !== sid) {
          key = Buffer.from(key)
          key[2] = table.id >> 8
          key[3] = table.id & 0xff
        }
        if (value === null) {
          if (prefix) for (const k of [...(db.getKeys({ start: key, end: prefixEnd(key) }) as Iterable<Buffer>)]) db.removeSync(k)
          else db.removeSync(key)
          return
        }
        if (m.timestamped === table.timestamped) {
          db.putSync(key, value)
        } else if (table.kind !== 'map') {
          db.putSync(key, m.timestamped ? value.subarray(8) : withTime(value, now))
        } else {
          // A map restored into a state stored the other way: drop or add the headers.
          decodeKey(key, 4)
          const ukEnd = decodedEnd
          if (ukEnd === key.length) {
            if (!m.timestamped) db.putSync(key, value)
            return
          }
          if (table.timestamped && (lastUk === null || lastUk.length !== ukEnd || key.compare(lastUk, 0, ukEnd, 0, ukEnd) !== 0)) {
            lastUk = Buffer.from(key.subarray(0, ukEnd))
            db.putSync(lastUk, timeBytes(now))
          }
          db.putSync(key, value)
        }
      })
    })
  }
  return exact
}
