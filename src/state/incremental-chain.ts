// The chain of an incremental checkpoint, as both keyed backends keep it: a full base and the
// deltas on top of it, each a list of shared segment files. A backend hands the tracker the
// changes each checkpoint captured; the tracker says whether the checkpoint writes a new base
// or a delta on the last completed chain (with every change since that chain), and moves the
// base forward when checkpoints complete. Savepoints never enter the chain (they are canonical).

import type { StateKind } from '../api/state.ts'

/** A shared file of a checkpoint (written by lmdb/segment-file.ts). */
export interface ChainSegment {
  readonly bytes: number
}

/** The base and deltas a checkpoint consists of. */
export interface Chain<S extends ChainSegment = ChainSegment> {
  readonly checkpointId: number
  readonly base: readonly S[]
  readonly deltas: ReadonlyArray<{ readonly checkpointId: number; readonly segments: readonly S[] }>
  readonly baseBytes: number
  readonly deltaBytes: number
}

/** An incremental snapshot as a checkpoint stores it: which shared files (a base and the deltas on top of it, applied in order) hold the state. */
export interface IncrementalSnapshotOf<F extends string, S extends ChainSegment> {
  readonly format: F
  readonly version: 1
  readonly maxParallelism: number
  readonly checkpointId: number
  /** The shared directory the segment names are relative to. */
  readonly sharedDir: string
  /** Each state's id in the stored keys, its kind, and whether its values carry write times. */
  readonly states: Record<string, { readonly id: number; readonly kind: StateKind; readonly ttl: boolean }>
  readonly base: readonly S[]
  readonly deltas: ReadonlyArray<{ readonly checkpointId: number; readonly segments: readonly S[] }>
  readonly [field: string]: unknown
}

/** What a checkpoint writes: a full base, or a delta on `base` with the changes since it. */
export interface ChainPlan<C, S extends ChainSegment = ChainSegment> {
  readonly full: boolean
  readonly base: Chain<S> | null
  readonly changes: readonly C[]
}

export class ChainTracker<C, S extends ChainSegment = ChainSegment> {
  /** Captures not yet confirmed complete, oldest first, with the changes each saw. */
  private unconfirmed: Array<{ id: number; changes: C; chain: Chain<S> | null }> = []
  /** The chain of the last checkpoint confirmed complete: the base of the next delta. */
  private confirmed: Chain<S> | null = null

  /** `maxDeltas`: a new base after this many deltas (or when the deltas outgrow the base). */
  constructor(private readonly maxDeltas: number) {}

  /** Checkpoint `checkpointId` captured `changes` (everything since the previous capture): what it writes. */
  plan(checkpointId: number, changes: C): ChainPlan<C, S> {
    // Without completions deltas cannot be based on anything safe: past a bound, start over with a base.
    if (this.unconfirmed.length >= 2 * this.maxDeltas) {
      this.unconfirmed = []
      this.confirmed = null
    }
    this.unconfirmed.push({ id: checkpointId, changes, chain: null })
    const base = this.confirmed
    const full = base === null || base.deltas.length >= this.maxDeltas || base.deltaBytes > base.baseBytes
    return { full, base, changes: full ? [] : this.unconfirmed.filter((u) => u.id > base!.checkpointId).map((u) => u.changes) }
  }

  /** The files of checkpoint `checkpointId` are written: its chain, once it completes, is the next base. */
  written(checkpointId: number, chain: Chain<S>): void {
    const u = this.unconfirmed.find((x) => x.id === checkpointId)
    if (u) u.chain = chain
  }

  complete(checkpointId: number): void {
    const i = this.unconfirmed.findIndex((u) => u.id === checkpointId)
    if (i < 0 || this.unconfirmed[i]!.chain === null) return
    this.confirmed = this.unconfirmed[i]!.chain
    this.unconfirmed = this.unconfirmed.slice(i + 1)
  }

  /** The state no longer is any chain's content (a canonical restore, a partial one): the next checkpoint writes a base. */
  forget(): void {
    this.confirmed = null
    this.unconfirmed = []
  }

  /** The state is exactly `snapshot`'s chain (an exact restore of this job's checkpoint): keep extending it. */
  adopt(snapshot: { readonly checkpointId: number; readonly base: readonly S[]; readonly deltas: Chain<S>['deltas'] }): void {
    this.unconfirmed = []
    this.confirmed = { checkpointId: snapshot.checkpointId, base: snapshot.base, deltas: snapshot.deltas, baseBytes: bytesOf(snapshot.base), deltaBytes: snapshot.deltas.reduce((a, d) => a + bytesOf(d.segments), 0) }
  }
}

/** The chain after checkpoint `checkpointId` wrote `segments` as its plan said. */
export function extendChain<S extends ChainSegment>(checkpointId: number, plan: { readonly full: boolean; readonly base: Chain<S> | null }, segments: readonly S[]): Chain<S> {
  const bytes = bytesOf(segments)
  if (plan.full) return { checkpointId, base: segments, deltas: [], baseBytes: bytes, deltaBytes: 0 }
  const base = plan.base!
  return {
    checkpointId,
    base: base.base,
    deltas: segments.length > 0 ? [...base.deltas, { checkpointId, segments }] : base.deltas,
    baseBytes: base.baseBytes,
    deltaBytes: base.deltaBytes + bytes,
  }
}

function bytesOf(refs: readonly ChainSegment[]): number {
  return refs.reduce((a, r) => a + r.bytes, 0)
}
