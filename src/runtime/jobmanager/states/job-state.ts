// The job master's lifecycle as explicit states, one file each (in the manner of Arroyo's
// controller states): created -> running -> (restarting -> running)* -> finished | failed |
// canceled. Each state does its work and returns the transition to the next one; the job
// master (job-master.ts) only loops over them. This file holds what the states share: the
// transitions and the part of the job master they may read and change.

import type { CompiledJob } from '../../compile.ts'
import type { WeirError } from '../../../errors.ts'
import type { CheckpointOptions } from '../../../checkpoint/checkpoint-options.ts'
import type { CheckpointCoordinator } from '../../../checkpoint/coordinator.ts'
import type { RestorePlan } from '../../../checkpoint/restore-plan.ts'
import type { RestartStrategy } from '../restart-strategy.ts'
import type { Attempt } from '../attempt.ts'
import type { JobResult, JobRunOptions, JobStatus } from '../job-types.ts'
import type { SlotPool } from '../scheduler.ts'
import type { HighAvailabilityServices } from '../ha/high-availability.ts'
import type { InitialRestore } from '../restore-planner.ts'
import type { JobMetricStore } from '../../../metrics/job-metric-store.ts'
import type { LogContext } from '../job-types.ts'

/** A failure of an attempt, for the REST API's exception history. */
export interface FailureRecord {
  readonly error: WeirError
  readonly timestamp: number
  readonly attempt: number
}

export type Transition =
  | { readonly to: 'running'; readonly restore: RestorePlan | null }
  /** `failedAt`: when the attempt failed (Date.now()), before its surviving tasks were canceled. */
  | { readonly to: 'restarting'; readonly error: WeirError; readonly failedAt: number }
  | { readonly to: 'finished' }
  | { readonly to: 'failed'; readonly error: WeirError }
  | { readonly to: 'canceled' }

/** The JobManager's services a job master uses. */
export interface JobMasterServices {
  readonly slotPool: SlotPool
  readonly ha: HighAvailabilityServices
}

/** What the states read and change of their job master. */
export interface JobMasterContext {
  readonly job: CompiledJob
  readonly jobId: string
  /** Slots every attempt needs. */
  readonly slots: number
  readonly options: JobRunOptions
  readonly checkpointOptions: CheckpointOptions
  readonly coordinator: CheckpointCoordinator
  readonly restartStrategy: RestartStrategy
  readonly services: JobMasterServices
  readonly initialRestore: InitialRestore | null
  /** Aborted when the job is canceled: ends waits (for slots, before a restart). */
  readonly cancellation: AbortSignal
  status: 'RUNNING' | 'RESTARTING' | JobStatus
  attempt: Attempt | null
  attemptNumber: number
  attemptStartedAt: number
  restarts: number
  canceled: boolean
  /** Stop with savepoint was requested: the attempt's end is the job's end (FINISHED). */
  stopping: boolean
  restored: { id: number; path: string | null; isSavepoint: boolean; restoredAt: number } | null
  restoreCount: number
  endTime: number | null
  readonly started: number
  /** Every subtask's metrics in the current attempt. */
  readonly taskMetrics: JobMetricStore
  /** The newest failures of attempts, oldest first. */
  readonly failures: FailureRecord[]
  /** When the job last entered each status (Flink's timestamps of /jobs/:id). */
  readonly statusTimestamps: Record<string, number>
  log(line: string, context?: LogContext): void
  settle(result: JobResult): void
}
