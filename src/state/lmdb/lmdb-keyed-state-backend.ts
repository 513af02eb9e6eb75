// Keyed state in an embedded LMDB environment on local disk (state.backend.type: lmdb), for
// state larger than memory. One environment per backend (one keyed operator in one subtask), in
// a working directory <state.backend.lmdb.localdir or the temp dir>/weir-lmdb-<job>-<uid>-
// <subtask>-<attempt>, removed by dispose(). This file holds the backend's lifecycle, value-like
// state access, commits and snapshot captures; the rest lives beside it:
//
//   lmdb-key-layout.ts     the layout of LMDB keys ([key group][state id][user key][map key])
//   current-key.ts         the current key: its cache key, interned composite keys, its LMDB key
//   state-tables.ts        the registered states: name, id, kind and layers of each
//   write-generations.ts   the in-memory layers of writes (pending, frozen) and value bytes
//   read-cache.ts          the bounded cache of committed values, decoded
//   key-filter.ts          a Bloom filter of stored keys: reads of new keys skip LMDB
//   commit-writes.ts       committing a generation of writes to LMDB
//   commits-in-flight.ts   asynchronous commits until they land (back-pressure, failures)
//   lmdb-map-state.ts      MapState (the other states are ../state-objects.ts, shared with the heap)
//   ttl-maintenance.ts     incremental TTL cleanup and TTL setting changes
//   capture-view.ts        what a capture sees and how its asynchronous phase reads it
//   lmdb-snapshots.ts      captures in flight and the incremental chain's bookkeeping
//   canonical-snapshot.ts, incremental-writer.ts   the two snapshot formats
//   lmdb-restore.ts        loading either format
//   working-environment.ts opening and removing the working LMDB environment
//
// Writes go to a per-state pending Map (decoded values, by key), committed every `flushEvery`
// new distinct uncommitted entries (half the cache size) but for up to half as many writes of
// hot keys that stay pending (write-back, commit-writes.ts), as an asynchronous batch that
// lmdb-js's write thread applies; until it lands its generations stay readable (the committing
// layer, commits-in-flight.ts). Committed writes and values read from LMDB stay decoded in a
// read cache bounded by state.backend.lmdb.cache-size entries. Reads consult pending, the frozen
// generations, that cache, the committing ones, then LMDB (a synchronous get). flush(), restore
// and dispose wait until LMDB holds every batch. Values come back decoded (copies): plain data
// round-trips, a Map inside a value comes back as an object (msgpackr without records).
// Composite map keys of a MapState are compared by JSON value, not identity.
//
// Snapshots: the synchronous phase freezes the uncommitted writes (an overlay, with the commits
// in flight; committed with the next regular commit) and pins an LMDB read transaction (MVCC:
// a consistent view later commits do not touch; nothing is copied or written). The
// asynchronous phase (lmdb-snapshots.ts) reads view and overlay merged, in chunks, yielding to
// the task between them, and writes the canonical format (savepoints; checkpoints unless
// incremental) or incremental files.

import { AccessValueState, AccessListState, AccessReducingState, AccessAggregatingState } from '../state-objects.ts'
import type { RootDatabase } from 'lmdb'
import { statSync } from 'node:fs'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import type { StateDescriptor } from '../../api/state.ts'
import { assignToKeyGroup, type KeyGroupRange } from '../key-groups.ts'
import { checkDescriptorKind, TtlPolicy, type KeyedStateBackend, type KeyedStateSnapshot, type SnapshotCapture, type SnapshotOptions, type StateFor } from '../keyed-state-backend.ts'
import { registerLmdbBackend, type BackendScope, type BackendSettings } from '../backend-factory.ts'
import { UserError, WeirError } from '../../errors.ts'
import { LMDB_INCREMENTAL_FORMAT, type LmdbIncrementalSnapshot } from './incremental-snapshot.ts'
import { removeEarlierAttempts, workingDirFor } from './working-dir.ts'
import { closeWorkingEnvironment, openWorkingEnvironment } from './working-environment.ts'
import { KEY_BUFFER_BYTES, KeyRef, storedUserKeys } from './lmdb-key-layout.ts'
import { CurrentKey } from './current-key.ts'
import { ReadCache } from './read-cache.ts'
import { KeyFilter } from './key-filter.ts'
import { committingEntries, DELETED, freezePending, frozenGet, heldCacheKeys, NO_GENERATIONS, TimestampedEncoder, unpackr, type Table, type Timestamped } from './write-generations.ts'
import { commitAll, ValueArena, type CommitContext } from './commit-writes.ts'
import { CommitsInFlight } from './commits-in-flight.ts'
import { LmdbMapState, mapRemoveAll } from './lmdb-map-state.ts'
import { cleanupSome, retimestamp } from './ttl-maintenance.ts'
import { StateTables } from './state-tables.ts'
import type { LmdbCapture } from './capture-view.ts'
import type { RestoreContext } from './lmdb-restore.ts'
import { LmdbSnapshots } from './lmdb-snapshots.ts'

export { LMDB_INCREMENTAL_FORMAT, type LmdbIncrementalSnapshot }

/** Entries of the read cache by default (state.backend.lmdb.cache-size). */
export const DEFAULT_CACHE_SIZE = 100_000

export interface LmdbBackendOptions {
  /** Entries the read cache holds, decoded (default 100 000). */
  readonly cacheSize?: number
  /** Commit pending writes to LMDB when this many distinct entries are pending (default: half the cache size). */
  readonly flushEvery?: number
  /** Incremental checkpoints: write a new base after this many deltas (default 10). */
  readonly maxDeltas?: number
  /** LMDB page size of the working database (default 16 KiB). */
  readonly pageSize?: number
  /**
   * Commits of fewer writes are synchronous (default ASYNC_MIN_WRITES, commits-in-flight.ts).
   * Internal, for tests: 0 makes every commit asynchronous, which small test data never reach.
   */
  readonly asyncMinWrites?: number
  /** Bytes of writes in flight to LMDB before a commit waits for the older ones (default MAX_BYTES_IN_FLIGHT, commits-in-flight.ts). Internal, for tests. */
  readonly maxBytesInFlight?: number
}

// Members without `private` below are used by the other files of this folder, not by callers.
export class LmdbKeyedStateBackend implements KeyedStateBackend {
  readonly type = 'lmdb'
  readonly maxParallelism: number
  /** The working directory of the LMDB environment. */
  readonly dir: string
  readonly db: RootDatabase<Buffer, any>
  private readonly tables = new StateTables()
  /** The current key, its cache key and LMDB key. */
  readonly key: CurrentKey
  private readonly cache: ReadCache
  /** The keys value-like states stored values under: reads of other keys skip LMDB. */
  private readonly filter = new KeyFilter()
  private readonly aux = new KeyRef(Buffer.allocUnsafe(KEY_BUFFER_BYTES))
  private readonly snap = new KeyRef(Buffer.allocUnsafe(KEY_BUFFER_BYTES))
  private readonly timestamped = new TimestampedEncoder()
  /** Distinct uncommitted entries (pending and frozen). */
  pendingEntries = 0
  /** Entries in the read caches (at most the cache size). */
  get cachedEntries(): number {
    return this.cache.entries
  }

  private readonly flushEvery: number
  /** The next commit is at this many uncommitted entries: `flushEvery` more than were held back. */
  private commitAt: number
  private disposed = false
  /** Captures in flight and the incremental chain (incremental only with a shared directory). */
  private readonly snapshots: LmdbSnapshots
  /** Lists ListState may extend in place: made since the last capture (copy-on-write after it). */
  private owned = new WeakSet<object>()
  private restores = 0
  private readonly restoreContext: RestoreContext
  private readonly commitContext: CommitContext
  /** Commit batches lmdb-js has not landed yet. */
  readonly commits: CommitsInFlight

  constructor(settings: BackendSettings, scope: BackendScope, readonly now: () => number = Date.now, options: LmdbBackendOptions = {}) {
    this.maxParallelism = scope.maxParallelism
    this.key = new CurrentKey(this.maxParallelism)
    const cacheSize = options.cacheSize ?? DEFAULT_CACHE_SIZE
    if (!(cacheSize >= 1)) throw new UserError('WEIR_INVALID_ARGUMENT', `the lmdb cache size must be at least 1, got ${cacheSize}`)
    this.cache = new ReadCache(cacheSize, () => this.tables.values())
    this.flushEvery = options.flushEvery ?? Math.max(1, Math.floor(cacheSize / 2))
    if (!(this.flushEvery >= 1)) throw new UserError('WEIR_INVALID_ARGUMENT', `flushEvery must be at least 1, got ${this.flushEvery}`)
    this.commitAt = this.flushEvery
    this.dir = workingDirFor(settings.localDir, settings.jobId, scope.operatorUid, scope.subtaskIndex, settings.attempt)
    const filePrefix = `lmdb-${scope.operatorUid.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 64)}-${scope.subtaskIndex}-${randomBytes(6).toString('hex')}`
    removeEarlierAttempts(settings.localDir, settings.jobId, scope.operatorUid, scope.subtaskIndex, settings.attempt)
    this.db = openWorkingEnvironment(this.dir, options.pageSize ?? 16384)
    this.snapshots = new LmdbSnapshots(this.db,
      { db: this.db, maxParallelism: this.maxParallelism, now: this.now, snapKey: this.snap, timestamped: this.timestamped, checkOpen: () => this.checkOpen() },
      { sharedDir: settings.incremental ? (settings.sharedDir ?? null) : null, filePrefix, maxDeltas: options.maxDeltas ?? 10 })
    const values = new ValueArena()
    this.commits = new CommitsInFlight(this.db, () => values.copied, options.asyncMinWrites, options.maxBytesInFlight)
    this.commitContext = { db: this.db, maxParallelism: this.maxParallelism, key: this.aux, timestamped: this.timestamped, filter: this.filter, commits: this.commits, values }
    this.restoreContext = {
      db: this.db,
      maxParallelism: this.maxParallelism,
      now: this.now,
      key: this.aux,
      timestamped: this.timestamped,
      restoreTable: (name, kind, timestamped, preferredId) => this.tables.forRestore(name, kind, timestamped, preferredId),
    }
  }

  setCurrentKey(key: unknown): void {
    this.key.set(key)
  }

  get currentKey(): unknown {
    return this.key.key
  }

  get currentMapKey(): unknown {
    return this.key.mapKey
  }

  // ---- States ----

  getState<D extends StateDescriptor>(descriptor: D): StateFor<D> {
    let table = this.tables.get(descriptor.name)
    if (table?.state) {
      checkDescriptorKind(descriptor.name, table.kind, descriptor.kind)
      return table.state as StateFor<D>
    }
    if (table) checkDescriptorKind(descriptor.name, table.kind, descriptor.kind)
    const ttl = descriptor.ttl ? new TtlPolicy(descriptor.ttl, this.now) : null
    table ??= this.tables.create(descriptor.name, descriptor.kind, ttl !== null, null)
    if ((ttl !== null) !== table.timestamped) {
      this.flush()
      this.cache.clear(this.tables.values())
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
    const ck = this.key.ck
    let p = table.pending.get(ck)
    if (p === undefined && table.frozen.length > 0) p = frozenGet(table.frozen, ck)
    if (p === undefined) p = table.cache.get(ck)
    if (p === undefined && table.committing.length > 0) p = frozenGet(table.committing, ck)
    if (p !== undefined) return p === DELETED ? undefined : p
    const ref = this.key.keyFor(table.id)
    if (!this.filter.mayContain(ref)) return undefined // never stored: no lookup
    const bytes = this.db.getBinaryFast(ref)
    // An absent key is not cached: a new key is mostly written right after (then pending holds it).
    if (bytes === undefined) return undefined
    const v = table.timestamped ? unpackr.unpack(bytes, { start: 8, end: bytes.length }) : unpackr.unpack(bytes)
    if (table.kind === 'list') this.owned.add(v as object) // a fresh decode
    const stored = table.timestamped ? ({ v, t: bytes.readDoubleBE(0) } satisfies Timestamped) : v
    this.cache.insert(table, ck, stored)
    return stored
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
      this.setPending(table, this.key.ck, DELETED)
      return undefined
    }
    if (ttl.refreshOnRead) this.setPending(table, this.key.ck, { v: ts.v, t: now })
    return ts.v
  }

  write(table: Table, value: unknown): void {
    if (value === undefined || value === null) this.setPending(table, this.key.ck, DELETED)
    else this.setPending(table, this.key.ck, table.timestamped ? { v: value, t: this.now() } : value)
  }

  remove(table: Table): void {
    if (table.kind === 'map') {
      mapRemoveAll(this, table)
      this.maybeFlush()
    } else {
      this.setPending(table, this.key.ck, DELETED)
    }
  }

  private setPending(table: Table, ck: unknown, stored: unknown): void {
    const p = table.pending
    const size = p.size
    p.set(ck, stored)
    if (p.size !== size && ++this.pendingEntries >= this.commitAt) this.commit(this.flushEvery >> 1)
  }

  /** Commits when enough is pending (map operations call it last: they hold a MapPending until then). */
  maybeFlush(): void {
    if (this.pendingEntries >= this.commitAt) this.commit(this.flushEvery >> 1)
  }

  cleanupSome(table: Table, ttl: TtlPolicy): void {
    cleanupSome(this, table, ttl)
  }

  // ---- Committing pending writes ----

  /** Commits every uncommitted write (frozen, then pending) to LMDB and waits until LMDB holds them. */
  flush(): void {
    this.commit(0)
    this.commits.settle()
  }

  /** Commits the uncommitted writes but up to `hold` pending writes of hot keys (see commitAll). */
  private commit(hold: number): void {
    if (this.pendingEntries === 0) return
    this.pendingEntries = commitAll(this.commitContext, this.tables.values(), this.snapshots.dirty, this.cache, hold)
    this.commitAt = this.pendingEntries + this.flushEvery
    // No frozen writes are left: the caches, held writes and commits in flight hold tokens.
    this.key.pruneTokens(this.cache.entries + this.pendingEntries + committingEntries(this.tables.values()), () => heldCacheKeys(this.tables.values()))
  }

  // ---- Snapshots ----

  /**
   * Synchronous phase, O(states) and nothing written or copied: freezes each state's pending
   * writes as a generation on top of the uncommitted ones (the capture's overlay; committed with
   * the next regular commit) and pins a read transaction, LMDB's consistent view of this moment
   * (MVCC; later commits do not touch it). Committing instead would take one LMDB write per
   * pending entry, 10-40 us each in a large tree.
   */
  captureSnapshot(checkpointId: number, options: SnapshotOptions): SnapshotCapture {
    this.checkOpen()
    this.commits.poll() // batches landed since leave the overlay (a failed one throws)
    const { gen, overlay, inFlight } = freezePending(this.tables.values(), (g) => this.commits.changes.has(g))
    // Lists in the overlay are shared with the capture from now on: copy before extending.
    this.owned = new WeakSet()
    const tables = [...this.tables.values()].map((t) => ({ name: t.name, id: t.id, kind: t.kind, ttl: t.ttl, timestamped: t.timestamped }))
    return this.snapshots.capture(checkpointId, options, gen, overlay, tables, inFlight)
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
    this.cache.clear(this.tables.values())
    const fresh = this.restores === 0 && this.tables.size === 0
    this.restores++
    try {
      this.snapshots.restore(this.restoreContext, snapshot, range, fresh)
    } finally {
      this.filter.rebuild(this.db) // whatever the restore wrote, even if it failed midway
    }
  }

  // ---- Lifecycle ----

  /** Size of the LMDB data file, in bytes. */
  storedBytes(): number {
    return statSync(join(this.dir, 'data.mdb')).size
  }

  dispose(): void {
    if (this.disposed) return
    this.disposed = true
    // The directory is removed after the batches in flight land (none will if one failed; then
    // the task fails with that error already).
    try {
      if (this.commits.failure === null) this.commits.settle()
    } catch {}
    this.commits.abandon(this.tables.values())
    this.snapshots.releaseAll()
    for (const t of this.tables.values()) {
      t.pending = new Map()
      t.frozen = NO_GENERATIONS
    }
    this.cache.clear(this.tables.values())
    closeWorkingEnvironment(this.dir, this.db)
  }

  private checkOpen(): void {
    if (this.disposed) throw new WeirError('WEIR_INTERNAL', 'the lmdb state backend was disposed')
  }
}

registerLmdbBackend((settings, scope) => new LmdbKeyedStateBackend(settings, scope, Date.now, settings.lmdbCacheSize !== undefined ? { cacheSize: settings.lmdbCacheSize } : {}))
