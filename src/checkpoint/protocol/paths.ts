// The one place that builds checkpoint and savepoint paths. Layout under execution.checkpointing.dir:
//   <job-id>/chk-<n>/_metadata     written last; its presence means the checkpoint is complete
//   <job-id>/chk-<n>/<task files>  state written by tasks for checkpoint n
//   <job-id>/shared/               files referenced by several checkpoints (incremental)
//   <job-id>/taskowned/            files owned by tasks
// and a savepoint is self-contained: savepoint-<short-job-id>-<random>/_metadata plus its files.

import { join } from 'node:path'

export const METADATA_FILE = '_metadata'
const CHECKPOINT_PREFIX = 'chk-'

export function jobDir(base: string, jobId: string): string {
  return join(base, jobId)
}

export function checkpointDir(base: string, jobId: string, checkpointId: number): string {
  return join(base, jobId, `${CHECKPOINT_PREFIX}${checkpointId}`)
}

export function metadataPath(dir: string): string {
  return join(dir, METADATA_FILE)
}

export function sharedDir(base: string, jobId: string): string {
  return join(base, jobId, 'shared')
}

export function taskOwnedDir(base: string, jobId: string): string {
  return join(base, jobId, 'taskowned')
}

/** The file a task writes its state into, inside the checkpoint's directory. */
export function taskStateFile(dir: string, vertex: number, subtask: number, attempt: number): string {
  return join(dir, `task-${vertex}-${subtask}-${attempt}.state`)
}

export function savepointDirName(jobId: string, random: string): string {
  return `savepoint-${jobId.slice(0, 6)}-${random}`
}

/** The checkpoint id of a `chk-<n>` directory name, or null. */
export function parseCheckpointDirName(name: string): number | null {
  const m = /^chk-(\d+)$/.exec(name)
  return m ? Number(m[1]) : null
}
