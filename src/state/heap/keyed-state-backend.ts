// Keyed state on the heap (state.backend.type: hashmap): one table per state, from key to value.
// Snapshots are copy-on-write and copy nothing (layered-map.ts): the synchronous phase freezes
// each table's layers in O(1) and bumps an epoch; lists and maps held as state values are copied
// before their first change after that, so the capture stays consistent while records keep
// flowing. The asynchronous phase converts the frozen view in slices of a few milliseconds,
// yielding to the task between them, and then lets the table fold its layers back together in
// slices too. Composite keys (arrays, objects) are stored under their JSON text so that equal
// keys share one entry.

import { AccessListState, AccessReducingState, AccessAggregatingState } from '../state-objects.ts'
import type { StateDescriptor, StateKind } from '../../api/state.ts'
import type { KeyGroupRange } from '../key-groups.ts'
import { entryChunks } from '../entry-chunks.ts'
import { checkDescriptorKind, TtlPolicy, type CanonicalStateEntries, type KeyedStateBackend, type KeyedStateSnapshot, type SnapshotCapture, type SnapshotOptions, type StateFor } from '../keyed-state-backend.ts'
import { WeirError } from '../../errors.ts'
import { LayeredMap } from './layered-map.ts'
import { canonicalHeapSnapshot, type CanonicalCapture } from './canonical-heap-snapshot.ts'
import { HeapMapState, HeapValueState } from './heap-state-objects.ts'
import { HEAP_INCREMENTAL_FORMAT, restoreHeapIncremental, writeHeapIncremental, type HeapIncrementalSnapshot, type IncrementalCapture, type TableChanges } from './incremental-heap-snapshot.ts'
import { ChainTracker } from '../incremental-chain.ts'
import { behindAnotherSlice, sliceEnded } from '../task-slices.ts'
import type { SegmentRef } from '../lmdb/segment-file.ts'

/** Incremental checkpoints (execution.checkpointing.incremental): where the shared files go. */
export interface HeapIncrementalOptions {
  readonly sharedDir: string
  /** Unique per backend instance (file names must not collide between subtasks and attempts). */
  readonly filePrefix: string
  /** A full base after this many deltas (default 10). */
  readonly maxDeltas?: number
}

/** Snapshot conversion and folding run in slices of this many milliseconds. */
const SLICE_MS = 4
/** Captures that may pin layers at once (Flink's default allows one checkpoint in flight, plus savepoints). */
const MAX_PINNED_CAPTURES = 8

/** A value with its last write time, for states with a TTL. */
export interface Timestamped {
  readonly v: unknown
  readonly t: number
}

export interface StateTable {
  readonly name: string
  /** The state's number in incremental snapshot files. */
  readonly id: number
  kind: StateKind
  ttl: TtlPolicy | null
  readonly data: LayeredMap
  /** Incremental TTL cleanup walks the map with this iterator across accesses. */
  cleanupCursor: Iterator<[unknown, unknown]> | null
  state: unknown
  /** Its values are changed in place (InPlaceValueState): a canonical snapshot copies them. */
  inPlace: boolean
}

interface HeapCapture extends CanonicalCapture {
  readonly tables: Array<CanonicalCapture['tables'][number] & { data: LayeredMap }>
  /** Incremental checkpoints: what to write (null: the canonical format). */
  readonly incremental: IncrementalCapture | null
  done: boolean
}

export class HeapKeyedStateBackend implements KeyedStateBackend {
  readonly type = 'hashmap'
  /** The key as the user's selector returned it. */
  currentKey: unknown = undefined
  /** The form the key is stored under. */
  currentMapKey: unknown = undefined
  private readonly tables = new Map<string, StateTable>()
  /** Original form of composite (array or object) keys, by their stored JSON text. */
  private readonly compositeKeys = new Map<string, unknown>()
  /** Bumped by every snapshot capture; containers from an older epoch are copied before a change. */
  private epoch = 0
  private readonly owned = new WeakMap<object, number>()
  private readonly captures = new Set<HeapCapture>()
  private folding = false
  private disposed = false
  private nextId = 1
  // Incremental checkpoints, as the LMDB backend keeps them: changes since the last incremental
  // capture, captures not yet confirmed complete, and the chain of the last confirmed one.
  private pendingChanges: TableChanges[] = []
  private readonly chain: ChainTracker<TableChanges[], SegmentRef>
  private restores = 0

  constructor(readonly maxParallelism: number, private readonly now: () => number = Date.now, private readonly incremental: HeapIncrementalOptions | null = null) {
    this.chain = new ChainTracker(incremental?.maxDeltas ?? 10)
  }

  setCurrentKey(key: unknown): void {
    this.currentKey = key
    if (typeof key === 'object' && key !== null) {
      const text = JSON.stringify(key)
      this.currentMapKey = text
      if (!this.compositeKeys.has(text)) this.compositeKeys.set(text, key)
    } else {
      this.currentMapKey = key
    }
  }

  getState<D extends StateDescriptor>(descriptor: D): StateFor<D> {
    let table = this.tables.get(descriptor.name)
    if (table?.state) {
      checkDescriptorKind(descriptor.name, table.kind, descriptor.kind)
      return table.state as StateFor<D>
    }
    if (table) checkDescriptorKind(descriptor.name, table.kind, descriptor.kind)
    table ??= this.newTable(descriptor.name, descriptor.kind)
    const ttl = descriptor.ttl ? new TtlPolicy(descriptor.ttl, this.now) : null
    this.retimestamp(table, ttl)
    table.ttl = ttl
    table.state = this.createState(descriptor, table)
    return table.state as StateFor<D>
  }

  keys(stateName: string): Iterable<unknown> {
    const table = this.tables.get(stateName)
    if (!table) return []
    return [...table.data.entries()].map(([k]) => k).map((k) => (typeof k === 'string' && this.compositeKeys.has(k) ? this.compositeKeys.get(k) : k))
  }

  /** Synchronous phase, O(states): freezes every table's layers (nothing is copied) and starts a new copy-on-write epoch. */
  captureSnapshot(checkpointId = 0, options: SnapshotOptions = { savepoint: false }): SnapshotCapture {
    // A capture that is never materialized (its checkpoint failed before) must not pin layers
    // for ever: past a bound, the oldest is released (materializing it then fails).
    if (this.captures.size >= MAX_PINNED_CAPTURES) this.release(this.captures.values().next().value!)
    this.epoch++
    const tables = [...this.tables.values()].map((t) => {
      const view = t.data.freeze()
      if (this.incremental !== null && t.data.lastFrozen !== null) this.pendingChanges.push({ name: t.name, layer: t.data.lastFrozen })
      return { name: t.name, id: t.id, kind: t.kind, ttl: t.ttl, view, data: t.data, inPlace: t.inPlace }
    })
    let incremental: IncrementalCapture | null = null
    if (this.incremental !== null && !options.savepoint) {
      const plan = this.chain.plan(checkpointId, this.pendingChanges)
      this.pendingChanges = []
      incremental = { checkpointId, tables, compositeKeys: this.compositeKeys, maxParallelism: this.maxParallelism, ...plan }
    }
    const capture: HeapCapture = { tables, compositeKeys: this.compositeKeys, maxParallelism: this.maxParallelism, incremental, done: false }
    this.captures.add(capture)
    return capture
  }

  /** Asynchronous phase: the canonical form, with each entry's key group; expired values dropped. Converted in slices. */
  async materializeSnapshot(captured: SnapshotCapture): Promise<KeyedStateSnapshot> {
    const capture = captured as HeapCapture
    if (capture.done) throw new WeirError('WEIR_INTERNAL', 'this heap snapshot was already materialized or released')
    try {
      if (capture.incremental === null) return await canonicalHeapSnapshot(capture, this.now(), SLICE_MS)
      const { snapshot, chain } = await writeHeapIncremental(capture.incremental, this.incremental!.sharedDir, this.incremental!.filePrefix)
      this.chain.written(capture.incremental.checkpointId, chain)
      return snapshot
    } finally {
      this.release(capture)
    }
  }

  notifyCheckpointComplete(checkpointId: number): void {
    this.chain.complete(checkpointId)
  }

  /** Unpins a capture's layers; once no capture holds them, the tables fold them back in slices. */
  private release(capture: HeapCapture): void {
    if (capture.done) return
    capture.done = true
    this.captures.delete(capture)
    for (const t of capture.tables) t.data.release()
    this.scheduleFold()
  }

  private scheduleFold(): void {
    if (this.folding || this.disposed || this.captures.size > 0) return
    this.folding = true
    setImmediate(this.foldSlice)
  }

  /** One slice of folding, between the task's turns (same thread: never during a record). */
  private readonly foldSlice = (): void => {
    this.folding = false
    if (this.disposed || this.captures.size > 0) return
    // Right after a checkpoint's slice, with no turn of the task between: the next turn.
    if (behindAnotherSlice(this)) return this.scheduleFold()
    const deadline = performance.now() + SLICE_MS
    let more = false
    for (const t of this.tables.values()) {
      // Incremental: `live` is the next checkpoint's changes, so it stays apart from the base.
      const keepLive = this.incremental !== null
      if (t.data.needsFold(keepLive) && t.data.foldSome(deadline, keepLive)) more = true
      if (performance.now() > deadline) {
        more = true
        break
      }
    }
    sliceEnded(this)
    if (more) this.scheduleFold()
  }

  /** Loads the entries of a canonical (or this backend's incremental) snapshot whose key groups fall in `range`. */
  restore(snapshot: KeyedStateSnapshot, range: KeyGroupRange): void {
    const fresh = this.restores === 0 && this.tables.size === 0
    this.restores++
    if (snapshot.format === HEAP_INCREMENTAL_FORMAT) {
      const s = snapshot as unknown as HeapIncrementalSnapshot
      if (s.maxParallelism !== this.maxParallelism) {
        throw new WeirError('WEIR_RESTORE_FAILED', `the checkpoint was taken with max parallelism ${s.maxParallelism}, this job has ${this.maxParallelism}; restore from a savepoint to change it`, { domain: 'user' })
      }
      const savedKey = this.currentKey
      let exact = true
      for (const [name, st] of Object.entries(s.states)) {
        const existing = this.tables.get(name)
        if (existing) checkDescriptorKind(name, existing.kind, st.kind)
        if ((existing ?? this.newTable(name, st.kind, st.id)).id !== st.id) exact = false
      }
      exact = restoreHeapIncremental(s, range, {
        table: (name) => this.tables.get(name)!.data,
        mapKeyOf: (key) => {
          this.setCurrentKey(key)
          return this.currentMapKey
        },
      }) && exact
      for (const [name, st] of Object.entries(s.states)) {
        const table = this.tables.get(name)!
        if (st.ttl && !table.ttl) table.ttl = new TtlPolicy({ ttlMs: Number.MAX_SAFE_INTEGER }, this.now)
      }
      this.setCurrentKey(savedKey)
      this.forgetChain()
      // The state is exactly this chain's content: extend it (same job's shared directory only).
      if (fresh && exact && this.incremental !== null && s.sharedDir === this.incremental.sharedDir) this.chain.adopt(s)
      return
    }
    this.forgetChain()
    if (snapshot.format !== 'canonical') {
      throw new WeirError('WEIR_RESTORE_FAILED', `the hashmap state backend cannot read keyed state in '${snapshot.format}' format; restore from a savepoint (canonical format) to switch backends`, { domain: 'user' })
    }
    const states = (snapshot as Extract<KeyedStateSnapshot, { format: 'canonical' }>).states
    const savedKey = this.currentKey
    for (const [name, entries] of Object.entries(states)) {
      let table = this.tables.get(name)
      if (table) checkDescriptorKind(name, table.kind, entries.kind)
      table ??= this.newTable(name, entries.kind)
      for (const flat of entryChunks(entries.entries)) {
        for (let i = 0; i < flat.length; i += 3) {
          const kg = flat[i] as number
          if (kg < range.start || kg > range.end) continue
          this.setCurrentKey(flat[i + 1])
          const raw = entries.ttl ? (flat[i + 2] as [unknown, number])[0] : flat[i + 2]
          const value = entries.kind === 'map' ? new Map(raw as Array<[unknown, unknown]>) : raw
          // Restored entries keep their write time; a table without a TTL (yet) stores plain values.
          table.data.set(this.currentMapKey, entries.ttl ? { v: value, t: (flat[i + 2] as [unknown, number])[1] } : value)
        }
      }
      if (entries.ttl && !table.ttl) table.ttl = new TtlPolicy({ ttlMs: Number.MAX_SAFE_INTEGER }, this.now)
    }
    this.setCurrentKey(savedKey)
  }

  private forgetChain(): void {
    this.chain.forget()
    this.pendingChanges = []
  }

  dispose(): void {
    this.disposed = true
    this.captures.clear()
    this.tables.clear()
  }

  // ---- internals shared by the state objects ----

  /** A container (array or Map) safe to change in place: copied once per snapshot epoch. */
  writable<C extends object>(container: C, copy: (c: C) => C): C {
    if (this.owned.get(container) === this.epoch) return container
    const fresh = copy(container)
    this.owned.set(fresh, this.epoch)
    return fresh
  }

  own<C extends object>(container: C): C {
    this.owned.set(container, this.epoch)
    return container
  }

  // ListAccess (state-objects.ts): lists are copied once per snapshot epoch; a TTL's timestamp needs the write.
  mutableList<T>(current: T[] | undefined): T[] {
    return current ? this.writable(current, (c) => c.slice()) : this.own([] as T[])
  }

  ownList<T>(list: T[]): T[] {
    return this.own(list)
  }

  writesBack(table: StateTable): boolean {
    return table.ttl !== null
  }

  /** Reads the current key's value, applying TTL visibility and refresh, and incremental cleanup. */
  read(table: StateTable): unknown {
    const stored = table.data.get(this.currentMapKey)
    const ttl = table.ttl
    if (ttl === null) return stored
    if (ttl.cleanupIncrementally > 0) this.cleanupSome(table, ttl)
    if (stored === undefined) return undefined
    const ts = stored as Timestamped
    const now = this.now()
    if (ttl.isExpired(ts.t, now)) {
      if (ttl.returnExpired) return ts.v
      table.data.delete(this.currentMapKey)
      return undefined
    }
    if (ttl.refreshOnRead) table.data.set(this.currentMapKey, { v: ts.v, t: now })
    return ts.v
  }

  write(table: StateTable, value: unknown): void {
    if (value === undefined || value === null) {
      table.data.delete(this.currentMapKey)
      return
    }
    table.data.set(this.currentMapKey, table.ttl === null ? value : { v: value, t: this.now() })
  }

  remove(table: StateTable): void {
    table.data.delete(this.currentMapKey)
  }

  private cleanupSome(table: StateTable, ttl: TtlPolicy): void {
    const now = this.now()
    for (let i = 0; i < ttl.cleanupIncrementally; i++) {
      table.cleanupCursor ??= table.data.oldest().entries()
      const next = table.cleanupCursor.next()
      if (next.done) {
        table.cleanupCursor = null
        return
      }
      // The walk is over the oldest layer; the key's current value may be newer.
      const stored = table.data.get(next.value[0])
      if (stored !== undefined && ttl.isExpired((stored as Timestamped).t, now)) table.data.delete(next.value[0])
    }
  }

  private newTable(name: string, kind: StateKind, preferredId: number | null = null): StateTable {
    const used = new Set([...this.tables.values()].map((t) => t.id))
    let id = preferredId !== null && !used.has(preferredId) ? preferredId : this.nextId
    while (used.has(id)) id++
    if (id > 0xfffe) throw new WeirError('WEIR_INVALID_JOB', `too many keyed states in one operator (at most ${0xfffe})`, { domain: 'user' })
    this.nextId = Math.max(this.nextId, id + 1)
    const table: StateTable = { name, id, kind, ttl: null, data: new LayeredMap(), cleanupCursor: null, state: null, inPlace: false }
    this.tables.set(name, table)
    return table
  }

  /** A state registered with (or without) a TTL after a restore that stored the other form. */
  private retimestamp(table: StateTable, ttl: TtlPolicy | null): void {
    const wasTimestamped = table.ttl !== null
    if (wasTimestamped === (ttl !== null)) return
    const now = this.now()
    for (const [k, v] of [...table.data.entries()]) table.data.set(k, ttl ? { v, t: now } : (v as Timestamped).v)
  }

  private createState(descriptor: StateDescriptor, table: StateTable): unknown {
    switch (descriptor.kind) {
      case 'value':
        return new HeapValueState(this, table, descriptor.defaultValue)
      case 'list':
        return new AccessListState(this, table)
      case 'map':
        return new HeapMapState(this, table)
      case 'reducing':
        return new AccessReducingState(this, table, descriptor.reduce)
      case 'aggregating':
        return new AccessAggregatingState(this, table, descriptor.aggregate)
    }
  }
}
