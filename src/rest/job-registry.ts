// The jobs a REST server answers for. `weir run` registers its one job; a session cluster would
// register each job it runs. Besides the jobs, the registry keeps the asynchronous operations
// started through REST (savepoints, stop-with-savepoint, checkpoints), keyed by trigger id as
// in Flink, and knows whether a REST client still waits to learn an outcome, so that the
// embedding process can keep answering until it has.

import { randomBytes } from 'node:crypto'
import type { CheckpointOptions } from '../checkpoint/checkpoint-options.ts'
import type { CheckpointStatsTracker } from '../checkpoint/checkpoint-stats.ts'
import type { JobMetricStore } from '../metrics/job-metric-store.ts'
import type { CompletedCheckpointRef } from '../checkpoint/storage/checkpoint-storage.ts'
import type { Configuration } from '../config/configuration.ts'
import type { JobMetrics, JobResult } from '../runtime/jobmanager/job-types.ts'

export type ManagedJobStatus = 'RUNNING' | 'RESTARTING' | 'FINISHED' | 'FAILED' | 'CANCELED'

/** Where the job restored from most recently (initial -s / --from-checkpoint, or a restart). */
export interface RestoreInfo {
  readonly id: number
  readonly path: string | null
  readonly isSavepoint: boolean
  readonly restoredAt: number
}

/** A vertex of the job graph as the API shows it. */
export interface ManagedVertex {
  readonly id: number
  readonly name: string
  readonly parallelism: number
  readonly maxParallelism: number
  readonly operators: ReadonlyArray<{ readonly name: string }>
  readonly uids: readonly string[]
  readonly inputs: ReadonlyArray<{ readonly source: number; readonly partitioner: { readonly type: string } }>
}

/** A failure of an attempt (the exception history). */
export interface ManagedFailure {
  readonly error: { readonly name: string; readonly message: string; readonly stack?: string; readonly location?: { readonly operatorName: string; readonly subtaskIndex: number; readonly parallelism: number; readonly attempt: number } }
  readonly timestamp: number
  readonly attempt: number
}

/**
 * What the REST API needs of a job: the job master's state, whoever runs the job (the embedded
 * mini cluster's JobExecution today, a JobManager process in cluster mode). The API only reads
 * it, apart from the operations at the end.
 */
export interface ManagedJob {
  readonly jobId: string
  readonly job: {
    readonly name: string
    readonly config: Configuration
    readonly graph: { readonly vertices: readonly ManagedVertex[] }
  }
  readonly status: ManagedJobStatus
  readonly startTime: number
  readonly endTime: number | null
  readonly metrics: JobMetrics
  /** Slots the job runs in (its TaskManager's, in the embedded cluster). */
  readonly slots: number
  /** Attempts after the first one: the number of restarts. */
  readonly attemptCount: number
  readonly checkpointOptions: CheckpointOptions
  readonly coordinator: {
    readonly stats: CheckpointStatsTracker
    readonly counts: { readonly triggered: number; readonly completed: number; readonly failed: number }
    readonly latest: CompletedCheckpointRef | null
    readonly completed: readonly CompletedCheckpointRef[]
  }
  readonly taskMetrics: JobMetricStore
  readonly failures: readonly ManagedFailure[]
  /** When the job first entered each status. */
  readonly statusTimestamps: Readonly<Record<string, number>>
  readonly restored: RestoreInfo | null
  readonly restoreCount: number
  /** The current input watermark of each subtask of a vertex. */
  watermarks?(vertex: number): number[]
  readonly result: Promise<JobResult>
  cancel(): Promise<void>
  triggerCheckpoint(): number | null
  triggerSavepoint(targetDir?: string, options?: { cancelJob?: boolean }): Promise<string>
  stopWithSavepoint(targetDir?: string, options?: { drain?: boolean }): Promise<string>
}

export type OperationKind = 'savepoint' | 'stop' | 'checkpoint'

export interface Operation {
  readonly triggerId: string
  readonly kind: OperationKind
  readonly startedAt: number
  status: 'IN_PROGRESS' | 'COMPLETED'
  /** Savepoint directory, once completed. */
  location?: string
  /** The checkpoint's id (checkpoint operations). */
  checkpointId?: number
  /** Why it failed (then status is COMPLETED, as in Flink). */
  failure?: { readonly name: string; readonly code?: string; readonly message: string; readonly stack?: string }
  /** Whether a client has read the outcome since it completed. */
  observed: boolean
}

export interface JobEntry {
  readonly job: ManagedJob
  readonly registeredAt: number
  /** Set when the job ended: what JobExecution.result resolved to. */
  result: JobResult | null
  /** A REST client asked to cancel; the job reports CANCELLING until it is CANCELED. */
  cancelRequested: boolean
  /** A stop or cancel-job savepoint was requested: no further savepoint or stop is accepted. */
  stopping: OperationKind | null
  /** A client cancelled through REST and has not yet seen the job's final state. */
  awaitingFinalState: boolean
  readonly operations: Map<string, Operation>
}

/** Completed operations kept per job (the oldest are dropped first). */
const KEPT_OPERATIONS = 100

export class JobRegistry {
  private readonly entries = new Map<string, JobEntry>()

  register(job: ManagedJob): JobEntry {
    if (this.entries.has(job.jobId)) throw new Error(`job ${job.jobId} is already registered`)
    const entry: JobEntry = {
      job, registeredAt: Date.now(), result: null, cancelRequested: false, stopping: null, awaitingFinalState: false, operations: new Map(),
    }
    this.entries.set(job.jobId, entry)
    job.result.then((r) => (entry.result = r), () => {})
    return entry
  }

  unregister(jobId: string): boolean {
    return this.entries.delete(jobId)
  }

  get(jobId: string): JobEntry | undefined {
    return this.entries.get(jobId)
  }

  /** Every job, oldest first. */
  list(): JobEntry[] {
    return [...this.entries.values()]
  }

  /** Starts an asynchronous operation for a job; `run` settles it. */
  startOperation(entry: JobEntry, kind: OperationKind, run: Promise<{ location?: string; checkpointId?: number }>, triggerId = newTriggerId()): Operation {
    const op: Operation = { triggerId, kind, startedAt: Date.now(), status: 'IN_PROGRESS', observed: false }
    entry.operations.set(triggerId, op)
    run.then(
      (r) => {
        op.location = r.location
        op.checkpointId = r.checkpointId
        op.status = 'COMPLETED'
      },
      (e: unknown) => {
        const err = e instanceof Error ? e : new Error(String(e))
        op.failure = { name: err.name, code: (err as { code?: string }).code, message: err.message, stack: err.stack }
        op.status = 'COMPLETED'
      },
    ).finally(() => prune(entry.operations))
    return op
  }

  /**
   * Whether a REST client is still to learn an outcome it asked for: a savepoint or stop that
   * completed unread, or the final state of a job it cancelled.
   */
  hasUnobservedOutcomes(): boolean {
    for (const e of this.entries.values()) {
      if (e.awaitingFinalState) return true
      for (const op of e.operations.values()) if (op.kind !== 'checkpoint' && !op.observed) return true
    }
    return false
  }
}

export function newTriggerId(): string {
  return randomBytes(16).toString('hex')
}

function prune(operations: Map<string, Operation>): void {
  let excess = operations.size - KEPT_OPERATIONS
  if (excess <= 0) return
  for (const [id, op] of operations) {
    if (excess <= 0) break
    if (op.status !== 'COMPLETED') continue
    operations.delete(id)
    excess--
  }
}
