// Where a job's tasks restore from: the checkpoint or savepoint given at submission (-s /
// --from-checkpoint, 'latest' under execution.checkpointing.dir), or on a restart the latest
// completed checkpoint. Turns a checkpoint's metadata into a RestorePlan for the job's graph.

import type { CompiledJob } from '../compile.ts'
import { UserError } from '../../errors.ts'
import type { CheckpointOptions } from '../../checkpoint/checkpoint-options.ts'
import { findLatestCheckpoint, readMetadata, resolveCheckpointDir, type CheckpointMetadata } from '../../checkpoint/metadata.ts'
import { metadataPath } from '../../checkpoint/protocol/paths.ts'
import { planRestore, type RestorePlan } from '../../checkpoint/restore-plan.ts'
import { downloadCheckpoint } from '../../checkpoint/storage/s3/s3-checkpoint-storage.ts'
import { isS3Url, s3Settings } from '../../checkpoint/storage/s3/s3-location.ts'

/** A checkpoint or savepoint found: its local directory, metadata and where it came from (a path or an s3:// URL). */
export interface LocatedRestore {
  readonly dir: string
  readonly metadata: CheckpointMetadata
  readonly source: string
}

export type InitialRestore = RestorePlan & { readonly source: string; readonly isSavepoint: boolean }

/** Where a checkpoint or savepoint path (or 'latest') points, and its metadata. */
export async function locateRestore(path: string, options: CheckpointOptions, config: CompiledJob['config'], onLog: (line: string) => void = () => {}): Promise<LocatedRestore> {
  let dir: string
  let source: string | null = null
  if (isS3Url(path) || (path === 'latest' && isS3Url(options.dir))) {
    // S3: download into the local mirror, then restore from there like any directory.
    ;({ dir, source } = await downloadCheckpoint(path, options.dir, s3Settings(config)))
  } else if (path === 'latest') {
    if (!options.dir) throw new UserError('WEIR_RESTORE_FAILED', '--from-checkpoint latest needs execution.checkpointing.dir to know where to look')
    dir = await findLatestCheckpoint(options.dir, onLog)
  } else {
    dir = resolveCheckpointDir(path)
  }
  return { dir, metadata: await readMetadata(metadataPath(dir)), source: source ?? dir }
}

/** The max parallelism of every operator (by uid) in a checkpoint or savepoint. */
export function maxParallelismByUid(metadata: CheckpointMetadata): Record<string, number> {
  const out: Record<string, number> = {}
  for (const v of metadata.vertices) for (const uid of v.uids) out[uid] = v.maxParallelism
  return out
}

export function planFromLocated(located: LocatedRestore, job: CompiledJob, allowNonRestored: boolean): InitialRestore {
  const { dir, metadata } = located
  return { ...planRestore(metadata, dir, job.graph, allowNonRestored), source: located.source, isSavepoint: metadata.kind === 'savepoint' }
}

export async function planFromPath(path: string, options: CheckpointOptions, job: CompiledJob, allowNonRestored: boolean, onLog: (line: string) => void = () => {}): Promise<InitialRestore> {
  return planFromLocated(await locateRestore(path, options, job.config, onLog), job, allowNonRestored)
}
