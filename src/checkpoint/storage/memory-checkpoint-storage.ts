// JobManager checkpoint storage: state bytes travel inline with the acknowledgements and the
// completed checkpoints live in the JobManager's memory. Good for tests and small state; a
// state handle above 5 MB fails the checkpoint (STATE_TOO_LARGE), as in Flink.

import type { CheckpointLocation, CheckpointStorage, CompletedCheckpointRef } from './checkpoint-storage.ts'
import type { CheckpointMetadata } from '../metadata.ts'

export const JOBMANAGER_MAX_STATE_BYTES = 5 * 1024 * 1024

export class MemoryCheckpointStorage implements CheckpointStorage {
  readonly type = 'jobmanager'
  constructor(readonly maxStateBytes = JOBMANAGER_MAX_STATE_BYTES) {}

  locationFor(): CheckpointLocation {
    return { type: 'jobmanager', maxStateBytes: this.maxStateBytes }
  }

  async finalize(metadata: CheckpointMetadata): Promise<CompletedCheckpointRef> {
    return { id: metadata.checkpointId, dir: null, metadata }
  }

  async discard(): Promise<void> {}
}
