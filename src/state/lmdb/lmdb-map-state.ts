// MapState on the LMDB backend: a user key's map is its entries under [key group][state id]
// [user key] (one LMDB entry per map key), with the changes LMDB may not hold yet (pending,
// frozen by a capture, then in a commit in flight) layered on top, newest first. Composite map keys are compared by JSON value.

import type { MapState } from '../../api/state.ts'
import { decodeKeyText, decodedComposite } from './key-codec.ts'
import { isToken, prefixEnd, type KeyToken } from './lmdb-key-layout.ts'
import { DELETED, unpackr, type MapPending, type Table } from './write-generations.ts'
import type { LmdbKeyedStateBackend } from './lmdb-keyed-state-backend.ts'

export class LmdbMapState<K, V> implements MapState<K, V> {
  constructor(private readonly backend: LmdbKeyedStateBackend, private readonly table: Table) {}

  get(key: K): V | undefined {
    if (!this.visible()) return undefined
    const layers = this.layers()
    if (layers.length > 0) {
      const mck = this.backend.key.mapCacheKey(key)
      for (const mp of layers) {
        if (mp.entries.has(mck)) {
          const v = mp.entries.get(mck)
          return v === DELETED ? undefined : (v as V)
        }
        if (mp.cleared) return undefined
      }
    }
    const bytes = this.backend.db.getBinaryFast(this.backend.key.entryKeyFor(this.table.id, key))
    return bytes === undefined ? undefined : (unpackr.unpack(bytes) as V)
  }

  put(key: K, value: V): void {
    this.putAll([[key, value]])
  }

  putAll(entries: Iterable<readonly [K, V]>): void {
    const b = this.backend
    if (this.table.ttl !== null) this.visible()
    const mp = mapPending(b, this.table)
    let added = 0
    for (const [k, v] of entries) {
      const size = mp.entries.size
      mp.entries.set(b.key.mapCacheKey(k), v)
      if (mp.entries.size !== size) added++
    }
    if (this.table.timestamped) mp.t = b.now()
    b.pendingEntries += added
    b.maybeFlush()
  }

  remove(key: K): void {
    const b = this.backend
    if (!this.contains(key)) return
    const mp = mapPending(b, this.table)
    const size = mp.entries.size
    mp.entries.set(b.key.mapCacheKey(key), DELETED)
    b.pendingEntries += mp.entries.size - size
    if (this.table.timestamped) mp.t = b.now()
    if (this.emptyRaw()) mapRemoveAll(b, this.table)
    b.maybeFlush()
  }

  contains(key: K): boolean {
    if (!this.visible()) return false
    const layers = this.layers()
    if (layers.length > 0) {
      const mck = this.backend.key.mapCacheKey(key)
      for (const mp of layers) {
        if (mp.entries.has(mck)) return mp.entries.get(mck) !== DELETED
        if (mp.cleared) return false
      }
    }
    return this.backend.db.getBinaryFast(this.backend.key.entryKeyFor(this.table.id, key)) !== undefined
  }

  entries(): IterableIterator<[K, V]> {
    return this.all().entries()
  }

  keys(): IterableIterator<K> {
    return this.all().keys()
  }

  values(): IterableIterator<V> {
    return this.all().values()
  }

  isEmpty(): boolean {
    if (!this.visible()) return true
    return this.emptyRaw()
  }

  clear(): void {
    this.backend.remove(this.table)
  }

  /** The current key's map changes LMDB may not hold yet, newest first (pending, frozen, then in commits in flight). */
  private layers(): MapPending[] {
    const layers: MapPending[] = []
    const ck = this.backend.key.ck
    const p = this.table.pending.get(ck) as MapPending | undefined
    if (p !== undefined) layers.push(p)
    const frozen = this.table.frozen
    for (let i = 0; i < frozen.length; i++) {
      const f = frozen[i]!.get(ck) as MapPending | undefined
      if (f !== undefined) layers.push(f)
    }
    const committing = this.table.committing
    for (let i = 0; i < committing.length; i++) {
      const c = committing[i]!.get(ck) as MapPending | undefined
      if (c !== undefined) layers.push(c)
    }
    return layers
  }

  /** Whether the current key's map may be read (TTL: present and unexpired, or visible expired); refreshes on read. */
  private visible(): boolean {
    const b = this.backend
    const table = this.table
    const ttl = table.ttl
    if (ttl === null) return true
    if (ttl.cleanupIncrementally > 0) b.cleanupSome(table, ttl)
    let t: number | undefined
    let known = false
    for (const layer of this.layers()) {
      if (layer.t !== undefined || layer.cleared) {
        t = layer.t
        known = true
        break
      }
    }
    if (!known) {
      const bytes = b.db.getBinaryFast(b.key.keyFor(table.id))
      t = bytes === undefined ? undefined : bytes.readDoubleBE(0)
    }
    if (t === undefined) return false
    const now = b.now()
    if (ttl.isExpired(t, now)) {
      if (ttl.returnExpired) return true
      mapRemoveAll(b, table)
      return false
    }
    if (ttl.refreshOnRead) {
      mapPending(b, table).t = now
      b.maybeFlush()
    }
    return true
  }

  /** Every entry of the current key's map, stored and pending merged. */
  private all(): Map<K, V> {
    const b = this.backend
    const out = new Map<K, V>()
    if (!this.visible()) return out
    const byCk = new Map<unknown, [unknown, unknown]>()
    const layers = this.layers()
    // Apply the layers oldest first, from the newest one that cleared the map (or from LMDB).
    let from = layers.findIndex((l) => l.cleared)
    if (from < 0) {
      from = layers.length - 1
      const prefix = b.key.keyFor(this.table.id)
      const start = Buffer.from(prefix.buf.subarray(0, prefix.len))
      for (const { key, value } of b.db.getRange({ start, end: prefixEnd(start) }) as Iterable<{ key: Buffer; value: Buffer }>) {
        if (key.length === start.length) continue // the TTL header
        const text = decodeKeyText(key, start.length)
        const mk = decodedComposite ? JSON.parse(text as string) : text
        const mck = decodedComposite ? b.key.intern(text as string, mk) : mk
        byCk.set(mck, [mk, unpackr.unpack(value)])
      }
    }
    for (let i = from; i >= 0; i--) {
      for (const [mck, v] of layers[i]!.entries) {
        if (v === DELETED) byCk.delete(mck)
        else byCk.set(mck, [isToken(mck) ? (mck as KeyToken).key : mck, v])
      }
    }
    for (const [k, v] of byCk.values()) out.set(k as K, v as V)
    return out
  }

  private emptyRaw(): boolean {
    const b = this.backend
    const layers = this.layers()
    for (let i = 0; i < layers.length; i++) {
      for (const [mck, v] of layers[i]!.entries) {
        if (v === DELETED) continue
        let shadowed = false
        for (let j = 0; j < i && !shadowed; j++) shadowed = layers[j]!.entries.has(mck)
        if (!shadowed) return false
      }
      if (layers[i]!.cleared) return true
    }
    const prefix = b.key.keyFor(this.table.id)
    const start = Buffer.from(prefix.buf.subarray(0, prefix.len))
    for (const key of b.db.getKeys({ start, end: prefixEnd(start) }) as Iterable<Buffer>) {
      if (key.length === start.length) continue
      if (layers.length === 0) return false
      const text = decodeKeyText(key, start.length)
      const mck = decodedComposite ? b.key.intern(text as string, JSON.parse(text as string)) : text
      if (!layers.some((l) => l.entries.has(mck))) return false
    }
    return true
  }
}

/** The current key's pending map changes in `table` (made if none). */
export function mapPending(b: LmdbKeyedStateBackend, table: Table): MapPending {
  const ck = b.key.ck
  let mp = table.pending.get(ck) as MapPending | undefined
  if (mp === undefined) {
    mp = { cleared: false, entries: new Map(), t: undefined }
    table.pending.set(ck, mp)
    b.pendingEntries++
  }
  return mp
}

/** Drops the current key's whole map (pending entries and stored ones, at the next commit). */
export function mapRemoveAll(b: LmdbKeyedStateBackend, table: Table): void {
  const mp = mapPending(b, table)
  mp.cleared = true
  mp.entries.clear()
  mp.t = undefined
}
