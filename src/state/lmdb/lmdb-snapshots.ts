// The checkpoint side of the LMDB backend: the captures in flight (each a pinned read
// transaction plus the writes frozen at its synchronous phase), their asynchronous phase in
// either format, and the incremental chain: which keys changed since the last capture, which
// captures await completion, and the completed chain the next delta builds on.
//
// The backend freezes its uncommitted writes and hands them here; this file decides what the
// capture writes (canonical, a full incremental base, or a delta) and keeps the chain's
// bookkeeping across completions, aborts and restores.

import type { RootDatabase } from 'lmdb'
import { WeirError } from '../../errors.ts'
import type { KeyGroupRange } from '../key-groups.ts'
import type { KeyedStateSnapshot, SnapshotOptions } from '../keyed-state-backend.ts'
import type { SegmentRef } from './segment-file.ts'
import { LMDB_INCREMENTAL_FORMAT, type LmdbIncrementalSnapshot } from './incremental-snapshot.ts'
import type { Changes, GenTable, OverlayTable } from './write-generations.ts'
import type { CaptureContext, CaptureTable, LmdbCapture } from './capture-view.ts'
import { ChainTracker } from '../incremental-chain.ts'
import { writeCanonical } from './canonical-snapshot.ts'
import { writeIncremental } from './incremental-writer.ts'
import { restoreCanonical, restoreIncremental, type RestoreContext } from './lmdb-restore.ts'

export interface SnapshotSettings {
  /** Where incremental files go; null: every checkpoint is canonical. */
  readonly sharedDir: string | null
  /** Names this backend's incremental files apart from other subtasks'. */
  readonly filePrefix: string
  /** A new full base after this many deltas. */
  readonly maxDeltas: number
}

export class LmdbSnapshots {
  /** Keys (latin1 text of the LMDB key) committed since the last incremental capture; null: not incremental. */
  dirty: Set<string> | null
  /** Writes frozen by captures since the last incremental capture (savepoints freeze too). */
  private dirtyGens: GenTable[][] = []
  private readonly chain: ChainTracker<Changes, SegmentRef>
  private readonly captures = new Set<LmdbCapture>()

  constructor(
    private readonly db: RootDatabase<Buffer, any>,
    private readonly context: CaptureContext,
    private readonly settings: SnapshotSettings,
  ) {
    this.dirty = settings.sharedDir !== null ? new Set() : null
    this.chain = new ChainTracker(settings.maxDeltas)
  }

  /**
   * The synchronous phase's bookkeeping: pins LMDB's view of this moment (MVCC: later commits do
   * not touch it) and decides what the capture writes. `frozen` are the writes this capture froze
   * (they become changes of the chain), `overlay` every uncommitted write it must see on top,
   * `inFlight` the generations of commits in flight: their keys are in `dirty` already, but a
   * delta must read their values from the overlay, so they are changes as generations too.
   */
  capture(checkpointId: number, options: SnapshotOptions, frozen: GenTable[], overlay: OverlayTable[], tables: CaptureTable[], inFlight: GenTable[] = []): LmdbCapture {
    const txn = this.db.useReadTransaction()
    let incremental: LmdbCapture['incremental'] = null
    if (this.dirty !== null) {
      if (inFlight.length > 0) this.dirtyGens.push(inFlight)
      if (frozen.length > 0) this.dirtyGens.push(frozen)
      if (!options.savepoint) {
        incremental = this.chain.plan(checkpointId, { dirty: this.dirty, gens: this.dirtyGens })
        this.dirty = new Set()
        this.dirtyGens = []
      }
    }
    const capture: LmdbCapture = { checkpointId, txn, overlay, tables, incremental, done: false }
    this.captures.add(capture)
    return capture
  }

  /** Asynchronous phase: the canonical format, or incremental files plus the snapshot that lists them. */
  async materialize(capture: LmdbCapture): Promise<KeyedStateSnapshot> {
    if (capture.done) throw new WeirError('WEIR_INTERNAL', `snapshot ${capture.checkpointId} was already materialized or released`)
    try {
      if (capture.incremental === null) return await writeCanonical(this.context, capture)
      const { snapshot, chain } = await writeIncremental(this.context, { sharedDir: this.settings.sharedDir!, filePrefix: this.settings.filePrefix }, capture)
      this.chain.written(capture.checkpointId, chain)
      return snapshot
    } finally {
      this.release(capture)
    }
  }

  /** A completed checkpoint's chain becomes the base of the next delta. */
  complete(checkpointId: number): void {
    this.chain.complete(checkpointId)
  }

  /** Releases every capture's read transaction (the backend is disposed). */
  releaseAll(): void {
    for (const c of [...this.captures]) this.release(c)
  }

  /**
   * Loads a snapshot (canonical or this backend's incremental format) into LMDB. `fresh`: the
   * backend had nothing before it, so an exact incremental restore of this job's own chain can
   * keep extending that chain.
   */
  restore(ctx: RestoreContext, snapshot: KeyedStateSnapshot, range: KeyGroupRange, fresh: boolean): void {
    if (snapshot.format === 'canonical') {
      restoreCanonical(ctx, snapshot as Extract<KeyedStateSnapshot, { format: 'canonical' }>, range)
      this.forgetChain()
    } else if (snapshot.format === LMDB_INCREMENTAL_FORMAT) {
      const s = snapshot as unknown as LmdbIncrementalSnapshot
      const exact = restoreIncremental(ctx, s, range)
      this.forgetChain()
      // The restored state is exactly this chain's content: keep extending it (same job only,
      // so that no checkpoint of this job depends on another job's files).
      if (fresh && exact && this.settings.sharedDir !== null && s.sharedDir === this.settings.sharedDir) this.chain.adopt(s)
    } else {
      throw new WeirError('WEIR_RESTORE_FAILED', `the lmdb state backend cannot read keyed state in '${snapshot.format}' format`, { domain: 'user' })
    }
  }

  private release(capture: LmdbCapture): void {
    if (capture.done) return
    capture.done = true
    this.captures.delete(capture)
    capture.txn.done()
  }

  private forgetChain(): void {
    this.chain.forget()
    this.dirtyGens = []
    if (this.dirty !== null) this.dirty = new Set()
  }
}
