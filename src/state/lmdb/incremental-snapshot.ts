// The LMDB backend's incremental snapshot, as a checkpoint stores it: which shared files (a base
// and the deltas on top of it) hold the state. Kept apart from the backend so that code which only
// reads snapshots (the coordinator's shared-file registry) does not load the native addon.

import type { StateKind } from '../../api/state.ts'
import type { SegmentRef } from './segment-file.ts'

/** The format tag of incremental snapshots. */
export const LMDB_INCREMENTAL_FORMAT = 'lmdb-incremental'

/** A checkpoint's files: a base and the deltas on top of it, applied in order. */
export interface LmdbIncrementalSnapshot {
  readonly format: typeof LMDB_INCREMENTAL_FORMAT
  readonly version: 1
  readonly maxParallelism: number
  readonly checkpointId: number
  /** The shared directory the segment names are relative to. */
  readonly sharedDir: string
  /** Each state's id in the LMDB keys, its kind, and whether its values carry write times. */
  readonly states: Record<string, { readonly id: number; readonly kind: StateKind; readonly ttl: boolean }>
  readonly base: readonly SegmentRef[]
  readonly deltas: ReadonlyArray<{ readonly checkpointId: number; readonly segments: readonly SegmentRef[] }>
  readonly [field: string]: unknown
}
