// The public shapes of a job run: what a caller passes to submit a job and what it gets back
// when the job ends. Shared by the dispatcher, the job master and its states, the REST API and
// the CLI, so that none of them imports another only for its types.

import type { RawConfig } from '../../config/configuration.ts'
import type { WeirError } from '../../errors.ts'

export interface JobRunOptions {
  /** file: URL of the job module (bundled, or directly importable). */
  readonly artifactUrl: string
  /** The job file as the user named it, for error messages (default: the artifact's path). */
  readonly jobFile?: string
  readonly args?: readonly string[]
  readonly config?: RawConfig
  /** Resume from this checkpoint or savepoint (a directory or its _metadata), or 'latest' under execution.checkpointing.dir. */
  readonly restoreFrom?: string
  /** Skip stored state whose operator no longer exists instead of failing. */
  readonly allowNonRestoredState?: boolean
  /** Route print() output through onStdout instead of writing fd 1 from the workers. */
  readonly onStdout?: (text: string) => void
  readonly onMetrics?: (metrics: JobMetrics) => void
  /** Log lines about attempts, restarts and checkpoints, with their level and fields (jobId, attempt, subtask, ...). */
  readonly onLog?: (line: string, context?: LogContext) => void
  /** Report each task's lifecycle (INITIALIZING -> RUNNING -> FINISHED) to onLog at debug level. */
  readonly logTaskLifecycle?: boolean
}

/** The level and structured fields of a log line (the line's wording is the message). */
export interface LogContext {
  readonly level?: 'debug' | 'info' | 'warn' | 'error'
  readonly [field: string]: unknown
}

export interface JobMetrics {
  /** Records emitted by the sources (in the current attempt). */
  recordsIn: number
  /** Records received by the sinks (in the current attempt). */
  recordsOut: number
}

export type JobStatus = 'FINISHED' | 'FAILED' | 'CANCELED'

export interface JobResult extends JobMetrics {
  readonly jobId: string
  readonly jobName: string
  readonly status: JobStatus
  readonly error?: WeirError
  readonly durationMs: number
  readonly slots: number
  /** Number of restarts that happened. */
  readonly restarts: number
  readonly checkpoints: { readonly triggered: number; readonly completed: number; readonly failed: number }
}
