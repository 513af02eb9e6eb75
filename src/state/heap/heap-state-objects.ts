// The heap backend's own state objects: ValueState reads its table's map directly when the state
// has no TTL (the hot path of most jobs) and offers in-place changes of values no snapshot can
// see (sum/min/max); MapState copies a key's map once per snapshot epoch before changing it.
// List, reducing and aggregating states are ../state-objects.ts, shared with LMDB.

import type { MapState } from '../../api/state.ts'
import type { InPlaceValueState } from '../keyed-state-backend.ts'
import { TOMBSTONE, type LayeredMap } from './layered-map.ts'
import type { HeapKeyedStateBackend, StateTable } from './keyed-state-backend.ts'

export class HeapValueState<T> implements InPlaceValueState<T> {
  private readonly plainMap: LayeredMap | null
  /** Whether the last valueForChange() found the key deleted in `live`. */
  private liveDeleted = false
  constructor(private readonly backend: HeapKeyedStateBackend, private readonly table: StateTable, private readonly defaultValue: T | undefined) {
    // Without a TTL, read the table directly: the hot path of most jobs.
    this.plainMap = table.ttl === null ? table.data : null
  }
  /**
   * Only the layer of writes since the last capture (`live`) may be changed in place, and the
   * base while a fold sends writes to it (LayeredMap.writeThrough; nothing pins it then): a
   * capture freezes `live` and starts a new one, and a value a frozen layer holds reaches `live`
   * again only as a copy the caller writes (or, when folding, once no capture pins any layer;
   * canonical snapshots copy in-place values before their capture is released).
   */
  valueForChange(): T | undefined {
    const map = this.plainMap
    if (map === null) return undefined
    this.table.inPlace = true
    const v = map.live.get(this.backend.currentMapKey)
    if (v === TOMBSTONE) {
      this.liveDeleted = true
      return undefined
    }
    this.liveDeleted = false
    // While `live` is folded into the base, the base is where writes go, and no snapshot sees it.
    if (v === undefined && map.writeThrough !== null) return map.writeThrough.get(this.backend.currentMapKey) as T | undefined
    return v as T | undefined
  }
  valueAfterMiss(): T {
    const map = this.plainMap
    if (map === null) return this.value()
    // A tombstone in `live` hides what the frozen layers hold.
    const v = this.liveDeleted ? undefined : map.getBelowLive(this.backend.currentMapKey)
    return (v === undefined ? this.defaultValue : v) as T
  }
  value(): T {
    const v = this.plainMap !== null ? this.plainMap.get(this.backend.currentMapKey) : this.backend.read(this.table)
    return (v === undefined ? this.defaultValue : v) as T
  }
  update(value: T): void {
    if (this.plainMap !== null) {
      if (value === undefined || value === null) this.plainMap.delete(this.backend.currentMapKey)
      else this.plainMap.set(this.backend.currentMapKey, value)
    } else {
      this.backend.write(this.table, value)
    }
  }
  clear(): void {
    this.backend.remove(this.table)
  }
}

export class HeapMapState<K, V> implements MapState<K, V> {
  constructor(private readonly backend: HeapKeyedStateBackend, private readonly table: StateTable) {}
  private current(): Map<K, V> | undefined {
    return this.backend.read(this.table) as Map<K, V> | undefined
  }
  private mutable(): Map<K, V> {
    const current = this.current()
    const map = current ? this.backend.writable(current, (c) => new Map(c)) : this.backend.own(new Map<K, V>())
    if (map !== current || this.table.ttl) this.backend.write(this.table, map)
    return map
  }
  get(key: K): V | undefined {
    return this.current()?.get(key)
  }
  put(key: K, value: V): void {
    this.mutable().set(key, value)
  }
  putAll(entries: Iterable<readonly [K, V]>): void {
    const map = this.mutable()
    for (const [k, v] of entries) map.set(k, v)
  }
  remove(key: K): void {
    const current = this.current()
    if (!current?.has(key)) return
    const map = this.mutable()
    map.delete(key)
    if (map.size === 0) this.backend.remove(this.table)
  }
  contains(key: K): boolean {
    return this.current()?.has(key) ?? false
  }
  entries(): IterableIterator<[K, V]> {
    return new Map(this.current() ?? []).entries()
  }
  keys(): IterableIterator<K> {
    return new Map(this.current() ?? []).keys()
  }
  values(): IterableIterator<V> {
    return new Map(this.current() ?? []).values()
  }
  isEmpty(): boolean {
    return (this.current()?.size ?? 0) === 0
  }
  clear(): void {
    this.backend.remove(this.table)
  }
}

