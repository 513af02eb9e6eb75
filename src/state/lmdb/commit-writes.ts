// Writing one generation of a state's uncommitted writes into LMDB (inside the caller's write
// transaction), noting the keys it touched for the next incremental checkpoint.

import type { RootDatabase } from 'lmdb'
import { encodeStateKey, prefixEnd, writeMapCacheKey, type KeyRef } from './lmdb-key-layout.ts'
import { DELETED, packr, timeBytes, type MapPending, type Table, type Timestamped, type TimestampedEncoder } from './write-generations.ts'

export interface CommitContext {
  readonly db: RootDatabase<Buffer, any>
  readonly maxParallelism: number
  readonly key: KeyRef
  readonly timestamped: TimestampedEncoder
}

export function commitValueGeneration(ctx: CommitContext, table: Table, gen: Map<unknown, unknown>, dirty: Set<string> | null): void {
  const db = ctx.db
  const ref = ctx.key
  for (const [ck, stored] of gen) {
    encodeStateKey(ck, table.id, ref, ctx.maxParallelism)
    if (stored === DELETED) db.removeSync(ref)
    else db.putSync(ref, table.timestamped ? ctx.timestamped.encode((stored as Timestamped).v, (stored as Timestamped).t) : packr.pack(stored))
    if (dirty !== null) dirty.add(ref.buf.toString('latin1', 0, ref.len))
  }
}

export function commitMapGeneration(ctx: CommitContext, table: Table, gen: Map<unknown, unknown>, dirty: Set<string> | null): void {
  const db = ctx.db
  const ref = ctx.key
  for (const [ck, mpv] of gen) {
    const mp = mpv as MapPending
    const prefixLen = encodeStateKey(ck, table.id, ref, ctx.maxParallelism)
    if (mp.cleared) {
      const start = Buffer.from(ref.buf.subarray(0, prefixLen))
      const doomed = [...(db.getKeys({ start, end: prefixEnd(start) }) as Iterable<Buffer>)]
      for (const k of doomed) {
        db.removeSync(k)
        if (dirty !== null) dirty.add(k.toString('latin1'))
      }
    }
    if (table.timestamped && mp.t !== undefined) {
      ref.len = prefixLen
      db.putSync(ref, timeBytes(mp.t))
      if (dirty !== null) dirty.add(ref.buf.toString('latin1', 0, prefixLen))
    }
    for (const [mck, v] of mp.entries) {
      ref.len = writeMapCacheKey(mck, ref.buf, prefixLen)
      if (v === DELETED) db.removeSync(ref)
      else db.putSync(ref, packr.pack(v))
      if (dirty !== null) dirty.add(ref.buf.toString('latin1', 0, ref.len))
    }
  }
}
