// One job's master on the JobManager: its checkpoint coordinator, restart strategy and the
// attempt that runs now. Its lifecycle is the states in states/ (created -> running ->
// restarting -> ... -> finished | failed | canceled); this class loops over them and is the
// job's public face (what the REST API and the CLI call: cancel, savepoints, stop).

import { SAVEPOINTS_DIR } from '../../config/options.ts'
import { UserError, WeirError } from '../../errors.ts'
import type { CompiledJob } from '../compile.ts'
import type { CheckpointOptions } from '../../checkpoint/checkpoint-options.ts'
import { CheckpointCoordinator } from '../../checkpoint/coordinator.ts'
import { s3Settings } from '../../checkpoint/storage/s3/s3-location.ts'
import { createRestartStrategy, type RestartStrategy } from './restart-strategy.ts'
import type { Attempt } from './attempt.ts'
import type { JobMetrics, JobResult, JobRunOptions, JobStatus } from './job-types.ts'
import type { InitialRestore } from './restore-planner.ts'
import type { PreparedJob } from './states/created.ts'
import type { JobMasterContext, JobMasterServices, Transition } from './states/job-state.ts'
import { running } from './states/running.ts'
import { restarting } from './states/restarting.ts'
import { ended } from './states/ended.ts'
import type { FailureRecord } from './states/job-state.ts'
import { JobMetricStore } from '../../metrics/job-metric-store.ts'
import type { LogContext } from './job-types.ts'

export class JobMaster implements JobMasterContext {
  readonly job: CompiledJob
  readonly jobId: string
  readonly slots: number
  readonly checkpointOptions: CheckpointOptions
  readonly coordinator: CheckpointCoordinator
  readonly restartStrategy: RestartStrategy
  readonly initialRestore: InitialRestore | null
  readonly result: Promise<JobResult>
  readonly started = performance.now()
  readonly startTime = Date.now()
  private readonly abort = new AbortController()
  readonly cancellation: AbortSignal = this.abort.signal

  /** RUNNING until the job ends; then its final status. */
  status: JobMasterContext['status'] = 'RUNNING'
  attempt: Attempt | null = null
  attemptNumber = 0
  /** When the current attempt started processing (after a restart: the recovery point). */
  attemptStartedAt = 0
  restarts = 0
  canceled = false
  stopping = false
  /** Where the job restored from most recently (the initial -s / --from-checkpoint, or a restart). */
  restored: JobMasterContext['restored'] = null
  restoreCount = 0
  endTime: number | null = null
  settle!: (result: JobResult) => void
  private done = false
  /** Every subtask's metrics in the current attempt. */
  readonly taskMetrics = new JobMetricStore()
  /** The newest failures of attempts, oldest first (the exception history). */
  readonly failures: FailureRecord[] = []
  /** When the job last entered each status (Flink's timestamps of /jobs/:id). */
  readonly statusTimestamps: Record<string, number> = {}

  constructor(prepared: PreparedJob, readonly options: JobRunOptions, readonly services: JobMasterServices, slots: number) {
    this.job = prepared.job
    this.jobId = prepared.jobId
    this.slots = slots
    this.checkpointOptions = prepared.checkpointOptions
    this.initialRestore = prepared.initialRestore
    this.coordinator = new CheckpointCoordinator(this.checkpointOptions, prepared.storage, { jobId: this.jobId, jobName: this.job.name, graph: this.job.graph, s3: () => s3Settings(this.job.config) }, prepared.initialRestore?.checkpointId ?? 0)
    this.coordinator.recordCompleted = (c) => services.ha.setLatestCheckpoint(this.jobId, { checkpointId: c.id, path: c.dir ?? null })
    this.restartStrategy = createRestartStrategy(this.job.config)
    this.result = new Promise((resolve) => (this.settle = resolve))
    const initial = prepared.initialRestore
    if (initial) {
      this.restored = { id: initial.checkpointId, path: initial.source, isSavepoint: initial.isSavepoint, restoredAt: Date.now() }
      this.restoreCount = 1
    }
  }

  /** Runs the job's states until it ends; `result` settles then. */
  start(): void {
    void this.run()
  }

  private async run(): Promise<void> {
    let t: Transition = { to: 'running', restore: this.initialRestore }
    for (;;) {
      if (t.to === 'running') t = await running(this, t.restore)
      else if (t.to === 'restarting') t = await restarting(this, t.error, t.failedAt)
      else break
    }
    if (this.done) return
    this.done = true
    const status: JobStatus = t.to === 'finished' ? 'FINISHED' : t.to === 'failed' ? 'FAILED' : 'CANCELED'
    await ended(this, status, t.to === 'failed' ? t.error : undefined)
  }

  get metrics(): JobMetrics {
    return this.attempt?.metrics ?? { recordsIn: 0, recordsOut: 0 }
  }

  /** The current input watermark of each subtask of `vertex` (-Infinity before the first; Infinity at the end). */
  watermarks(vertex: number): number[] {
    const v = this.job.graph.vertices[vertex]
    if (!v) return []
    const reported = this.attempt?.watermarks
    return Array.from({ length: v.parallelism }, (_, i) => reported?.get(`${vertex}/${i}`) ?? -Infinity)
  }

  get attemptCount(): number {
    return this.attemptNumber
  }

  private get isDone(): boolean {
    return this.status === 'FINISHED' || this.status === 'FAILED' || this.status === 'CANCELED' || this.done
  }

  log(line: string, context?: LogContext): void {
    this.options.onLog?.(line, { jobId: this.jobId, ...context })
  }

  /** Cancels the job: stops every slot; the result settles as CANCELED. */
  async cancel(): Promise<void> {
    if (this.isDone) return
    this.canceled = true
    this.abort.abort(new WeirError('WEIR_JOB_CANCELED', `job ${this.jobId} was canceled`))
    await this.attempt?.cancel()
  }

  /** Triggers a checkpoint now; null when the job is not running. */
  triggerCheckpoint(): number | null {
    return this.coordinator.triggerNow()
  }

  /** Takes a savepoint into `targetDir` (default execution.checkpointing.savepoint-dir); optionally cancels the job after it. */
  async triggerSavepoint(targetDir?: string, options: { cancelJob?: boolean } = {}): Promise<string> {
    const dir = this.savepointTarget(targetDir)
    if (this.isDone) throw new UserError('WEIR_INVALID_ARGUMENT', `job ${this.jobId} is ${this.status}; a savepoint needs a running job`)
    const path = await this.coordinator.triggerSavepoint(dir)
    this.log(`Savepoint completed: ${path}`)
    if (options.cancelJob) await this.cancel()
    return path
  }

  /**
   * Stop with savepoint: sources stop right after the savepoint's barrier, the savepoint
   * completes (transactional sinks commit its output) and the job finishes. With drain, the
   * sources end their input first, so everything in flight is processed, and the savepoint is
   * the job's final state.
   */
  async stopWithSavepoint(targetDir?: string, options: { drain?: boolean } = {}): Promise<string> {
    const dir = this.savepointTarget(targetDir)
    const attempt = this.attempt
    if (this.isDone || !attempt) throw new UserError('WEIR_INVALID_ARGUMENT', `job ${this.jobId} is ${this.status}; only a running job can be stopped`)
    if (options.drain) {
      const path = await attempt.drainToSavepoint(dir)
      this.log(`Savepoint completed: ${path}`)
      this.stopping = true
      return path
    }
    let path: string
    try {
      path = await this.coordinator.triggerSavepoint(dir, { stop: true })
    } catch (e) {
      // The sources resume when the savepoint is aborted (task.ts): the job goes on.
      this.log(`Stop with savepoint failed, the job keeps running: ${(e as Error).message}`)
      throw e
    }
    this.log(`Savepoint completed: ${path}`)
    this.stopping = true
    attempt.stopTasks()
    return path
  }

  private savepointTarget(targetDir: string | undefined): string {
    const dir = targetDir ?? this.job.config.get(SAVEPOINTS_DIR)
    if (!dir) throw new UserError('WEIR_INVALID_ARGUMENT', 'no savepoint directory: give one, or set execution.checkpointing.savepoint-dir')
    return dir
  }
}
