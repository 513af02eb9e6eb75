// The LMDB backend's read cache: per value-like state, decoded stored forms of committed keys
// (what LMDB holds for them, DELETED when it holds nothing), bounded in entries across the
// states (state.backend.lmdb.cache-size). Values enter it when read from LMDB. Writes never go
// here directly: they go to the pending layer (write-generations.ts), and a commit gives the
// keys the cache holds their committed values (keys it does not hold are not added: most keys
// a skewed stream writes are cold, and adding and evicting every committed write was 16 % of
// the task thread's time; a key's committed value is read from the committing layer or LMDB
// when needed, once). So for a key it holds the cache has LMDB's value, or a newer one that
// pending or a commit in flight holds too; it may drop any key at any time. Reads look at the
// pending and frozen layers first, then here, then the commits in flight, then LMDB.
//
// Eviction is by insertion order with a second chance for keys written in the last batch (a
// skewed stream writes its hot keys in every batch): they are moved to the end instead of being
// dropped. A Map keeps insertion order, so the policy costs nothing per access.

import type { Table } from './write-generations.ts'

export class ReadCache {
  /** Entries in all states' caches. */
  entries = 0

  /** `tables`: every state's table (the caches of all of them share the capacity). */
  constructor(readonly capacity: number, private readonly tables: () => Iterable<Table>) {}

  /** Caches what LMDB holds for `ck` (just read), evicting if the cache is full. */
  insert(table: Table, ck: unknown, stored: unknown): void {
    const cache = table.cache
    const size = cache.size
    cache.set(ck, stored)
    // Evicting in batches: a Map iterated from its start skips the entries deleted before.
    if (cache.size !== size && ++this.entries > this.capacity) this.evict([...this.tables()], this.entries - Math.floor(this.capacity * 0.75))
  }

  /** After a commit: the keys the cache holds take their values from the committed generations (`written`: per state, newest first). */
  committed(written: ReadonlyMap<Table, ReadonlyArray<ReadonlyMap<unknown, unknown>>>): void {
    for (const [table, gens] of written) {
      const cache = table.cache
      if (cache.size === 0) continue
      for (let i = gens.length - 1; i >= 0; i--) for (const [ck, stored] of gens[i]!) if (cache.has(ck)) cache.set(ck, stored)
    }
  }

  /** Drops `count` entries across `tables` (each its share), oldest first, sparing keys written in the last batch. */
  private evict(tables: readonly Table[], count: number): void {
    let total = 0
    for (const t of tables) total += t.cache.size
    if (total === 0) return
    for (const table of tables) {
      const cache = table.cache
      const quota = Math.ceil((count * cache.size) / total)
      const recent = table.lastBatch ?? table.pending
      let dropped = 0
      let seen = 0
      const limit = cache.size
      for (const [ck, stored] of cache) {
        if (dropped >= quota || seen++ >= limit) break
        cache.delete(ck)
        if (recent.has(ck)) cache.set(ck, stored) // to the end: visited again only past `limit`
        else dropped++
      }
      this.entries -= dropped
    }
  }

  /** Forgets every cached entry of `tables` (LMDB was written around the cache: restore, TTL change). */
  clear(tables: Iterable<Table>): void {
    for (const t of tables) t.cache = new Map()
    this.entries = 0
  }
}
