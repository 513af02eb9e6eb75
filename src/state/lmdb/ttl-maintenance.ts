// TTL upkeep of the LMDB backend: incremental cleanup of expired entries as states are accessed,
// and rewriting a state's stored values when its TTL setting changes (write times added or
// stripped).

import type { TtlPolicy } from '../keyed-state-backend.ts'
import { decodeKey, decodeKeyText, decodedComposite, decodedEnd } from './key-codec.ts'
import { LOWEST_KEY, STATE_KEYS_END, stateRange } from './lmdb-key-layout.ts'
import { DELETED, timeBytes, type MapPending, type Table } from './write-generations.ts'
import type { LmdbKeyedStateBackend } from './lmdb-keyed-state-backend.ts'

/** Incremental TTL cleanup runs every this many accesses, over this many times the configured entries. */
export const CLEANUP_EVERY = 32

/** Every CLEANUP_EVERY accesses, checks CLEANUP_EVERY * cleanupIncrementally stored entries for expiry. */
export function cleanupSome(b: LmdbKeyedStateBackend, table: Table, ttl: TtlPolicy): void {
  if (--table.cleanupCountdown > 0) return
  table.cleanupCountdown = CLEANUP_EVERY
  const budget = ttl.cleanupIncrementally * CLEANUP_EVERY
  const now = b.now()
  let checked = 0
  let scanned = 0
  let last: Buffer | null = null
  const start = table.cleanupCursor ?? LOWEST_KEY
  const expired: unknown[] = []
  for (const { key, value } of b.db.getRange({ start, end: STATE_KEYS_END, exclusiveStart: table.cleanupCursor !== null, limit: budget * 4 }) as Iterable<{ key: Buffer; value: Buffer }>) {
    scanned++
    last = key
    if (((key[2]! << 8) | key[3]!) !== table.id) continue
    const text = decodeKeyText(key, 4)
    if (table.kind === 'map' && decodedEnd !== key.length) continue // an entry: the header times the map
    checked++
    if (ttl.isExpired(value.readDoubleBE(0), now)) expired.push(decodedComposite ? b.key.intern(text as string, JSON.parse(text as string)) : text)
    if (checked >= budget) break
  }
  table.cleanupCursor = scanned < budget * 4 && checked < budget ? null : last
  for (const ck of expired) {
    if (table.pending.has(ck) || table.frozen.some((gen) => gen.has(ck)) || table.committing.some((gen) => gen.has(ck))) continue
    table.pending.set(ck, table.kind === 'map' ? ({ cleared: true, entries: new Map(), t: undefined } satisfies MapPending) : DELETED)
    b.pendingEntries++
  }
}

/** Adds or strips write times on every stored value of a state whose TTL setting changed (after a flush). */
export function retimestamp(b: LmdbKeyedStateBackend, table: Table, timestamped: boolean, dirty: Set<string> | null): void {
  const now = b.now()
  const db = b.db
  for (let kg = 0; kg < b.maxParallelism; kg++) {
    const entries = [...(db.getRange(stateRange(kg, table.id)) as Iterable<{ key: Buffer; value: Buffer }>)].map((e) => ({ key: e.key, value: Buffer.from(e.value) }))
    if (entries.length === 0) continue
    db.transactionSync(() => {
      let lastUk: Buffer | null = null
      for (const { key, value } of entries) {
        if (table.kind === 'map') {
          decodeKey(key, 4)
          const ukEnd = decodedEnd
          if (timestamped) {
            if (lastUk === null || lastUk.length !== ukEnd || key.compare(lastUk, 0, ukEnd, 0, ukEnd) !== 0) {
              lastUk = Buffer.from(key.subarray(0, ukEnd))
              db.putSync(lastUk, timeBytes(now))
              dirty?.add(lastUk.toString('latin1'))
            }
          } else if (ukEnd === key.length) {
            db.removeSync(key)
            dirty?.add(key.toString('latin1'))
          }
        } else {
          if (timestamped) {
            const bytes = Buffer.allocUnsafe(value.length + 8)
            bytes.writeDoubleBE(now, 0)
            value.copy(bytes, 8)
            db.putSync(key, bytes)
          } else {
            db.putSync(key, value.subarray(8))
          }
          dirty?.add(key.toString('latin1'))
        }
      }
    })
  }
  table.timestamped = timestamped
}
