// Keyed state in an embedded LMDB environment on local disk (state.backend.type: lmdb), for
// state larger than memory. One environment per backend (one keyed operator in one subtask), in
// a working directory <state.backend.lmdb.localdir or the temp dir>/weir-lmdb-<job>-<uid>-
// <subtask>-<attempt>, removed by dispose().
//
// Layout of an LMDB key (big-endian):
//
//   [key group: u16][state id: u16][user key][map key]      map key: MapState entries only
//
// User and map keys are in key-codec.ts's self-delimiting byte form. The key group leads, so one
// key group's entries are contiguous and a snapshot reads in key-group order; within it a state's
// entries, then one user key's map entries, are contiguous too. State ids are small integers per
// state name, given at registration and recorded in snapshots. Values are MessagePack
// (msgpackr, no records); for a state with a TTL they are prefixed with the last write time
// (f64, 8 bytes). A MapState with a TTL also has a header entry per user key, under the key
// without a map key, holding only the time: the heap backend times a whole map, so does this.
//
// Reads are synchronous LMDB gets. Writes go to a per-state pending Map (decoded values, by
// key) and are committed to LMDB in one synchronous transaction every `flushEvery` distinct
// pending entries and at each snapshot; the committed batch stays as a decoded read cache until
// the next commit. Reads consult pending, then that cache, then LMDB. Values come back decoded
// (copies): plain data round-trips, a Map inside a value comes back as an object (msgpackr
// without records). Composite map keys of a MapState are compared by JSON value, not identity.
//
// Snapshots: the synchronous phase freezes the uncommitted writes (an overlay, committed with the
// next regular commit) and pins an LMDB read transaction (MVCC: a consistent view that later
// commits do not touch; nothing is copied or written). The asynchronous phase reads view and
// overlay merged, in chunks, yielding to the task between them, and writes either the canonical
// format (savepoints; checkpoints unless incremental) or incremental files: see segment-file.ts
// and writeIncremental below.

import { AccessValueState, AccessReducingState, AccessAggregatingState } from '../state-objects.ts'
import { open, type RootDatabase, type Transaction } from 'lmdb'
import { Packr, Unpackr } from 'msgpackr'
import { rmSync, statSync } from 'node:fs'
import { ensureDirSync } from '../../io/directories.ts'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import type { StateDescriptor, ListState, MapState, StateKind } from '../../api/state.ts'
import { assignToKeyGroup, type KeyGroupRange } from '../key-groups.ts'
import { checkDescriptorKind, TtlPolicy, type CanonicalStateEntries, type KeyedStateBackend, type KeyedStateSnapshot, type SnapshotCapture, type SnapshotOptions, type StateFor } from '../keyed-state-backend.ts'
import { registerLmdbBackend, type BackendScope, type BackendSettings } from '../backend-factory.ts'
import { UserError, WeirError } from '../../errors.ts'
import { decodeKey, decodeKeyText, decodedComposite, decodedEnd, encodeCompositeText, encodeKey } from './key-codec.ts'
import { forEachSegmentEntry, readSegment, SegmentWriter, type SegmentRef } from './segment-file.ts'
import { LMDB_INCREMENTAL_FORMAT, type LmdbIncrementalSnapshot } from './incremental-snapshot.ts'
import { removeEarlierAttempts, workingDirFor } from './working-dir.ts'

export { LMDB_INCREMENTAL_FORMAT, type LmdbIncrementalSnapshot }

/** LMDB's largest key (lmdb-js builds LMDB with this limit). */
const MAX_KEY_BYTES = 1978
const KEY_BUFFER_BYTES = 8192
/** Snapshots and scans read this many entries per LMDB range query. */
const SCAN_CHUNK = 4096
/** The asynchronous phase yields to the task after this long. */
const SLICE_MS = 4
/** Incremental TTL cleanup runs every this many accesses, over this many times the configured entries. */
const CLEANUP_EVERY = 32
/** Restores commit every this many entries. */
const RESTORE_BATCH = 50_000

const DELETED: unique symbol = Symbol('deleted')

export interface LmdbBackendOptions {
  /** Commit pending writes to LMDB when this many distinct entries are pending (default 20 000). */
  readonly flushEvery?: number
  /** Incremental checkpoints: write a new base after this many deltas (default 10). */
  readonly maxDeltas?: number
  /** LMDB page size of the working database (default 16 KiB). */
  readonly pageSize?: number
}

/** A composite key (array, object), interned by its JSON text while it has pending writes. */
interface KeyToken {
  readonly key: unknown
  readonly text: string
  readonly kg: number
}

interface Timestamped {
  readonly v: unknown
  readonly t: number
}

/** Pending changes of one user key's map. */
interface MapPending {
  /** Everything stored for this user key is dropped before `entries` apply. */
  cleared: boolean
  /** By map-key cache key: the value, or DELETED. */
  readonly entries: Map<unknown, unknown>
  /** Timed maps: the new write time of the map (undefined: unchanged). */
  t: number | undefined
}

interface Table {
  readonly name: string
  readonly id: number
  kind: StateKind
  ttl: TtlPolicy | null
  /** Whether stored values carry a write time (and, for maps, header entries). */
  timestamped: boolean
  /** Writes not yet in LMDB, by cache key: value (timestamped: {v, t}) or DELETED; maps: MapPending. */
  pending: Map<unknown, unknown>
  /**
   * Writes frozen by a snapshot capture and not yet committed (same form as pending), newer
   * than LMDB and older than pending. Never modified: captures read them asynchronously.
   */
  frozen: Map<unknown, unknown> | null
  /** Value-like states: the writes of the last commit, kept decoded as a read cache until the next. */
  clean: Map<unknown, unknown>
  cleanupCursor: Buffer | null
  cleanupCountdown: number
  state: unknown
}

interface Chain {
  readonly checkpointId: number
  readonly base: readonly SegmentRef[]
  readonly deltas: ReadonlyArray<{ readonly checkpointId: number; readonly segments: readonly SegmentRef[] }>
  readonly baseBytes: number
  readonly deltaBytes: number
}

/** One state's writes of one generation (a pending Map swapped out by a capture). */
interface GenTable {
  readonly id: number
  readonly kind: StateKind
  readonly timestamped: boolean
  readonly entries: ReadonlyMap<unknown, unknown>
}

/** Keys changed between two captures: committed ones (LMDB key text) and the frozen writes. */
interface Changes {
  readonly dirty: Set<string>
  readonly gens: GenTable[][]
}

interface LmdbCapture {
  readonly checkpointId: number
  /** LMDB's view at the capture; `overlay` (uncommitted writes) lies on top of it. */
  readonly txn: Transaction
  readonly overlay: readonly GenTable[]
  readonly tables: ReadonlyArray<{ name: string; id: number; kind: StateKind; ttl: TtlPolicy | null; timestamped: boolean }>
  /** Incremental: a full base, or a delta on `base` with the changes since it. */
  readonly incremental: { readonly full: boolean; readonly base: Chain | null; readonly changes: readonly Changes[] } | null
  done: boolean
}

/** A capture's overlay as LMDB entries. */
interface RawOverlay {
  /** Sorted by key; value null: deleted. */
  readonly points: Array<[Buffer, Buffer | null]>
  readonly byKey: Map<string, Buffer | null>
  /** Key texts of [key group][state id][user key] of maps cleared in the overlay: stored entries under them are gone. */
  readonly cleared: Set<string>
}

/** An LMDB key held in a buffer; the key encoder copies it, so no Buffer is cut per access. */
class KeyRef {
  len = 0
  constructor(readonly buf: Buffer) {}
}

const packr = new Packr({ useRecords: false, moreTypes: true })
const unpackr = new Unpackr({ useRecords: false, moreTypes: true })

/** Working directories of live backends, removed at process exit if dispose() was never called. */
const liveDirs = new Set<string>()
let exitHookInstalled = false

export class LmdbKeyedStateBackend implements KeyedStateBackend {
  readonly type = 'lmdb'
  currentKey: unknown = undefined
  currentMapKey: unknown = undefined
  readonly maxParallelism: number
  /** The working directory of the LMDB environment. */
  readonly dir: string
  private readonly db: RootDatabase<Buffer, any>
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
  private valueBuf = Buffer.allocUnsafe(64 * 1024)
  private tokens = new Map<string, KeyToken>()
  /** Tokens of composite keys in the clean caches. */
  private cleanTokens = new Map<string, KeyToken>()
  private pendingEntries = 0
  private readonly flushEvery: number
  private readonly maxDeltas: number
  private readonly captures = new Set<LmdbCapture>()
  private disposed = false
  // Incremental checkpoints (only with a shared directory and state.backend.incremental).
  private readonly sharedDir: string | null
  private readonly filePrefix: string
  /** Keys (latin1 text of the LMDB key) committed since the last incremental capture. */
  private dirty: Set<string> | null
  /** Writes frozen by captures since the last incremental capture (savepoints freeze too). */
  private dirtyGens: GenTable[][] = []
  /** Incremental captures not yet confirmed complete, oldest first, with the changes each saw. */
  private unconfirmed: Array<{ id: number; changes: Changes; chain: Chain | null }> = []
  /** Lists ListState may extend in place: made since the last capture (copy-on-write after it). */
  private owned = new WeakSet<object>()
  /** The chain of the last checkpoint confirmed complete: the base of the next delta. */
  private confirmed: Chain | null = null
  private restores = 0

  constructor(settings: BackendSettings, scope: BackendScope, private readonly now: () => number = Date.now, options: LmdbBackendOptions = {}) {
    this.maxParallelism = scope.maxParallelism
    this.flushEvery = options.flushEvery ?? 20_000
    this.maxDeltas = options.maxDeltas ?? 10
    if (!(this.flushEvery >= 1)) throw new UserError('WEIR_INVALID_ARGUMENT', `flushEvery must be at least 1, got ${this.flushEvery}`)
    this.sharedDir = settings.incremental ? (settings.sharedDir ?? null) : null
    this.dirty = this.sharedDir !== null ? new Set() : null
    this.dir = workingDirFor(settings.localDir, settings.jobId, scope.operatorUid, scope.subtaskIndex, settings.attempt)
    this.filePrefix = `lmdb-${scope.operatorUid.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 64)}-${scope.subtaskIndex}-${randomBytes(6).toString('hex')}`
    // Directories left by a process or worker that ended without dispose() hold nothing we can use.
    rmSync(this.dir, { recursive: true, force: true })
    removeEarlierAttempts(settings.localDir, settings.jobId, scope.operatorUid, scope.subtaskIndex, settings.attempt)
    ensureDirSync(this.dir)
    liveDirs.add(this.dir)
    if (!exitHookInstalled) {
      exitHookInstalled = true
      process.once('exit', () => {
        for (const d of liveDirs) rmSync(d, { recursive: true, force: true })
      })
    }
    const keyEncoder = {
      writeKey(key: unknown, target: Uint8Array, start: number): number {
        if (key instanceof KeyRef) {
          const { buf, len } = key
          if (len <= 64) for (let i = 0; i < len; i++) target[start + i] = buf[i]!
          else buf.copy(target, start, 0, len)
          return start + len
        }
        target.set(key as Uint8Array, start)
        return start + (key as Uint8Array).length
      },
      readKey(source: Uint8Array, start: number, end: number): Buffer {
        return Buffer.from(source.subarray(start, end))
      },
    }
    this.db = open({
      path: this.dir,
      noSubdir: false,
      pageSize: options.pageSize ?? 16384,
      keyEncoder,
      encoding: 'binary',
      compression: false,
      cache: false,
      // A working copy: durability comes from checkpoints, so no fsync.
      noSync: true,
      noMetaSync: true,
      noMemInit: true,
      overlappingSync: false,
    } as Parameters<typeof open>[0]) as RootDatabase<Buffer, any>
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

  private intern(text: string, key: unknown): KeyToken {
    let token = this.tokens.get(text)
    if (token === undefined) {
      token = this.cleanTokens.get(text) ?? { key, text, kg: assignToKeyGroup(key, this.maxParallelism) }
      this.tokens.set(text, token)
    }
    return token
  }

  /** The cache key of a map key (composite map keys by their JSON text, as user keys). */
  private mapCacheKey(mk: unknown): unknown {
    return typeof mk === 'object' && mk !== null ? this.intern(JSON.stringify(mk), mk) : mk
  }

  /** Writes [key group][state id][user key] of cache key `ck` into `ref`; returns the end. */
  private encodeCacheKey(ck: unknown, sid: number, ref: KeyRef): number {
    const b = ref.buf
    let end: number
    if (isToken(ck)) {
      const token = ck as KeyToken
      if (token.text.length > MAX_KEY_BYTES) throw keyTooLong(token.text.length)
      b.writeUInt16BE(token.kg, 0)
      end = encodeCompositeText(token.text, b, 4)
    } else {
      if (typeof ck === 'string' && ck.length > MAX_KEY_BYTES) throw keyTooLong(ck.length)
      b.writeUInt16BE(assignToKeyGroup(ck, this.maxParallelism), 0)
      end = encodeKey(ck, b, 4)
    }
    if (end > MAX_KEY_BYTES) throw keyTooLong(end)
    b[2] = sid >> 8
    b[3] = sid & 0xff
    ref.len = end
    return end
  }

  /** The current key's LMDB key for `table` (value-like states; map states: the header). */
  private keyFor(table: Table): KeyRef {
    const ref = this.cur
    if (!this.keyReady) {
      if (this.currentKey === undefined) throw new WeirError('WEIR_INTERNAL', 'keyed state accessed with no current key')
      this.ukEnd = this.encodeCacheKey(this.ck, table.id, ref)
      this.keyReady = true
    } else {
      ref.buf[2] = table.id >> 8
      ref.buf[3] = table.id & 0xff
    }
    ref.len = this.ukEnd
    return ref
  }

  /** The LMDB key of map entry `mk` of the current key in `table`. */
  private entryKeyFor(table: Table, mk: unknown): KeyRef {
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
    if ((ttl !== null) !== table.timestamped) this.retimestamp(table, ttl !== null)
    table.ttl = ttl
    table.state = this.createState(descriptor, table)
    return table.state as StateFor<D>
  }

  keys(stateName: string): Iterable<unknown> {
    const table = this.tables.get(stateName)
    if (!table) return []
    this.flush()
    const out: unknown[] = []
    for (let kg = 0; kg < this.maxParallelism; kg++) {
      let last: Buffer | null = null
      for (const key of this.db.getKeys(stateRange(kg, table.id)) as Iterable<Buffer>) {
        const uk = decodeKey(key, 4)
        const end = decodedEnd
        if (table.kind === 'map') {
          if (last !== null && last.length === end && key.compare(last, 0, end, 0, end) === 0) continue
          last = key.subarray(0, end)
        }
        out.push(uk)
      }
    }
    return out
  }

  private newTable(name: string, kind: StateKind, timestamped: boolean, preferredId: number | null): Table {
    let id = preferredId !== null && !this.byId.has(preferredId) ? preferredId : this.nextId
    while (this.byId.has(id)) id++
    if (id > 0xfffe) throw new UserError('WEIR_INVALID_JOB', `too many keyed states in one operator (the lmdb backend numbers them up to ${0xfffe})`)
    this.nextId = Math.max(this.nextId, id + 1)
    const table: Table = { name, id, kind, ttl: null, timestamped, pending: new Map(), frozen: null, clean: new Map(), cleanupCursor: null, cleanupCountdown: CLEANUP_EVERY, state: null }
    this.tables.set(name, table)
    this.byId.set(id, table)
    return table
  }

  private createState(descriptor: StateDescriptor, table: Table): unknown {
    switch (descriptor.kind) {
      case 'value':
        return new AccessValueState(this, table, descriptor.defaultValue)
      case 'list':
        return new LmdbListState(this, table)
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
    if (p === undefined && table.frozen !== null) p = table.frozen.get(this.ck)
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
  private maybeFlush(): void {
    if (this.pendingEntries >= this.flushEvery) this.flush()
  }

  // ---- map states ----

  private mapPending(table: Table): MapPending {
    let mp = table.pending.get(this.ck) as MapPending | undefined
    if (mp === undefined) {
      mp = { cleared: false, entries: new Map(), t: undefined }
      table.pending.set(this.ck, mp)
      this.pendingEntries++
    }
    return mp
  }

  /** The current key's uncommitted map changes, newest first (pending, then frozen). */
  private mapLayers(table: Table): MapPending[] {
    const layers: MapPending[] = []
    const p = table.pending.get(this.ck) as MapPending | undefined
    if (p !== undefined) layers.push(p)
    const f = table.frozen?.get(this.ck) as MapPending | undefined
    if (f !== undefined) layers.push(f)
    return layers
  }

  /** Whether the current key's map may be read (TTL: present and unexpired, or visible expired); refreshes on read. */
  mapVisible(table: Table): boolean {
    const ttl = table.ttl
    if (ttl === null) return true
    if (ttl.cleanupIncrementally > 0) this.cleanupSome(table, ttl)
    let t: number | undefined
    let known = false
    for (const layer of this.mapLayers(table)) {
      if (layer.t !== undefined || layer.cleared) {
        t = layer.t
        known = true
        break
      }
    }
    if (!known) {
      const bytes = this.db.getBinaryFast(this.keyFor(table))
      t = bytes === undefined ? undefined : bytes.readDoubleBE(0)
    }
    if (t === undefined) return false
    const now = this.now()
    if (ttl.isExpired(t, now)) {
      if (ttl.returnExpired) return true
      this.mapRemoveAll(table)
      return false
    }
    if (ttl.refreshOnRead) {
      this.mapPending(table).t = now
      this.maybeFlush()
    }
    return true
  }

  mapGet(table: Table, mk: unknown): unknown {
    if (!this.mapVisible(table)) return undefined
    return this.mapGetRaw(table, mk)
  }

  private mapGetRaw(table: Table, mk: unknown): unknown {
    const layers = this.mapLayers(table)
    if (layers.length > 0) {
      const mck = this.mapCacheKey(mk)
      for (const mp of layers) {
        if (mp.entries.has(mck)) {
          const v = mp.entries.get(mck)
          return v === DELETED ? undefined : v
        }
        if (mp.cleared) return undefined
      }
    }
    const bytes = this.db.getBinaryFast(this.entryKeyFor(table, mk))
    return bytes === undefined ? undefined : unpackr.unpack(bytes)
  }

  mapContains(table: Table, mk: unknown): boolean {
    if (!this.mapVisible(table)) return false
    return this.mapContainsRaw(table, mk)
  }

  private mapContainsRaw(table: Table, mk: unknown): boolean {
    const layers = this.mapLayers(table)
    if (layers.length > 0) {
      const mck = this.mapCacheKey(mk)
      for (const mp of layers) {
        if (mp.entries.has(mck)) return mp.entries.get(mck) !== DELETED
        if (mp.cleared) return false
      }
    }
    return this.db.getBinaryFast(this.entryKeyFor(table, mk)) !== undefined
  }

  mapPut(table: Table, entries: Iterable<readonly [unknown, unknown]>): void {
    if (table.ttl !== null) this.mapVisible(table)
    const mp = this.mapPending(table)
    let added = 0
    for (const [k, v] of entries) {
      const size = mp.entries.size
      mp.entries.set(this.mapCacheKey(k), v)
      if (mp.entries.size !== size) added++
    }
    if (table.timestamped) mp.t = this.now()
    this.pendingEntries += added
    this.maybeFlush()
  }

  mapRemove(table: Table, mk: unknown): void {
    if (!this.mapContains(table, mk)) return
    const mp = this.mapPending(table)
    const size = mp.entries.size
    mp.entries.set(this.mapCacheKey(mk), DELETED)
    this.pendingEntries += mp.entries.size - size
    if (table.timestamped) mp.t = this.now()
    if (this.mapEmptyRaw(table)) this.mapRemoveAll(table)
    this.maybeFlush()
  }

  /** Every entry of the current key's map, stored and pending merged. */
  mapEntries(table: Table): Map<unknown, unknown> {
    const out = new Map<unknown, unknown>()
    if (!this.mapVisible(table)) return out
    const byCk = new Map<unknown, [unknown, unknown]>()
    const layers = this.mapLayers(table)
    // Apply the layers oldest first, from the newest one that cleared the map (or from LMDB).
    let from = layers.findIndex((l) => l.cleared)
    if (from < 0) {
      from = layers.length - 1
      const prefix = this.keyFor(table)
      const start = Buffer.from(prefix.buf.subarray(0, prefix.len))
      for (const { key, value } of this.db.getRange({ start, end: prefixEnd(start) }) as Iterable<{ key: Buffer; value: Buffer }>) {
        if (key.length === start.length) continue // the TTL header
        const text = decodeKeyText(key, start.length)
        const mk = decodedComposite ? JSON.parse(text as string) : text
        const mck = decodedComposite ? this.intern(text as string, mk) : mk
        byCk.set(mck, [mk, unpackr.unpack(value)])
      }
    }
    for (let i = from; i >= 0; i--) {
      for (const [mck, v] of layers[i]!.entries) {
        if (v === DELETED) byCk.delete(mck)
        else byCk.set(mck, [isToken(mck) ? (mck as KeyToken).key : mck, v])
      }
    }
    for (const [k, v] of byCk.values()) out.set(k, v)
    return out
  }

  mapIsEmpty(table: Table): boolean {
    if (!this.mapVisible(table)) return true
    return this.mapEmptyRaw(table)
  }

  private mapEmptyRaw(table: Table): boolean {
    const layers = this.mapLayers(table)
    for (let i = 0; i < layers.length; i++) {
      for (const [mck, v] of layers[i]!.entries) {
        if (v === DELETED) continue
        let shadowed = false
        for (let j = 0; j < i && !shadowed; j++) shadowed = layers[j]!.entries.has(mck)
        if (!shadowed) return false
      }
      if (layers[i]!.cleared) return true
    }
    const prefix = this.keyFor(table)
    const start = Buffer.from(prefix.buf.subarray(0, prefix.len))
    for (const key of this.db.getKeys({ start, end: prefixEnd(start) }) as Iterable<Buffer>) {
      if (key.length === start.length) continue
      if (layers.length === 0) return false
      const text = decodeKeyText(key, start.length)
      const mck = decodedComposite ? this.intern(text as string, JSON.parse(text as string)) : text
      if (!layers.some((l) => l.entries.has(mck))) return false
    }
    return true
  }

  /** Drops the current key's whole map (pending entries and stored ones, at the next commit). */
  mapRemoveAll(table: Table): void {
    const mp = this.mapPending(table)
    mp.cleared = true
    mp.entries.clear()
    mp.t = undefined
  }

  // ---- TTL cleanup ----

  /** Every CLEANUP_EVERY accesses, checks CLEANUP_EVERY * cleanupIncrementally stored entries for expiry. */
  private cleanupSome(table: Table, ttl: TtlPolicy): void {
    if (--table.cleanupCountdown > 0) return
    table.cleanupCountdown = CLEANUP_EVERY
    const budget = ttl.cleanupIncrementally * CLEANUP_EVERY
    const now = this.now()
    let checked = 0
    let scanned = 0
    let last: Buffer | null = null
    const start = table.cleanupCursor ?? Buffer.alloc(1)
    const expired: unknown[] = []
    for (const { key, value } of this.db.getRange({ start, exclusiveStart: table.cleanupCursor !== null, limit: budget * 4 }) as Iterable<{ key: Buffer; value: Buffer }>) {
      scanned++
      last = key
      if (((key[2]! << 8) | key[3]!) !== table.id) continue
      const text = decodeKeyText(key, 4)
      if (table.kind === 'map' && decodedEnd !== key.length) continue // an entry: the header times the map
      checked++
      if (ttl.isExpired(value.readDoubleBE(0), now)) expired.push(decodedComposite ? this.intern(text as string, JSON.parse(text as string)) : text)
      if (checked >= budget) break
    }
    table.cleanupCursor = scanned < budget * 4 && checked < budget ? null : last
    for (const ck of expired) {
      if (table.pending.has(ck) || table.frozen?.has(ck)) continue
      table.pending.set(ck, table.kind === 'map' ? ({ cleared: true, entries: new Map(), t: undefined } satisfies MapPending) : DELETED)
      this.pendingEntries++
    }
  }

  // ---------------------------------------------------------------------------------------
  // Committing pending writes
  // ---------------------------------------------------------------------------------------

  /** Commits every uncommitted write (frozen, then pending) to LMDB in one transaction. */
  flush(): void {
    if (this.pendingEntries === 0) return
    const db = this.db
    const dirty = this.dirty
    db.transactionSync(() => {
      for (const table of this.tables.values()) {
        // Frozen writes are already accounted for as changes of the captures that froze them.
        if (table.frozen !== null) {
          if (table.kind === 'map') this.flushMapTable(table, table.frozen, null, null)
          else this.flushValueTable(table, table.frozen, null)
        }
        if (table.pending.size === 0) continue
        if (table.kind === 'map') this.flushMapTable(table, table.pending, dirty, dirty)
        else this.flushValueTable(table, table.pending, dirty)
      }
    })
    // What was just committed stays readable, decoded, until the next commit: a key written in
    // either of the last two batches is not read from LMDB (hot keys of skewed streams). Values
    // there may be extended in place by ListState, as on the heap: LMDB already holds the
    // committed bytes, and the write that follows puts them in pending.
    for (const table of this.tables.values()) {
      if (table.kind !== 'map') table.clean = table.pending.size > 0 || table.frozen === null ? table.pending : table.frozen
      table.pending = new Map()
      table.frozen = null
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

  private flushValueTable(table: Table, gen: Map<unknown, unknown>, dirty: Set<string> | null): void {
    const db = this.db
    const ref = this.aux
    for (const [ck, stored] of gen) {
      this.encodeCacheKey(ck, table.id, ref)
      if (stored === DELETED) db.removeSync(ref)
      else db.putSync(ref, table.timestamped ? this.timestampedBytes((stored as Timestamped).v, (stored as Timestamped).t) : packr.pack(stored))
      if (dirty !== null) dirty.add(ref.buf.toString('latin1', 0, ref.len))
    }
  }

  private flushMapTable(table: Table, gen: Map<unknown, unknown>, dirty: Set<string> | null, dirtyRanges: Set<string> | null): void {
    const db = this.db
    const ref = this.aux
    for (const [ck, mpv] of gen) {
      const mp = mpv as MapPending
      const prefixLen = this.encodeCacheKey(ck, table.id, ref)
      if (mp.cleared) {
        const start = Buffer.from(ref.buf.subarray(0, prefixLen))
        const doomed = [...(db.getKeys({ start, end: prefixEnd(start) }) as Iterable<Buffer>)]
        for (const k of doomed) {
          db.removeSync(k)
          if (dirtyRanges !== null) dirtyRanges.add(k.toString('latin1'))
        }
      }
      if (table.timestamped && mp.t !== undefined) {
        ref.len = prefixLen
        db.putSync(ref, this.timeBytes(mp.t))
        if (dirty !== null) dirty.add(ref.buf.toString('latin1', 0, prefixLen))
      }
      for (const [mck, v] of mp.entries) {
        ref.len = isToken(mck) ? writeMapKey((mck as KeyToken).key, ref.buf, prefixLen, (mck as KeyToken).text) : writeMapKey(mck, ref.buf, prefixLen)
        if (v === DELETED) db.removeSync(ref)
        else db.putSync(ref, packr.pack(v))
        if (dirty !== null) dirty.add(ref.buf.toString('latin1', 0, ref.len))
      }
    }
  }

  private timestampedBytes(v: unknown, t: number): Buffer {
    const packed = packr.pack(v)
    if (this.valueBuf.length < packed.length + 8) this.valueBuf = Buffer.allocUnsafe(packed.length * 2 + 8)
    this.valueBuf.writeDoubleBE(t, 0)
    packed.copy(this.valueBuf, 8)
    return this.valueBuf.subarray(0, packed.length + 8)
  }

  private timeBytes(t: number): Buffer {
    const b = Buffer.allocUnsafe(8)
    b.writeDoubleBE(t, 0)
    return b
  }

  /** Adds or strips write times on every stored value of a state whose TTL setting changed. */
  private retimestamp(table: Table, timestamped: boolean): void {
    this.flush()
    this.dropCaches()
    const now = this.now()
    const db = this.db
    for (let kg = 0; kg < this.maxParallelism; kg++) {
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
                db.putSync(lastUk, this.timeBytes(now))
                this.dirty?.add(lastUk.toString('latin1'))
              }
            } else if (ukEnd === key.length) {
              db.removeSync(key)
              this.dirty?.add(key.toString('latin1'))
            }
          } else {
            if (timestamped) {
              const b = Buffer.allocUnsafe(value.length + 8)
              b.writeDoubleBE(now, 0)
              value.copy(b, 8)
              db.putSync(key, b)
            } else {
              db.putSync(key, value.subarray(8))
            }
            this.dirty?.add(key.toString('latin1'))
          }
        }
      })
    }
    table.timestamped = timestamped
  }

  // ---------------------------------------------------------------------------------------
  // Snapshots
  // ---------------------------------------------------------------------------------------

  /**
   * Synchronous phase, O(uncommitted writes) in memory and nothing written: freezes the
   * uncommitted writes as the capture's overlay (they are committed with the next regular
   * commit) and pins a read transaction, LMDB's consistent view of this moment (MVCC; later
   * commits do not touch it). Committing instead would take one LMDB write per pending entry,
   * 10-40 us each in a large tree.
   */
  captureSnapshot(checkpointId: number, options: SnapshotOptions): SnapshotCapture {
    this.checkOpen()
    const overlay: GenTable[] = []
    const gen: GenTable[] = []
    let uncommitted = 0
    for (const table of this.tables.values()) {
      const pending = table.pending
      if (pending.size > 0) {
        gen.push({ id: table.id, kind: table.kind, timestamped: table.timestamped, entries: pending })
        table.frozen = table.frozen === null ? pending : mergeGenerations(table.kind, table.frozen, pending)
        table.pending = new Map()
      }
      if (table.frozen !== null) {
        overlay.push({ id: table.id, kind: table.kind, timestamped: table.timestamped, entries: table.frozen })
        uncommitted += table.frozen.size
      }
    }
    this.pendingEntries = uncommitted
    // Lists in the overlay are shared with the capture from now on: copy before extending.
    this.owned = new WeakSet()
    const txn = this.db.useReadTransaction()
    let incremental: LmdbCapture['incremental'] = null
    if (this.dirty !== null) {
      if (gen.length > 0) this.dirtyGens.push(gen)
      if (!options.savepoint) {
        // Without completions (notifyCheckpointComplete) deltas cannot be based on anything
        // safe: past a bound, forget the unconfirmed changes and write full checkpoints.
        if (this.unconfirmed.length >= 2 * this.maxDeltas) {
          this.unconfirmed = []
          this.confirmed = null
        }
        this.unconfirmed.push({ id: checkpointId, changes: { dirty: this.dirty, gens: this.dirtyGens }, chain: null })
        this.dirty = new Set()
        this.dirtyGens = []
        const base = this.confirmed
        const full = base === null || base.deltas.length >= this.maxDeltas || base.deltaBytes > base.baseBytes
        incremental = { full, base, changes: full ? [] : this.unconfirmed.filter((u) => u.id > base!.checkpointId).map((u) => u.changes) }
      }
    }
    const capture: LmdbCapture = {
      checkpointId,
      txn,
      overlay,
      tables: [...this.tables.values()].map((t) => ({ name: t.name, id: t.id, kind: t.kind, ttl: t.ttl, timestamped: t.timestamped })),
      incremental,
      done: false,
    }
    this.captures.add(capture)
    return capture
  }

  /** Asynchronous phase: the canonical format, or incremental files plus the snapshot that lists them. */
  async materializeSnapshot(captured: SnapshotCapture): Promise<KeyedStateSnapshot> {
    const capture = captured as LmdbCapture
    if (capture.done) throw new WeirError('WEIR_INTERNAL', `snapshot ${capture.checkpointId} was already materialized or released`)
    try {
      return capture.incremental !== null ? await this.writeIncremental(capture) : await this.toCanonical(capture)
    } finally {
      this.release(capture)
    }
  }

  notifyCheckpointComplete(checkpointId: number): void {
    const i = this.unconfirmed.findIndex((u) => u.id === checkpointId)
    if (i < 0 || this.unconfirmed[i]!.chain === null) return
    this.confirmed = this.unconfirmed[i]!.chain
    this.unconfirmed = this.unconfirmed.slice(i + 1)
  }

  private release(capture: LmdbCapture): void {
    if (capture.done) return
    capture.done = true
    this.captures.delete(capture)
    capture.txn.done()
  }

  /** The capture's overlay as LMDB entries (values serialized now: they are not changed after a capture). */
  private rawOverlay(capture: LmdbCapture): RawOverlay {
    const byKey = new Map<string, Buffer | null>()
    const cleared = new Set<string>()
    const ref = this.snap
    for (const t of capture.overlay) {
      for (const [ck, stored] of t.entries) {
        const prefixLen = this.encodeCacheKey(ck, t.id, ref)
        const prefix = ref.buf.toString('latin1', 0, prefixLen)
        if (t.kind !== 'map') {
          if (stored === DELETED) byKey.set(prefix, null)
          else byKey.set(prefix, Buffer.from(t.timestamped ? this.timestampedBytes((stored as Timestamped).v, (stored as Timestamped).t) : packr.pack(stored)))
          continue
        }
        const mp = stored as MapPending
        if (mp.cleared) {
          cleared.add(prefix)
          byKey.set(prefix, null)
        }
        if (t.timestamped && mp.t !== undefined) byKey.set(prefix, this.timeBytes(mp.t))
        for (const [mck, v] of mp.entries) {
          ref.len = isToken(mck) ? writeMapKey((mck as KeyToken).key, ref.buf, prefixLen, (mck as KeyToken).text) : writeMapKey(mck, ref.buf, prefixLen)
          byKey.set(ref.buf.toString('latin1', 0, ref.len), v === DELETED ? null : Buffer.from(packr.pack(v)))
        }
      }
    }
    const keys = [...byKey.keys()].sort()
    return { points: keys.map((k) => [Buffer.from(k, 'latin1'), byKey.get(k)!]), byKey, cleared }
  }

  /** Whether a stored entry lies under a map the overlay cleared. */
  private hiddenByClear(raw: RawOverlay, kinds: ReadonlyMap<number, StateKind>, key: Buffer): boolean {
    if (raw.cleared.size === 0 || kinds.get((key[2]! << 8) | key[3]!) !== 'map') return false
    decodeKey(key, 4)
    return raw.cleared.has(key.toString('latin1', 0, decodedEnd))
  }

  /** Every entry of the capture's view (LMDB's, under the overlay) in key order. */
  private async mergedScan(capture: LmdbCapture, raw: RawOverlay, onEntry: (key: Buffer, value: Buffer) => void, between?: () => Promise<void>): Promise<void> {
    const points = raw.points
    const kinds = new Map(capture.tables.map((t) => [t.id, t.kind]))
    let i = 0
    await this.scan(capture, (key, value) => {
      while (i < points.length) {
        const [pk, pv] = points[i]!
        const c = pk.compare(key)
        if (c > 0) break
        i++
        if (pv !== null) onEntry(pk, pv)
        if (c === 0) return
      }
      if (!this.hiddenByClear(raw, kinds, key)) onEntry(key, value)
    }, between)
    for (; i < points.length; i++) if (points[i]![1] !== null) onEntry(points[i]![0], points[i]![1]!)
  }

  /** Reads every entry of the capture's LMDB view in key order, in chunks, yielding between them. */
  private async scan(capture: LmdbCapture, onEntry: (key: Buffer, value: Buffer) => void, between?: () => Promise<void>): Promise<void> {
    let start: Buffer | undefined
    let slice = performance.now()
    for (;;) {
      this.checkOpen()
      let n = 0
      let last: Buffer | undefined
      for (const { key, value } of this.db.getRange({ start, exclusiveStart: start !== undefined, limit: SCAN_CHUNK, transaction: capture.txn }) as Iterable<{ key: Buffer; value: Buffer }>) {
        onEntry(key, value)
        last = key
        n++
      }
      if (between) await between()
      if (n < SCAN_CHUNK) return
      start = last
      if (performance.now() - slice > SLICE_MS) {
        await yieldToTask()
        slice = performance.now()
      }
    }
  }

  private async toCanonical(capture: LmdbCapture): Promise<KeyedStateSnapshot> {
    const states: Record<string, CanonicalStateEntries> = {}
    const byId = new Map<number, { t: LmdbCapture['tables'][number]; flat: unknown[] }>()
    for (const t of capture.tables) {
      const flat: unknown[] = []
      states[t.name] = { kind: t.kind, ttl: t.timestamped, entries: flat }
      byId.set(t.id, { t, flat })
    }
    const now = this.now()
    // A map is emitted when the scan leaves its user key.
    let open: { flat: unknown[]; t: LmdbCapture['tables'][number]; kg: number; key: unknown; prefix: Buffer; time: number | undefined; pairs: Array<[unknown, unknown]> } | null = null
    const closeMap = () => {
      if (open === null) return
      const o = open
      open = null
      if (o.pairs.length === 0) return
      if (o.t.timestamped) {
        const time = o.time ?? now
        if (o.t.ttl !== null && o.t.ttl.cleanupFullSnapshot && o.t.ttl.isExpired(time, now)) return
        o.flat.push(o.kg, o.key, [o.pairs, time])
      } else {
        o.flat.push(o.kg, o.key, o.pairs)
      }
    }
    await this.mergedScan(capture, this.rawOverlay(capture), (key, value) => {
      const sid = (key[2]! << 8) | key[3]!
      const entry = byId.get(sid)
      if (entry === undefined) return
      const { t, flat } = entry
      const kg = (key[0]! << 8) | key[1]!
      if (t.kind === 'map') {
        const o = open as typeof open
        if (o !== null && o.t === t && key.length > o.prefix.length && key.compare(o.prefix, 0, o.prefix.length, 0, o.prefix.length) === 0) {
          o.pairs.push([decodeKey(key, o.prefix.length), unpackr.unpack(value)])
          return
        }
        closeMap()
        const uk = decodeKey(key, 4)
        const ukEnd = decodedEnd
        const next: NonNullable<typeof open> = { flat, t, kg, key: uk, prefix: Buffer.from(key.subarray(0, ukEnd)), time: undefined, pairs: [] }
        if (ukEnd === key.length) next.time = value.readDoubleBE(0)
        else next.pairs.push([decodeKey(key, ukEnd), unpackr.unpack(value)])
        open = next
        return
      }
      closeMap()
      const uk = decodeKey(key, 4)
      if (t.timestamped) {
        const time = value.readDoubleBE(0)
        if (t.ttl !== null && t.ttl.cleanupFullSnapshot && t.ttl.isExpired(time, now)) return
        flat.push(kg, uk, [unpackr.unpack(value, { start: 8, end: value.length }), time])
      } else {
        flat.push(kg, uk, unpackr.unpack(value))
      }
    })
    closeMap()
    return { format: 'canonical', maxParallelism: this.maxParallelism, states }
  }

  /**
   * Incremental checkpoint: a full base (every entry of the view) or a delta (the entries
   * changed since the confirmed checkpoint this one extends, read from the view and its
   * overlay; a key that is gone is written as a deletion), as segments in the shared directory. The snapshot lists
   * the base and deltas to apply in order. Deltas are relative to the last checkpoint confirmed
   * complete, never to one that may still fail, so a file is only referenced by checkpoints
   * that include it.
   */
  /** Adds the LMDB keys a generation of writes touched, and the prefixes of the maps it cleared. */
  private genKeys(t: GenTable, into: Set<string>, clearedPrefixes: Set<string>): void {
    const ref = this.snap
    for (const [ck, stored] of t.entries) {
      const prefixLen = this.encodeCacheKey(ck, t.id, ref)
      const prefix = ref.buf.toString('latin1', 0, prefixLen)
      into.add(prefix)
      if (t.kind !== 'map') continue
      const mp = stored as MapPending
      if (mp.cleared) clearedPrefixes.add(prefix)
      for (const mck of mp.entries.keys()) {
        ref.len = isToken(mck) ? writeMapKey((mck as KeyToken).key, ref.buf, prefixLen, (mck as KeyToken).text) : writeMapKey(mck, ref.buf, prefixLen)
        into.add(ref.buf.toString('latin1', 0, ref.len))
      }
    }
  }

  private async writeIncremental(capture: LmdbCapture): Promise<KeyedStateSnapshot> {
    const inc = capture.incremental!
    const dir = this.sharedDir!
    const writer = new SegmentWriter(dir, this.filePrefix, capture.checkpointId, inc.full ? 'base' : 'delta')
    const raw = this.rawOverlay(capture)
    if (inc.full) {
      await this.mergedScan(capture, raw, (key, value) => writer.add(key, value), () => writer.drain())
    } else {
      const union = new Set<string>()
      const clearedPrefixes = new Set<string>()
      for (const changes of inc.changes) {
        for (const k of changes.dirty) union.add(k)
        for (const gen of changes.gens) for (const t of gen) this.genKeys(t, union, clearedPrefixes)
      }
      const keys = [...union].sort()
      const kinds = new Map(capture.tables.map((t) => [t.id, t.kind]))
      const ref = this.snap
      let slice = performance.now()
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i]!
        ref.len = ref.buf.write(k, 0, 'latin1')
        const key = ref.buf.subarray(0, ref.len)
        // A cleared map: whatever the base and earlier deltas hold under it goes first.
        if (clearedPrefixes.has(k)) writer.add(key, null, true)
        let value: Buffer | null | undefined = raw.byKey.get(k)
        if (value === undefined) value = this.hiddenByClear(raw, kinds, key) ? null : ((this.db.getBinaryFast as (key: unknown, options: { transaction: Transaction }) => Buffer | undefined).call(this.db, ref, { transaction: capture.txn }) ?? null)
        writer.add(key, value === null ? null : value.subarray(0, value.length))
        if ((i & 1023) === 1023) {
          await writer.drain()
          this.checkOpen()
          if (performance.now() - slice > SLICE_MS) {
            await yieldToTask()
            this.checkOpen()
            slice = performance.now()
          }
        }
      }
    }
    const segments = await writer.finish()
    const bytes = segments.reduce((s, r) => s + r.bytes, 0)
    const chain: Chain = inc.full
      ? { checkpointId: capture.checkpointId, base: segments, deltas: [], baseBytes: bytes, deltaBytes: 0 }
      : {
          checkpointId: capture.checkpointId,
          base: inc.base!.base,
          deltas: segments.length > 0 ? [...inc.base!.deltas, { checkpointId: capture.checkpointId, segments }] : inc.base!.deltas,
          baseBytes: inc.base!.baseBytes,
          deltaBytes: inc.base!.deltaBytes + bytes,
        }
    const u = this.unconfirmed.find((x) => x.id === capture.checkpointId)
    if (u) u.chain = chain
    const states: Record<string, { id: number; kind: StateKind; ttl: boolean }> = {}
    for (const t of capture.tables) states[t.name] = { id: t.id, kind: t.kind, ttl: t.timestamped }
    const snapshot: LmdbIncrementalSnapshot = {
      format: LMDB_INCREMENTAL_FORMAT,
      version: 1,
      maxParallelism: this.maxParallelism,
      checkpointId: capture.checkpointId,
      sharedDir: dir,
      states,
      base: chain.base,
      deltas: chain.deltas,
    }
    return snapshot
  }

  // ---------------------------------------------------------------------------------------
  // Restore
  // ---------------------------------------------------------------------------------------

  /** Loads the entries of a snapshot (canonical or this backend's incremental format) whose key groups fall in `range`. */
  restore(snapshot: KeyedStateSnapshot, range: KeyGroupRange): void {
    this.checkOpen()
    this.flush()
    this.dropCaches()
    const fresh = this.restores === 0 && this.tables.size === 0
    this.restores++
    if (snapshot.format === 'canonical') {
      this.restoreCanonical(snapshot as Extract<KeyedStateSnapshot, { format: 'canonical' }>, range)
      this.forgetChain()
    } else if (snapshot.format === LMDB_INCREMENTAL_FORMAT) {
      const s = snapshot as unknown as LmdbIncrementalSnapshot
      const exact = this.restoreIncremental(s, range)
      // The restored state is exactly this chain's content: keep extending it (same job only,
      // so that no checkpoint of this job depends on another job's files).
      if (fresh && exact && this.sharedDir !== null && s.sharedDir === this.sharedDir) {
        this.forgetChain()
        this.confirmed = { checkpointId: s.checkpointId, base: s.base, deltas: s.deltas, baseBytes: sum(s.base), deltaBytes: s.deltas.reduce((a, d) => a + sum(d.segments), 0) }
      } else {
        this.forgetChain()
      }
    } else {
      throw new WeirError('WEIR_RESTORE_FAILED', `the lmdb state backend cannot read keyed state in '${snapshot.format}' format`, { domain: 'user' })
    }
  }

  private forgetChain(): void {
    this.confirmed = null
    this.unconfirmed = []
    this.dirtyGens = []
    if (this.dirty !== null) this.dirty = new Set()
  }

  private restoreTable(name: string, kind: StateKind, timestamped: boolean, preferredId: number | null): Table {
    const table = this.tables.get(name)
    if (table) {
      checkDescriptorKind(name, table.kind, kind)
      return table
    }
    return this.newTable(name, kind, timestamped, preferredId)
  }

  private restoreCanonical(snapshot: Extract<KeyedStateSnapshot, { format: 'canonical' }>, range: KeyGroupRange): void {
    const db = this.db
    const rehash = snapshot.maxParallelism !== this.maxParallelism
    const now = this.now()
    const ref = this.aux
    let empty = true
    for (const _ of db.getKeys({ limit: 1 })) empty = false
    for (const [name, entries] of Object.entries(snapshot.states)) {
      const table = this.restoreTable(name, entries.kind, entries.ttl, null)
      const flat = entries.entries
      for (let from = 0; from < flat.length; from += 3 * RESTORE_BATCH) {
        const to = Math.min(flat.length, from + 3 * RESTORE_BATCH)
        db.transactionSync(() => {
          for (let i = from; i < to; i += 3) {
            const key = flat[i + 1]
            const kg = rehash ? assignToKeyGroup(key, this.maxParallelism) : (flat[i] as number)
            if (kg < range.start || kg > range.end) continue
            const raw = flat[i + 2]
            const value = entries.ttl ? (raw as [unknown, number])[0] : raw
            const time = entries.ttl ? (raw as [unknown, number])[1] : now
            const ck = typeof key === 'object' && key !== null ? ({ key, text: JSON.stringify(key), kg } satisfies KeyToken) : key
            const prefixLen = this.encodeCacheKey(ck, table.id, ref)
            if (table.kind === 'map') {
              const start = Buffer.from(ref.buf.subarray(0, prefixLen))
              // A map restored over one already here replaces it, as on the heap.
              if (!empty) for (const k of [...(db.getKeys({ start, end: prefixEnd(start) }) as Iterable<Buffer>)]) db.removeSync(k)
              const pairs = value as Array<[unknown, unknown]>
              if (pairs.length === 0) continue
              if (table.timestamped) db.putSync(start, this.timeBytes(time))
              for (const [mk, mv] of pairs) {
                ref.len = writeMapKey(mk, ref.buf, prefixLen)
                db.putSync(ref, packr.pack(mv))
              }
            } else {
              if (value === undefined || value === null) continue
              db.putSync(ref, table.timestamped ? this.timestampedBytes(value, time) : packr.pack(value))
            }
          }
        })
      }
    }
  }

  /** Applies a chain's segments; returns whether every entry fell in `range` (nothing was left out). */
  private restoreIncremental(snapshot: LmdbIncrementalSnapshot, range: KeyGroupRange): boolean {
    if (snapshot.version !== 1) throw new WeirError('WEIR_RESTORE_FAILED', `lmdb incremental snapshot version ${snapshot.version} is not supported`, { domain: 'user' })
    if (snapshot.maxParallelism !== this.maxParallelism) {
      throw new WeirError('WEIR_RESTORE_FAILED', `the checkpoint was taken with max parallelism ${snapshot.maxParallelism}, this job has ${this.maxParallelism}; restore from a savepoint to change it`, { domain: 'user' })
    }
    const db = this.db
    const now = this.now()
    const mapping = new Map<number, { table: Table; timestamped: boolean }>()
    let exact = true
    for (const [name, s] of Object.entries(snapshot.states)) {
      const table = this.restoreTable(name, s.kind, s.ttl, s.id)
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
            db.putSync(key, m.timestamped ? value.subarray(8) : this.withTime(value, now))
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
              db.putSync(lastUk, this.timeBytes(now))
            }
            db.putSync(key, value)
          }
        })
      })
    }
    return exact
  }

  private withTime(value: Buffer, t: number): Buffer {
    const b = Buffer.allocUnsafe(value.length + 8)
    b.writeDoubleBE(t, 0)
    value.copy(b, 8)
    return b
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
    for (const c of [...this.captures]) this.release(c)
    for (const t of this.tables.values()) {
      t.pending = new Map()
      t.frozen = null
      t.clean = new Map()
    }
    try {
      void this.db.close()
    } catch {
      // Closing fails only if it is already closed.
    }
    rmSync(this.dir, { recursive: true, force: true })
    liveDirs.delete(this.dir)
  }

  private checkOpen(): void {
    if (this.disposed) throw new WeirError('WEIR_INTERNAL', 'the lmdb state backend was disposed')
  }
}

function keyTooLong(bytes: number): UserError {
  return new UserError('WEIR_INVALID_ARGUMENT', `a key of ${bytes} or more bytes is too long for the lmdb state backend (at most ${MAX_KEY_BYTES - 8} bytes with its key group and state id, map key included)`)
}

/** One generation of writes over an older one (a capture freezing on top of uncommitted frozen writes). */
function mergeGenerations(kind: StateKind, older: Map<unknown, unknown>, newer: Map<unknown, unknown>): Map<unknown, unknown> {
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

/** Cache keys are primitives (the user's key) or KeyTokens (composite keys): any object is a token. */
function isToken(ck: unknown): boolean {
  return typeof ck === 'object' && ck !== null
}

/** Writes a map key (composite keys as their JSON text) after a user key. */
function writeMapKey(mk: unknown, buf: Buffer, pos: number, text?: string): number {
  let end: number
  if (typeof mk === 'object' && mk !== null) {
    const t = text ?? JSON.stringify(mk)
    if (pos + t.length > MAX_KEY_BYTES) throw keyTooLong(pos + t.length)
    end = encodeCompositeText(t, buf, pos)
  } else {
    if (typeof mk === 'string' && pos + mk.length > MAX_KEY_BYTES) throw keyTooLong(pos + mk.length)
    end = encodeKey(mk, buf, pos)
  }
  if (end > MAX_KEY_BYTES) throw keyTooLong(end)
  return end
}

/** The range of one state's entries in one key group. */
function stateRange(kg: number, sid: number): { start: Buffer; end: Buffer } {
  const start = Buffer.from([kg >> 8, kg & 0xff, sid >> 8, sid & 0xff])
  const end = Buffer.from([kg >> 8, kg & 0xff, (sid + 1) >> 8, (sid + 1) & 0xff])
  return { start, end }
}

/** The first key after every key that starts with `prefix`. */
function prefixEnd(prefix: Buffer): Buffer | undefined {
  const end = Buffer.from(prefix)
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i] !== 0xff) {
      end[i]!++
      return end.subarray(0, i + 1)
    }
  }
  return undefined
}

function sum(refs: readonly SegmentRef[]): number {
  return refs.reduce((a, r) => a + r.bytes, 0)
}

function yieldToTask(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

// ---- state objects ----

const EMPTY: readonly never[] = Object.freeze([])

class LmdbListState<T> implements ListState<T> {
  constructor(private readonly backend: LmdbKeyedStateBackend, private readonly table: Table) {}
  get(): readonly T[] {
    return (this.backend.read(this.table) as T[] | undefined) ?? EMPTY
  }
  add(value: T): void {
    this.addAll([value])
  }
  addAll(values: readonly T[]): void {
    if (values.length === 0) return
    const list = this.backend.mutableList(this.backend.read(this.table) as T[] | undefined)
    for (const v of values) list.push(v)
    this.backend.write(this.table, list)
  }
  update(values: readonly T[]): void {
    this.backend.write(this.table, values.length === 0 ? undefined : this.backend.ownList([...values]))
  }
  clear(): void {
    this.backend.remove(this.table)
  }
}

class LmdbMapState<K, V> implements MapState<K, V> {
  constructor(private readonly backend: LmdbKeyedStateBackend, private readonly table: Table) {}
  get(key: K): V | undefined {
    return this.backend.mapGet(this.table, key) as V | undefined
  }
  put(key: K, value: V): void {
    this.backend.mapPut(this.table, [[key, value]])
  }
  putAll(entries: Iterable<readonly [K, V]>): void {
    this.backend.mapPut(this.table, entries)
  }
  remove(key: K): void {
    this.backend.mapRemove(this.table, key)
  }
  contains(key: K): boolean {
    return this.backend.mapContains(this.table, key)
  }
  entries(): IterableIterator<[K, V]> {
    return (this.backend.mapEntries(this.table) as Map<K, V>).entries()
  }
  keys(): IterableIterator<K> {
    return (this.backend.mapEntries(this.table) as Map<K, V>).keys()
  }
  values(): IterableIterator<V> {
    return (this.backend.mapEntries(this.table) as Map<K, V>).values()
  }
  isEmpty(): boolean {
    return this.backend.mapIsEmpty(this.table)
  }
  clear(): void {
    this.backend.remove(this.table)
  }
}

registerLmdbBackend((settings, scope) => new LmdbKeyedStateBackend(settings, scope))
