// Checkpoint storage, in two views as in Flink. The coordinator's view (CheckpointStorage, here)
// places checkpoints, writes their metadata and deletes them; the task's view
// (task-state-writer.ts) writes one task's state for one checkpoint at a CheckpointLocation and
// returns a handle. Storage makes no decisions: which checkpoints to
// keep or delete is the protocol's (src/checkpoint/protocol/). Contract: a handle or metadata
// that was returned can be read back intact until it is discarded; metadata is written last
// and atomically, so its presence means the checkpoint is complete.

import type { CheckpointMetadata } from '../metadata.ts'

/** What a task needs to know to write state for a checkpoint; plain data, sent to workers. */
export type CheckpointLocation =
  | { readonly type: 'jobmanager'; readonly maxStateBytes: number }
  | { readonly type: 'filesystem'; readonly dir: string }

export interface CompletedCheckpointRef {
  readonly id: number
  /** The checkpoint's directory (filesystem) or null (jobmanager). */
  readonly dir: string | null
  readonly metadata: CheckpointMetadata
}

export interface CheckpointStorage {
  readonly type: 'jobmanager' | 'filesystem'
  /** Where tasks write state for this checkpoint. */
  locationFor(checkpointId: number): CheckpointLocation
  /** Writes the metadata, last; after this the checkpoint is complete. */
  finalize(metadata: CheckpointMetadata): Promise<CompletedCheckpointRef>
  /** Deletes a checkpoint and the state it alone references. */
  discard(checkpointId: number): Promise<void>
  /** Deletes everything the job stored (when no checkpoint is retained). */
  discardAll?(): Promise<void>
}
