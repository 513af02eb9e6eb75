// The LMDB backend's incremental snapshot, as a checkpoint stores it: which shared files (a base
// and the deltas on top of it) hold the state. Kept apart from the backend so that code which only
// reads snapshots (the coordinator's shared-file registry) does not load the native addon.

import type { IncrementalSnapshotOf } from '../incremental-chain.ts'
import type { SegmentRef } from './segment-file.ts'

/** The format tag of incremental snapshots. */
export const LMDB_INCREMENTAL_FORMAT = 'lmdb-incremental'

/** A checkpoint's files: a base and the deltas on top of it, applied in order. */
export type LmdbIncrementalSnapshot = IncrementalSnapshotOf<typeof LMDB_INCREMENTAL_FORMAT, SegmentRef>
