// Filesystem checkpoint storage: task state files and `_metadata` under
// execution.checkpointing.dir/<job-id>/chk-<n>/.

import { rm } from 'node:fs/promises'
import { ensureDir } from '../../io/directories.ts'
import type { CheckpointLocation, CheckpointStorage, CompletedCheckpointRef } from './checkpoint-storage.ts'
import { checkpointDir, jobDir, metadataPath, sharedDir, taskOwnedDir } from '../protocol/paths.ts'
import { writeMetadata, type CheckpointMetadata } from '../metadata.ts'

export class FsCheckpointStorage implements CheckpointStorage {
  readonly type = 'filesystem'
  constructor(readonly baseDir: string, readonly jobId: string) {}

  async initialize(): Promise<void> {
    await ensureDir(sharedDir(this.baseDir, this.jobId))
    await ensureDir(taskOwnedDir(this.baseDir, this.jobId))
  }

  locationFor(checkpointId: number): CheckpointLocation {
    return { type: 'filesystem', dir: checkpointDir(this.baseDir, this.jobId, checkpointId) }
  }

  async finalize(metadata: CheckpointMetadata): Promise<CompletedCheckpointRef> {
    const dir = checkpointDir(this.baseDir, this.jobId, metadata.checkpointId)
    await writeMetadata(dir, metadata)
    return { id: metadata.checkpointId, dir, metadata }
  }

  /**
   * Deletes a checkpoint, its completion marker first: a crash in the middle of the recursive
   * delete then leaves a directory that no longer looks complete, never a `_metadata` whose
   * state files are partly gone.
   */
  async discard(checkpointId: number): Promise<void> {
    const dir = checkpointDir(this.baseDir, this.jobId, checkpointId)
    await rm(metadataPath(dir), { force: true })
    await rm(dir, { recursive: true, force: true })
  }

  /** Removes the job's directory once nothing in it is retained. */
  async discardAll(): Promise<void> {
    await rm(jobDir(this.baseDir, this.jobId), { recursive: true, force: true })
  }
}
