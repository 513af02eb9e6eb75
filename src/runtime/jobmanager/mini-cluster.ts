// The embedded mini cluster that `weir run` starts: a JobManager on the main thread and one
// TaskManager whose slots are worker threads. The JobManager compiles the job, runs the split
// enumerators and the checkpoint coordinator, deploys every slot, and on a failure asks the
// restart strategy whether to restart every task from the latest completed checkpoint.

import { randomBytes } from 'node:crypto'
import { compileJob, type CompiledJob } from '../compile.ts'
import type { RawConfig } from '../../config/configuration.ts'
import { LMDB_LOCAL_DIR, SAVEPOINTS_DIR, STATE_BACKEND, TASK_SLOTS } from '../../config/options.ts'
import { removeJobWorkingDirs } from '../../state/lmdb/working-dir.ts'
import { deserializeError, isWeirError, WeirError } from '../../errors.ts'
import { loadJobDefinition } from '../load-job.ts'
import { readCheckpointOptions, type CheckpointOptions } from '../../checkpoint/checkpoint-options.ts'
import { CheckpointCoordinator } from '../../checkpoint/coordinator.ts'
import { FsCheckpointStorage } from '../../checkpoint/storage/fs-checkpoint-storage.ts'
import { MemoryCheckpointStorage } from '../../checkpoint/storage/memory-checkpoint-storage.ts'
import type { CheckpointStorage } from '../../checkpoint/storage/checkpoint-storage.ts'
import { findLatestCheckpoint, readMetadata, resolveCheckpointDir, type CheckpointMetadata } from '../../checkpoint/metadata.ts'
import { metadataPath } from '../../checkpoint/protocol/paths.ts'
import { planRestore, type RestorePlan } from '../../checkpoint/restore-plan.ts'
import { createRestartStrategy, type RestartStrategy } from './restart-strategy.ts'
import { Attempt, type AttemptOutcome } from './attempt.ts'
import type { CheckpointingSetup } from '../messages.ts'
import { UserError } from '../../errors.ts'

export interface JobRunOptions {
  /** file: URL of the job module (bundled, or directly importable). */
  readonly artifactUrl: string
  /** The job file as the user named it, for error messages (default: the artifact's path). */
  readonly jobFile?: string
  readonly args?: readonly string[]
  readonly config?: RawConfig
  /** Resume from this checkpoint or savepoint (a directory or its _metadata), or 'latest' under state.checkpoints.dir. */
  readonly restoreFrom?: string
  /** Skip stored state whose operator no longer exists instead of failing. */
  readonly allowNonRestoredState?: boolean
  /** Route print() output through onStdout instead of writing fd 1 from the workers. */
  readonly onStdout?: (text: string) => void
  readonly onMetrics?: (metrics: JobMetrics) => void
  /** Log lines about attempts, restarts and checkpoints. */
  readonly onLog?: (line: string) => void
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

export class JobExecution {
  readonly job: CompiledJob
  readonly jobId: string
  readonly slots: number
  readonly checkpointOptions: CheckpointOptions
  readonly coordinator: CheckpointCoordinator
  private readonly restartStrategy: RestartStrategy
  private attempt: Attempt | null = null
  private attemptNumber = 0
  private restarts = 0
  private readonly started = performance.now()
  private settle!: (result: JobResult) => void
  private done = false
  private canceled = false
  private cancelWait: (() => void) | null = null
  readonly result: Promise<JobResult>
  /** When the current attempt started processing (after a restart: the recovery point). */
  attemptStartedAt = 0

  /** Where the job restored from most recently (the initial -s / --from-checkpoint, or a restart). */
  restored: { id: number; path: string | null; isSavepoint: boolean; restoredAt: number } | null = null
  restoreCount = 0

  /** RUNNING until the job ends; then its final status. */
  status: 'RUNNING' | 'RESTARTING' | JobStatus = 'RUNNING'
  readonly startTime = Date.now()
  endTime: number | null = null

  private constructor(job: CompiledJob, private readonly options: JobRunOptions, storage: CheckpointStorage, jobId: string, restoredId: number) {
    this.job = job
    this.jobId = jobId
    const configured = job.config.get(TASK_SLOTS)
    this.slots = configured > 0 ? configured : Math.max(...job.graph.vertices.map((v) => v.parallelism))
    this.checkpointOptions = readCheckpointOptions(job.config)
    this.coordinator = new CheckpointCoordinator(this.checkpointOptions, storage, { jobId: this.jobId, jobName: job.name, graph: job.graph }, restoredId)
    this.restartStrategy = createRestartStrategy(job.config)
    this.result = new Promise((resolve) => (this.settle = resolve))
  }

  /** Compiles the job and deploys it; the returned execution's `result` settles when it ends. */
  static async start(options: JobRunOptions): Promise<JobExecution> {
    const definition = await loadJobDefinition(options.artifactUrl, options.jobFile)
    const job = compileJob(definition, options.args ?? [], options.config ?? {})
    const checkpointOptions = readCheckpointOptions(job.config)
    const jobId = newJobId()
    // Savepoints work without periodic checkpoints, so there is always a coordinator and a storage.
    let storage: CheckpointStorage
    if (checkpointOptions.storage === 'filesystem' && checkpointOptions.intervalMs !== null) {
      const fs = new FsCheckpointStorage(checkpointOptions.dir!, jobId)
      await fs.initialize()
      storage = fs
    } else {
      storage = new MemoryCheckpointStorage()
    }
    let initialRestore: (RestorePlan & { source: string; isSavepoint: boolean }) | null = null
    if (options.restoreFrom !== undefined) {
      initialRestore = await planFromPath(options.restoreFrom, checkpointOptions, job, options.allowNonRestoredState ?? false)
      options.onLog?.(`Restoring job '${job.name}' from ${initialRestore.isSavepoint ? 'savepoint' : 'checkpoint'} ${initialRestore.checkpointId} (${initialRestore.source})`)
    }
    for (const v of job.graph.vertices) {
      const head = v.operators[0]!
      if (head.kind === 'source' && head.source.rewindable === false) {
        options.onLog?.(`Warning: source '${head.name}' cannot rewind: records that arrive while the job is down (after a failure, until it restarts) are lost, as with Flink's socket source`)
      }
    }
    const execution = new JobExecution(job, options, storage, jobId, initialRestore?.checkpointId ?? 0)
    if (initialRestore) {
      execution.restored = { id: initialRestore.checkpointId, path: initialRestore.source, isSavepoint: initialRestore.isSavepoint, restoredAt: Date.now() }
      execution.restoreCount = 1
    }
    void execution.run(initialRestore)
    return execution
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

  /** Cancels the job: stops every slot; the result settles as CANCELED. */
  async cancel(): Promise<void> {
    if (this.done) return
    this.canceled = true
    this.cancelWait?.()
    await this.attempt?.cancel()
  }

  /** Triggers a checkpoint now; null when the job is not running. */
  triggerCheckpoint(): number | null {
    return this.coordinator.triggerNow()
  }

  /** Takes a savepoint into `targetDir` (default state.savepoints.dir); optionally cancels the job after it. */
  async triggerSavepoint(targetDir?: string, options: { cancelJob?: boolean } = {}): Promise<string> {
    const dir = this.savepointTarget(targetDir)
    if (this.done) throw new UserError('WEIR_INVALID_ARGUMENT', `job ${this.jobId} is ${this.status}; a savepoint needs a running job`)
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
    if (this.done || !attempt) throw new UserError('WEIR_INVALID_ARGUMENT', `job ${this.jobId} is ${this.status}; only a running job can be stopped`)
    if (options.drain) {
      const path = await attempt.drainToSavepoint(dir)
      this.log(`Savepoint completed: ${path}`)
      this.stopping = true
      return path
    }
    const path = await this.coordinator.triggerSavepoint(dir, { stop: true })
    this.log(`Savepoint completed: ${path}`)
    this.stopping = true
    attempt.stopTasks()
    return path
  }

  private stopping = false

  private savepointTarget(targetDir: string | undefined): string {
    const dir = targetDir ?? this.job.config.get(SAVEPOINTS_DIR)
    if (!dir) throw new UserError('WEIR_INVALID_ARGUMENT', 'no savepoint directory: give one, or set state.savepoints.dir')
    return dir
  }

  private log(line: string): void {
    this.options.onLog?.(line)
  }

  private async run(initialRestore: (RestorePlan & { source: string; isSavepoint: boolean }) | null): Promise<void> {
    let restore: RestorePlan | null = initialRestore
    for (;;) {
      this.status = 'RUNNING'
      const outcome = await this.runAttempt(restore)
      if (outcome.kind === 'finished') return this.end('FINISHED')
      if (this.stopping) return this.end('FINISHED')
      if (outcome.kind === 'canceled' || this.canceled) return this.end('CANCELED')
      const error = outcome.error
      this.restartStrategy.notifyFailure(Date.now())
      if (!error.retriable || !this.restartStrategy.canRestart()) {
        if (error.retriable && this.restartStrategy.name !== 'none') {
          this.log(`Not restarting: ${this.restartStrategy.describeLimit()}`)
        }
        return this.end('FAILED', error)
      }
      const delay = this.restartStrategy.backoffMs()
      this.status = 'RESTARTING'
      const latest = this.coordinator.latest
      this.log(`Attempt ${this.attemptNumber} of job '${this.job.name}' failed: ${error.message}`)
      this.log(`Restarting in ${delay} ms from ${latest ? `checkpoint ${latest.id}` : initialRestore ? `checkpoint ${initialRestore.checkpointId}` : 'the beginning (no checkpoint completed yet)'} (${this.restartStrategy.name})`)
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, delay)
        this.cancelWait = () => {
          clearTimeout(t)
          resolve()
        }
      })
      this.cancelWait = null
      if (this.canceled) return this.end('CANCELED')
      this.restarts++
      this.attemptNumber++
      try {
        restore = latest ? planRestore(latest.metadata, latest.dir, this.job.graph, this.options.allowNonRestoredState ?? false) : initialRestore
        if (restore) {
          this.restored = { id: restore.checkpointId, path: latest?.dir ?? initialRestore?.source ?? null, isSavepoint: latest ? false : (initialRestore?.isSavepoint ?? false), restoredAt: Date.now() }
          this.restoreCount++
        }
      } catch (e) {
        return this.end('FAILED', isWeirError(e) ? e : new WeirError('WEIR_RESTORE_FAILED', (e as Error).message))
      }
    }
  }

  private async runAttempt(restore: RestorePlan | null): Promise<AttemptOutcome> {
    const checkpointing: CheckpointingSetup = {
      periodic: this.checkpointOptions.intervalMs !== null,
      exactlyOnce: this.checkpointOptions.exactlyOnce,
      unaligned: this.checkpointOptions.unaligned,
      alignedTimeoutMs: this.checkpointOptions.alignedTimeoutMs,
      storage: this.coordinator.storage.type === 'filesystem'
        ? { type: 'filesystem', baseDir: this.checkpointOptions.dir! }
        : { type: 'jobmanager', maxStateBytes: (this.coordinator.storage as MemoryCheckpointStorage).maxStateBytes },
    }
    const attempt = new Attempt({
      job: this.job, jobId: this.jobId, slots: this.slots, attemptNumber: this.attemptNumber,
      artifactUrl: this.options.artifactUrl, args: this.options.args ?? [], checkpointing, restore,
      coordinator: this.coordinator, onStdout: this.options.onStdout, onMetrics: this.options.onMetrics,
    })
    this.attempt = attempt
    this.attemptStartedAt = performance.now()
    if (this.canceled) await attempt.cancel()
    const outcome = await attempt.outcome
    return outcome
  }

  private async end(status: JobStatus, error?: WeirError): Promise<void> {
    if (this.done) return
    this.done = true
    this.status = status
    this.endTime = Date.now()
    const metrics = this.metrics
    await this.coordinator.shutdown(status).catch(() => {})
    // Slots are terminated without running their exit hooks: remove LMDB working directories here.
    if (this.job.config.get(STATE_BACKEND) === 'lmdb') removeJobWorkingDirs(this.job.config.get(LMDB_LOCAL_DIR), this.jobId)
    this.settle({
      jobId: this.jobId, jobName: this.job.name, status, error, durationMs: performance.now() - this.started, slots: this.slots,
      restarts: this.restarts, checkpoints: { ...this.coordinator.counts }, ...metrics,
    })
  }
}

function newJobId(): string {
  return randomBytes(16).toString('hex')
}

async function planFromPath(path: string, options: CheckpointOptions, job: CompiledJob, allowNonRestored: boolean): Promise<RestorePlan & { source: string; isSavepoint: boolean }> {
  let dir: string
  if (path === 'latest') {
    if (!options.dir) throw new UserError('WEIR_RESTORE_FAILED', '--from-checkpoint latest needs state.checkpoints.dir to know where to look')
    dir = await findLatestCheckpoint(options.dir)
  } else {
    dir = resolveCheckpointDir(path)
  }
  const metadata: CheckpointMetadata = await readMetadata(metadataPath(dir))
  return { ...planRestore(metadata, dir, job.graph, allowNonRestored), source: dir, isSavepoint: metadata.kind === 'savepoint' }
}
