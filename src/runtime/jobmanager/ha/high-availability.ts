// What a JobManager must not lose, behind one small interface: each submitted job (its
// submission and artifact) and the pointer to its latest completed checkpoint. A JobManager
// that restarts (or a standby that takes over) reads these back and resumes its jobs from that
// checkpoint. Implementations: in memory (embedded mini cluster, tests) and a directory on a
// file system (ha/file-ha-services.ts). A coordination service (etcd) would be a third one;
// nothing else in the JobManager needs to change for it.
//
// Consistency needed: each write is atomic and durable once its promise resolves; reads return
// the last write. No transactions across keys.

import type { RawConfig } from '../../../config/configuration.ts'

/** What was submitted: enough to build the job again. */
export interface JobSubmission {
  readonly jobId: string
  readonly submittedAt: number
  /** The job file as the user named it (for messages). */
  readonly jobFile?: string
  readonly args: readonly string[]
  readonly config: RawConfig
  readonly restoreFrom?: string
  readonly allowNonRestoredState?: boolean
}

/** The latest completed checkpoint of a job: where its _metadata lives. */
export interface CheckpointPointer {
  readonly checkpointId: number
  /** The checkpoint's directory; null for checkpoints kept in the JobManager's memory. */
  readonly path: string | null
}

export interface HighAvailabilityServices {
  /** Stores a submitted job and its bundled artifact (the job module's code). */
  putJob(submission: JobSubmission, artifact: Uint8Array): Promise<void>
  getJob(jobId: string): Promise<JobSubmission | null>
  getArtifact(jobId: string): Promise<Uint8Array | null>
  /** Jobs submitted and not removed, oldest first. */
  listJobs(): Promise<JobSubmission[]>
  /** The job reached a terminal state: forget it. */
  removeJob(jobId: string): Promise<void>
  setLatestCheckpoint(jobId: string, pointer: CheckpointPointer): Promise<void>
  getLatestCheckpoint(jobId: string): Promise<CheckpointPointer | null>
}
