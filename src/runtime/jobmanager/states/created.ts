// CREATED: a submitted job is loaded and compiled, its checkpoint storage prepared and, when
// it resumes from a checkpoint or savepoint, its restore planned. Everything here can fail
// because of what the user gave (a broken job, a missing savepoint): the submission fails with
// that error and nothing is deployed.

import { randomBytes } from 'node:crypto'
import { compileJob, type CompiledJob } from '../../compile.ts'
import { loadJobDefinition } from '../../load-job.ts'
import { readCheckpointOptions, type CheckpointOptions } from '../../../checkpoint/checkpoint-options.ts'
import { S3CheckpointStorage } from '../../../checkpoint/storage/s3/s3-checkpoint-storage.ts'
import { isS3Url, s3Settings } from '../../../checkpoint/storage/s3/s3-location.ts'
import { FsCheckpointStorage } from '../../../checkpoint/storage/fs-checkpoint-storage.ts'
import { MemoryCheckpointStorage } from '../../../checkpoint/storage/memory-checkpoint-storage.ts'
import type { CheckpointStorage } from '../../../checkpoint/storage/checkpoint-storage.ts'
import { locateRestore, maxParallelismByUid, planFromLocated, type InitialRestore } from '../restore-planner.ts'
import type { JobRunOptions } from '../job-types.ts'

export interface PreparedJob {
  readonly job: CompiledJob
  readonly jobId: string
  readonly checkpointOptions: CheckpointOptions
  readonly storage: CheckpointStorage
  readonly initialRestore: InitialRestore | null
}

export async function prepareJob(options: JobRunOptions, jobId: string = newJobId()): Promise<PreparedJob> {
  const definition = await loadJobDefinition(options.artifactUrl, options.jobFile)
  let job = compileJob(definition, options.args ?? [], options.config ?? {})
  const checkpointOptions = readCheckpointOptions(job.config)
  // Savepoints work without periodic checkpoints, so there is always a coordinator and a storage.
  let storage: CheckpointStorage
  if (checkpointOptions.storage === 'filesystem' && checkpointOptions.intervalMs !== null) {
    const fs = isS3Url(checkpointOptions.dir) ? new S3CheckpointStorage(checkpointOptions.dir, jobId, s3Settings(job.config)) : new FsCheckpointStorage(checkpointOptions.dir!, jobId)
    await fs.initialize()
    storage = fs
  } else {
    storage = new MemoryCheckpointStorage()
  }
  let initialRestore: InitialRestore | null = null
  if (options.restoreFrom !== undefined) {
    const located = await locateRestore(options.restoreFrom, checkpointOptions, job.config, (line) => options.onLog?.(line))
    // Operators whose max parallelism the job does not set take the one their state was written with (Flink's rule).
    job = compileJob(definition, options.args ?? [], options.config ?? {}, maxParallelismByUid(located.metadata))
    initialRestore = planFromLocated(located, job, options.allowNonRestoredState ?? false)
    options.onLog?.(`Restoring job '${job.name}' from ${initialRestore.isSavepoint ? 'savepoint' : 'checkpoint'} ${initialRestore.checkpointId} (${initialRestore.source})`)
  }
  for (const v of job.graph.vertices) {
    const head = v.operators[0]!
    if (head.kind === 'source' && head.source.rewindable === false) {
      options.onLog?.(socketWarning(head.name), { level: 'warn' })
    }
  }
  return { job, jobId, checkpointOptions, storage, initialRestore }
}

/** One line: what a source that cannot replay its input means for the user. */
export function socketWarning(sourceName: string): string {
  return `Warning: source '${sourceName}' cannot rewind: on a failure or a resume it loses the records read since the last completed checkpoint and those that arrive while the job is down, as Flink's socket source does`
}

export function newJobId(): string {
  return randomBytes(16).toString('hex')
}
