// Keyed state in an embedded LMDB environment on local disk (state.backend.type: lmdb), for
// state larger than memory. One environment per backend (one keyed operator in one subtask), in
// a working directory <state.backend.lmdb.localdir or the temp dir>/weir-lmdb-<job>-<uid>-
// <subtask>-<attempt>, removed by dispose(). This file holds the backend's lifecycle, the current
// key, value-like state access, commits and snapshot captures; the rest lives beside it:
//
//   lmdb-key-layout.ts     the layout of LMDB keys ([key group][state id][user key][map key])
//   write-generations.ts   the in-memory layers of writes (pending, frozen, clean) and value bytes
//   commit-writes.ts       committing a generation of writes to LMDB
//   lmdb-map-state.ts      MapState (the other states are ../state-objects.ts, shared with the heap)
//   ttl-maintenance.ts     incremental TTL cleanup and TTL setting changes
//   capture-view.ts        what a capture sees and how its asynchronous phase reads it
//   lmdb-snapshots.ts      captures in flight and the incremental chain's bookkeeping
//   canonical-snapshot.ts, incremental-writer.ts   the two snapshot formats
//   lmdb-restore.ts        loading either format
//   working-environment.ts opening and removing the working LMDB environment
//
// State ids are small integers per state name, given at registration and recorded in snapshots.
// Reads are synchronous LMDB gets. Writes go to a per-state pending Map (decoded values, by
// key) and are committed to LMDB in one synchronous transaction every `flushEvery` distinct
// uncommitted entries (state.backend.lmdb.cache-size); the committed batch stays as a decoded
// read cache until the next commit. Reads consult pending, the frozen generations, that cache,
// then LMDB. Values come back decoded
// (copies): plain data round-trips, a Map inside a value comes back as an object (msgpackr
// without records). Composite map keys of a MapState are compared by JSON value, not identity.
//
// Snapshots: the synchronous phase freezes the uncommitted writes (an overlay, committed with the
// next regular commit) and pins an LMDB read transaction (MVCC: a consistent view that later
// commits do not touch; nothing is copied or written). The asynchronous phase (lmdb-snapshots.ts)
// reads view and overlay merged, in chunks, yielding to the task between them, and writes either
// the canonical format (savepoints; checkpoints unless incremental) or incremental files.

import { AccessValueState, AccessListState, AccessReducingState, AccessAggregatingState } from '../state-objects.ts'
import type { RootDatabase } from 'lmdb'
import { statSync } from 'node:fs'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import type { StateDescriptor, StateKind } from '../../api/state.ts'
import { assignToKeyGroup, type KeyGroupRange } from '../key-groups.ts'
import { checkDescriptorKind, TtlPolicy, type KeyedStateBackend, type KeyedStateSnapshot, type SnapshotCapture, type SnapshotOptions, type StateFor } from '../keyed-state-backend.ts'
import { registerLmdbBackend, type BackendScope, type BackendSettings } from '../backend-factory.ts'
import { UserError, WeirError } from '../../errors.ts'
import { LMDB_INCREMENTAL_FORMAT, type LmdbIncrementalSnapshot } from './incremental-snapshot.ts'
import { removeEarlierAttempts, workingDirFor } from './working-dir.ts'
import { closeWorkingEnvironment, openWorkingEnvironment } from './working-environment.ts'
import { encodeStateKey, isToken, KEY_BUFFER_BYTES, KeyRef, storedUserKeys, writeMapKey, type KeyToken } from './lmdb-key-layout.ts'
import { DELETED, freezePending, frozenGet, NO_GENERATIONS, TimestampedEncoder, unpackr, type MapPending, type Table, type Timestamped } from './write-generations.ts'
import { commitTable } from './commit-writes.ts'
import { LmdbMapState } from './lmdb-map-state.ts'
import { CLEANUP_EVERY, cleanupSome, retimestamp } from './ttl-maintenance.ts'
import type { LmdbCapture } from './capture-view.ts'
import type { RestoreContext } from './lmdb-restore.ts'
import { LmdbSnapshots } from './lmdb-snapshots.ts'

export { LMDB_INCREMENTAL_FORMAT, type LmdbIncrementalSnapshot }

export interface LmdbBackendOptions {
  /** Commit pending writes to LMDB when this many distinct entries are pending (default 20 000). */
  readonly flushEvery?: number
  /** Incremental checkpoints: write a new base after this many deltas (default 10). */
  readonly maxDeltas?: number
  /** LMDB page size of the working database (default 16 KiB). */
  readonly pageSize?: number
}

// Members without `private` below are used by the other files of this folder, not by callers.
export class LmdbKeyedStateBackend implements KeyedStateBackend {
  readonly type = 'lmdb'
  currentKey: unknown = undefined
  currentMapKey: unknown = undefined
  readonly maxParallelism: number
  /** The working directory of the LMDB environment. */
  readonly dir: string
  readonly db: RootDatabase<Buffer, any>
  private readonly tables = new Map<string, Table>()
  private readonly byId = new Map<number, Table>()
  private nextId = 1
  /** Cache key of the current key: the key itself, or its KeyToken when composite. */
  private ck: unknown = undefined
  private keyReady = false
  private ukEnd = 0
  private readonly cur = new KeyRef(Buffer.allocUnsafe(KEY_BUFFER_BYTES))
  private readonly aux = new KeyRef(Buffer.allocUnsafe(KEY_BUFFER_BYTES))
  private readonly snap = new KeyRef(Buffer.allocUnsafe(KEY_BUFFER_BYTES))
  private readonly timestamped = new TimestampedEncoder()
  private tokens = new Map<string, KeyToken>()
  /** Tokens of composite keys in the clean caches. */
  private cleanTokens = new Map<string, KeyToken>()
  /** Distinct uncommitted entries (pending and frozen). */
  pendingEntries = 0
  private readonly flushEvery: number
  private disposed = false
  /** Captures in flight and the incremental chain (incremental only with a shared directory). */
  private readonly snapshots: LmdbSnapshots
  /** Lists ListState may extend in place: made since the last capture (copy-on-write after it). */
  private owned = new WeakSet<object>()
  private restores = 0
  private readonly restoreContext: RestoreContext

  constructor(settings: BackendSettings, scope: BackendScope, readonly now: () => number = Date.now, options: LmdbBackendOptions = {}) {
    this.maxParallelism = scope.maxParallelism
    this.flushEvery = options.flushEvery ?? 20_000
    if (!(this.flushEvery >= 1)) throw new UserError('WEIR_INVALID_ARGUMENT', `flushEvery must be at least 1, got ${this.flushEvery}`)
    this.dir = workingDirFor(settings.localDir, settings.jobId, scope.operatorUid, scope.subtaskIndex, settings.attempt)
    const filePrefix = `lmdb-${scope.operatorUid.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 64)}-${scope.subtaskIndex}-${randomBytes(6).toString('hex')}`
    removeEarlierAttempts(settings.localDir, settings.jobId, scope.operatorUid, scope.subtaskIndex, settings.attempt)
    this.db = openWorkingEnvironment(this.dir, options.pageSize ?? 16384)
    this.snapshots = new LmdbSnapshots(this.db,
      { db: this.db, maxParallelism: this.maxParallelism, now: this.now, snapKey: this.snap, timestamped: this.timestamped, checkOpen: () => this.checkOpen() },
      { sharedDir: settings.incremental ? (settings.sharedDir ?? null) : null, filePrefix, maxDeltas: options.maxDeltas ?? 10 })
    this.restoreContext = {
      db: this.db,
      maxParallelism: this.maxParallelism,
      now: this.now,
      key: this.aux,
      timestamped: this.timestamped,
      restoreTable: (name, kind, timestamped, preferredId) => this.restoreTable(name, kind, timestamped, preferredId),
    }
  }

  // ---------------------------------------------------------------------------------------
  // Keys
  // ---------------------------------------------------------------------------------------

  setCurrentKey(key: unknown): void {
    this.currentKey = key
    this.keyReady = false
    if (typeof key === 'object' && key !== null) {
      const text = JSON.stringify(key)
      this.currentMapKey = text
      this.ck = this.intern(text, key)
    } else {
      this.currentMapKey = key
      this.ck = key
    }
  }

  /** The cache key of the current key. */
  currentCacheKey(): unknown {
    return this.ck
  }

  intern(text: string, key: unknown): KeyToken {
    let token = this.tokens.get(text)
    if (token === undefined) {
      token = this.cleanTokens.get(text) ?? { key, text, kg: assignToKeyGroup(key, this.maxParallelism) }
      this.tokens.set(text, token)
    }
    return token
  }

  /** The cache key of a map key (composite map keys by their JSON text, as user keys). */
  mapCacheKey(mk: unknown): unknown {
    return typeof mk === 'object' && mk !== null ? this.intern(JSON.stringify(mk), mk) : mk
  }

  /** The current key's LMDB key for `table` (value-like states; map states: the header). */
  keyFor(table: Table): KeyRef {
    const ref = this.cur
    if (!this.keyReady) {
      if (this.currentKey === undefined) throw new WeirError('WEIR_INTERNAL', 'keyed state accessed with no current key')
      this.ukEnd = encodeStateKey(this.ck, table.id, ref, this.maxParallelism)
      this.keyReady = true
    } else {
      ref.buf[2] = table.id >> 8
      ref.buf[3] = table.id & 0xff
    }
    ref.len = this.ukEnd
    return ref
  }

  /** The LMDB key of map entry `mk` of the current key in `table`. */
  entryKeyFor(table: Table, mk: unknown): KeyRef {
    const ref = this.keyFor(table)
    const end = writeMapKey(mk, ref.buf, this.ukEnd)
    ref.len = end
    return ref
  }

  // ---------------------------------------------------------------------------------------
  // States
  // ---------------------------------------------------------------------------------------

  getState<D extends StateDescriptor>(descriptor: D): StateFor<D> {
    let table = this.tables.get(descriptor.name)
    if (table?.state) {
      checkDescriptorKind(descriptor.name, table.kind, descriptor.kind)
      return table.state as StateFor<D>
    }
    if (table) checkDescriptorKind(descriptor.name, table.kind, descriptor.kind)
    const ttl = descriptor.ttl ? new TtlPolicy(descriptor.ttl, this.now) : null
    table ??= this.newTable(descriptor.name, descriptor.kind, ttl !== null, null)
    if ((ttl !== null) !== table.timestamped) {
      this.flush()
      this.dropCaches()
      retimestamp(this, table, ttl !== null, this.snapshots.dirty)
    }
    table.ttl = ttl
    table.state = this.createState(descriptor, table)
    return table.state as StateFor<D>
  }

  keys(stateName: string): Iterable<unknown> {
    const table = this.tables.get(stateName)
    if (!table) return []
    this.flush()
    return storedUserKeys(this.db, table.id, table.kind === 'map', this.maxParallelism)
  }

  private newTable(name: string, kind: StateKind, timestamped: boolean, preferredId: number | null): Table {
    let id = preferredId !== null && !this.byId.has(preferredId) ? preferredId : this.nextId
    while (this.byId.has(id)) id++
    if (id > 0xfffe) throw new UserError('WEIR_INVALID_JOB', `too many keyed states in one operator (the lmdb backend numbers them up to ${0xfffe})`)
    this.nextId = Math.max(this.nextId, id + 1)
    const table: Table = { name, id, kind, ttl: null, timestamped, pending: new Map(), frozen: NO_GENERATIONS, clean: new Map(), cleanupCursor: null, cleanupCountdown: CLEANUP_EVERY, state: null }
    this.tables.set(name, table)
    this.byId.set(id, table)
    return table
  }

  private createState(descriptor: StateDescriptor, table: Table): unknown {
    switch (descriptor.kind) {
      case 'value':
        return new AccessValueState(this, table, descriptor.defaultValue)
      case 'list':
        return new AccessListState(this, table)
      case 'map':
        return new LmdbMapState(this, table)
      case 'reducing':
        return new AccessReducingState(this, table, descriptor.reduce)
      case 'aggregating':
        return new AccessAggregatingState(this, table, descriptor.aggregate)
    }
  }

  // ---- value-like states (value, list, reducing, aggregating) ----

  /** The current key's stored form ({v, t} when timestamped), without TTL rules. */
  readStored(table: Table): unknown {
    let p = table.pending.get(this.ck)
    if (p === undefined && table.frozen.length > 0) p = frozenGet(table.frozen, this.ck)
    if (p === undefined) p = table.clean.get(this.ck)
    if (p !== undefined) return p === DELETED ? undefined : p
    const bytes = this.db.getBinaryFast(this.keyFor(table))
    if (bytes === undefined) return undefined
    const v = table.timestamped ? unpackr.unpack(bytes, { start: 8, end: bytes.length }) : unpackr.unpack(bytes)
    if (table.kind === 'list') this.owned.add(v as object) // a fresh decode
    return table.timestamped ? ({ v, t: bytes.readDoubleBE(0) } satisfies Timestamped) : v
  }

  /** A list ListState may extend in place: the current one if it was made since the last capture, else a copy. */
  mutableList<T>(current: T[] | undefined): T[] {
    if (current !== undefined && this.owned.has(current)) return current
    const list = current === undefined ? [] : current.slice()
    this.owned.add(list)
    return list
  }

  ownList<T>(list: T[]): T[] {
    this.owned.add(list)
    return list
  }

  /** Lists extended in place are written again: the write puts them in the pending layer that commits. */
  writesBack(): boolean {
    return true
  }

  /** Reads the current key's value, applying TTL visibility and refresh, and incremental cleanup. */
  read(table: Table): unknown {
    const stored = this.readStored(table)
    const ttl = table.ttl
    if (ttl === null) return stored === undefined || !table.timestamped ? stored : (stored as Timestamped).v
    if (ttl.cleanupIncrementally > 0) this.cleanupSome(table, ttl)
    if (stored === undefined) return undefined
    const ts = stored as Timestamped
    const now = this.now()
    if (ttl.isExpired(ts.t, now)) {
      if (ttl.returnExpired) return ts.v
      this.setPending(table, this.ck, DELETED)
      return undefined
    }
    if (ttl.refreshOnRead) this.setPending(table, this.ck, { v: ts.v, t: now })
    return ts.v
  }

  write(table: Table, value: unknown): void {
    if (value === undefined || value === null) this.setPending(table, this.ck, DELETED)
    else this.setPending(table, this.ck, table.timestamped ? { v: value, t: this.now() } : value)
  }

  remove(table: Table): void {
    if (table.kind === 'map') {
      this.mapRemoveAll(table)
      this.maybeFlush()
    } else {
      this.setPending(table, this.ck, DELETED)
    }
  }

  private setPending(table: Table, ck: unknown, stored: unknown): void {
    const p = table.pending
    const size = p.size
    p.set(ck, stored)
    if (p.size !== size && ++this.pendingEntries >= this.flushEvery) this.flush()
  }

  /** Commits when enough is pending (map operations call it last: they hold a MapPending until then). */
  maybeFlush(): void {
    if (this.pendingEntries >= this.flushEvery) this.flush()
  }

  cleanupSome(table: Table, ttl: TtlPolicy): void {
    cleanupSome(this, table, ttl)
  }

  // ---- map states: the pending layer of the current key (the rest is in lmdb-map-state.ts) ----

  mapPending(table: Table): MapPending {
    let mp = table.pending.get(this.ck) as MapPending | undefined
    if (mp === undefined) {
      mp = { cleared: false, entries: new Map(), t: undefined }
      table.pending.set(this.ck, mp)
      this.pendingEntries++
    }
    return mp
  }

  /** Drops the current key's whole map (pending entries and stored ones, at the next commit). */
  mapRemoveAll(table: Table): void {
    const mp = this.mapPending(table)
    mp.cleared = true
    mp.entries.clear()
    mp.t = undefined
  }

  // ---------------------------------------------------------------------------------------
  // Committing pending writes
  // ---------------------------------------------------------------------------------------

  /** Commits every uncommitted write (frozen, then pending) to LMDB in one transaction. */
  flush(): void {
    if (this.pendingEntries === 0) return
    const dirty = this.snapshots.dirty
    const ctx = { db: this.db, maxParallelism: this.maxParallelism, key: this.aux, timestamped: this.timestamped }
    this.db.transactionSync(() => {
      for (const table of this.tables.values()) commitTable(ctx, table, dirty)
    })
    // What was just committed stays readable, decoded, until the next commit: a key written in
    // either of the last two batches is not read from LMDB (hot keys of skewed streams). Values
    // there may be extended in place by ListState, as on the heap: LMDB already holds the
    // committed bytes, and the write that follows puts them in pending.
    for (const table of this.tables.values()) {
      if (table.kind !== 'map') table.clean = table.pending.size > 0 || table.frozen.length === 0 ? table.pending : table.frozen[0]!
      table.pending = new Map()
      table.frozen = NO_GENERATIONS
    }
    this.pendingEntries = 0
    this.cleanTokens = this.tokens
    this.tokens = new Map()
    if (isToken(this.ck)) this.tokens.set((this.ck as KeyToken).text, this.ck as KeyToken)
  }

  /** Forgets the clean caches: LMDB was written directly (restore, TTL setting change). */
  private dropCaches(): void {
    for (const table of this.tables.values()) table.clean = new Map()
    this.cleanTokens = new Map()
  }

  // ---------------------------------------------------------------------------------------
  // Snapshots
  // ---------------------------------------------------------------------------------------

  /**
   * Synchronous phase, O(states) and nothing written or copied: freezes each state's pending
   * writes as a generation on top of the uncommitted ones (the capture's overlay; committed with
   * the next regular commit) and pins a read transaction, LMDB's consistent view of this moment
   * (MVCC; later commits do not touch it). Committing instead would take one LMDB write per
   * pending entry, 10-40 us each in a large tree.
   */
  captureSnapshot(checkpointId: number, options: SnapshotOptions): SnapshotCapture {
    this.checkOpen()
    const { gen, overlay } = freezePending(this.tables.values())
    // Lists in the overlay are shared with the capture from now on: copy before extending.
    this.owned = new WeakSet()
    const tables = [...this.tables.values()].map((t) => ({ name: t.name, id: t.id, kind: t.kind, ttl: t.ttl, timestamped: t.timestamped }))
    return this.snapshots.capture(checkpointId, options, gen, overlay, tables)
  }

  /** Asynchronous phase: the canonical format, or incremental files plus the snapshot that lists them. */
  materializeSnapshot(captured: SnapshotCapture): Promise<KeyedStateSnapshot> {
    return this.snapshots.materialize(captured as LmdbCapture)
  }

  notifyCheckpointComplete(checkpointId: number): void {
    this.snapshots.complete(checkpointId)
  }

  /** Loads the entries of a snapshot (canonical or this backend's incremental format) whose key groups fall in `range`. */
  restore(snapshot: KeyedStateSnapshot, range: KeyGroupRange): void {
    this.checkOpen()
    this.flush()
    this.dropCaches()
    const fresh = this.restores === 0 && this.tables.size === 0
    this.restores++
    this.snapshots.restore(this.restoreContext, snapshot, range, fresh)
  }

  private restoreTable(name: string, kind: StateKind, timestamped: boolean, preferredId: number | null): Table {
    const table = this.tables.get(name)
    if (table) {
      checkDescriptorKind(name, table.kind, kind)
      return table
    }
    return this.newTable(name, kind, timestamped, preferredId)
  }

  // ---------------------------------------------------------------------------------------
  // Lifecycle
  // ---------------------------------------------------------------------------------------

  /** Size of the LMDB data file, in bytes. */
  storedBytes(): number {
    return statSync(join(this.dir, 'data.mdb')).size
  }

  dispose(): void {
    if (this.disposed) return
    this.disposed = true
    this.snapshots.releaseAll()
    for (const t of this.tables.values()) {
      t.pending = new Map()
      t.frozen = NO_GENERATIONS
      t.clean = new Map()
    }
    closeWorkingEnvironment(this.dir, this.db)
  }

  private checkOpen(): void {
    if (this.disposed) throw new WeirError('WEIR_INTERNAL', 'the lmdb state backend was disposed')
  }
}

registerLmdbBackend((settings, scope) => new LmdbKeyedStateBackend(settings, scope, Date.now, settings.lmdbCacheSize !== undefined ? { flushEvery: settings.lmdbCacheSize } : {}))
