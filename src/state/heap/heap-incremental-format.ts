// The heap backend's incremental snapshot, as a checkpoint stores it: the shared files (a base
// and the deltas on top of it) that hold the state. Same shape as the LMDB backend's
// (lmdb/incremental-snapshot.ts), so the coordinator reference-counts both kinds of shared files
// alike; only the heap backend reads it back. Kept apart so that readers of snapshots load no
// backend.

/** The format tag of the heap backend's incremental snapshots. */
export const HEAP_INCREMENTAL_FORMAT = 'heap-incremental'
