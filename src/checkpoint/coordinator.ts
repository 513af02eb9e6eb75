// The checkpoint coordinator (on the JobManager). It triggers checkpoints at the sources on a
// schedule, collects the tasks' acknowledgements, finalizes a checkpoint by writing its
// metadata last, keeps the retained ones, and tells the tasks when a checkpoint completed or
// was aborted. Decisions (when to trigger, what to keep, when failures are too many) come from
// src/checkpoint/protocol/; this class performs them.

import type { CheckpointOptions } from './checkpoint-options.ts'
import type { CheckpointStorage, CompletedCheckpointRef } from './storage/checkpoint-storage.ts'
import { vertexStateEntries, type CheckpointMetadata } from './metadata.ts'
import type { TaskAck } from './state-handle.ts'
import type { JobGraph } from '../graph/job-graph.ts'
import type { CheckpointBarrier } from '../runtime/network/events.ts'
import { PendingCheckpoint } from './protocol/pending-checkpoint.ts'
import { decideTrigger } from './protocol/trigger-policy.ts'
import { CheckpointFailureManager } from './protocol/failure-manager.ts'
import { describeFailureReason, type CheckpointFailureReason } from './protocol/failure-reason.ts'
import { onCompletion, deleteOnTermination, type TerminalStatus } from './protocol/retention.ts'
import { WeirError, type ErrorCode } from '../errors.ts'
import { ensureDir } from '../io/directories.ts'
import { SYSTEM_CLOCK, type Clock } from '../runtime/clock.ts'
import { writeMetadata } from './metadata.ts'
import { savepointDirName } from './protocol/paths.ts'
import { savepointTarget, type SavepointTarget } from './storage/savepoint-target.ts'
import type { S3Settings } from './storage/s3/s3-location.ts'
import { randomBytes } from 'node:crypto'
import { CheckpointStatsTracker, type CheckpointStats } from './checkpoint-stats.ts'
import { RetainedCheckpoints } from './retained-checkpoints.ts'

/** What the coordinator needs from the running attempt of the job. */
export interface CoordinatorAttempt {
  /** Every task as `${vertex}/${subtask}`. */
  readonly taskKeys: readonly string[]
  /** Whether every task is running (none ended or still deploying). */
  allTasksRunning(): boolean
  /** Sends a periodic trigger to the source tasks, or a final one to every task. */
  sendTrigger(barrier: CheckpointBarrier, final: boolean): void
  sendComplete(checkpointId: number): void
  sendAborted(checkpointId: number): void
  /** The split enumerators' state, captured in the same turn as the trigger is sent. */
  snapshotEnumerators(checkpointId: number): Record<string, unknown>
  /** Too many checkpoint failures: fail the job. */
  failJob(error: WeirError): void
}

export type { CheckpointStats } from './checkpoint-stats.ts'

/** S3 as the SDK finds it (environment, ~/.aws) when the job gave no s3.* options. */
const DEFAULT_S3: S3Settings = { endpoint: null, accessKey: null, secretKey: null, pathStyle: false, region: 'us-east-1' }

/** What to take: a periodic checkpoint, the final one of a bounded job, or a savepoint. */
interface TriggerKind {
  readonly final: boolean
  readonly savepoint?: { readonly target: SavepointTarget; readonly stop: boolean }
}

/** How a checkpoint that was waited for ended; a failure says why, in the words a user sees. */
export type CheckpointOutcome =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: CheckpointFailureReason; readonly message: string }

interface Pending {
  readonly checkpoint: PendingCheckpoint<TaskAck>
  readonly enumerators: Record<string, unknown>
  readonly timeout: unknown
  readonly kind: TriggerKind
  readonly stats: CheckpointStats
  readonly done: { resolve: (outcome: CheckpointOutcome) => void }
}

export class CheckpointCoordinator {
  private counter: number
  private readonly pending = new Map<number, Pending>()
  private readonly retained: RetainedCheckpoints
  /** Counts, summary, latest checkpoints and the bounded history (web.checkpoints.history). */
  readonly stats: CheckpointStatsTracker
  readonly counts = { triggered: 0, completed: 0, failed: 0 }
  private attempt: CoordinatorAttempt | null = null
  private timer: unknown = null
  private lastTriggerAt = -Infinity
  private lastEndAt = -Infinity
  private readonly failures: CheckpointFailureManager
  private readonly clock: Clock

  constructor(
    readonly options: CheckpointOptions,
    readonly storage: CheckpointStorage,
    /** `s3`: the job's S3 settings, for savepoints to s3:// targets (default: from no configuration). */
    private readonly job: { readonly jobId: string; readonly jobName: string; readonly graph: JobGraph; readonly s3?: () => S3Settings },
    startAfterId = 0,
    clock: Clock = SYSTEM_CLOCK,
  ) {
    this.counter = startAfterId
    this.retained = new RetainedCheckpoints(storage)
    this.failures = new CheckpointFailureManager(options.tolerableFailures)
    this.stats = new CheckpointStatsTracker(options.historySize ?? 10)
    this.clock = clock
  }

  private now(): number {
    return this.clock.now()
  }

  /** The newest checkpoints' statistics, oldest first (at most web.checkpoints.history). */
  get history(): readonly CheckpointStats[] {
    return this.stats.history
  }

  /**
   * Records a finalized checkpoint where a recovering JobManager looks for it (high
   * availability), before any task hears that it completed: as in Flink, a checkpoint goes into
   * the completed-checkpoint store first, then sinks commit. The other order lost the race to a
   * JobManager killed in between: its successor restored an older checkpoint than the sinks had
   * committed, and the output held those records twice.
   */
  recordCompleted: ((checkpoint: CompletedCheckpointRef) => Promise<void>) | null = null

  /** The retained completed checkpoints, oldest first. */
  get completed(): readonly CompletedCheckpointRef[] {
    return this.retained.completed
  }

  get latest(): CompletedCheckpointRef | null {
    return this.retained.latest
  }

  /** A new attempt of the job is deployed: start the periodic schedule. */
  startAttempt(attempt: CoordinatorAttempt): void {
    this.attempt = attempt
    this.lastTriggerAt = this.now()
    this.schedule()
  }

  /** The attempt ended (failure, cancellation, finish): abort what is in flight, stop the schedule. */
  stopAttempt(reason: CheckpointFailureReason): void {
    if (this.timer !== null) this.clock.clearTimer(this.timer)
    this.timer = null
    for (const id of [...this.pending.keys()]) this.abort(id, reason, undefined, false)
    this.attempt = null
  }

  /** Triggers a checkpoint now, outside the schedule (REST). */
  triggerNow(): number | null {
    if (!this.attempt?.allTasksRunning()) return null
    return this.trigger({ final: false })
  }

  /** The final checkpoint of a bounded job, once every task ended; resolves with how it ended. */
  triggerFinal(): Promise<CheckpointOutcome> {
    for (const id of [...this.pending.keys()]) this.abort(id, 'JOB_REACHED_END', undefined, true)
    return this.triggerAndWait({ final: true })
  }

  /**
   * Takes a savepoint into a new directory under `targetDir` (a path or s3://bucket/prefix):
   * always aligned, every keyed state in the canonical format, self-contained (relative paths).
   * `stop`: sources emit nothing after its barrier (stop with savepoint). `final`: the job already
   * ended (drain). Resolves with the savepoint's directory or URL; rejects with the reason when
   * it fails.
   */
  async triggerSavepoint(targetDir: string, options: { stop?: boolean; final?: boolean } = {}): Promise<string> {
    const target = savepointTarget(targetDir, savepointDirName(this.job.jobId, randomBytes(6).toString('hex')), this.job.s3 ?? (() => DEFAULT_S3))
    const dir = target.localDir
    if (options.final) for (const id of [...this.pending.keys()]) this.abort(id, 'JOB_REACHED_END', undefined, true)
    if (!this.attempt) throw new WeirError('WEIR_CHECKPOINT_FAILED', 'the savepoint failed: the job is not running', { retriable: true, domain: 'external' })
    // A target that cannot be written is refused here, before any task stops for the barrier.
    try {
      await ensureDir(dir)
    } catch (e) {
      throw new WeirError('WEIR_CHECKPOINT_FAILED', `the savepoint failed: ${(e as Error).message}`, { cause: e, retriable: true, domain: 'external' })
    }
    const outcome = await this.triggerAndWait({ final: options.final ?? false, savepoint: { target, stop: options.stop ?? false } })
    if (!outcome.ok) {
      throw new WeirError('WEIR_CHECKPOINT_FAILED', `the savepoint failed: ${outcome.message}`, { retriable: true, domain: 'external' })
    }
    return target.path
  }

  private triggerAndWait(kind: TriggerKind): Promise<CheckpointOutcome> {
    return new Promise((resolve) => {
      const id = this.trigger(kind)
      if (id === null) resolve({ ok: false, reason: 'TASKS_NOT_RUNNING', message: 'the job is not running' })
      else this.pending.get(id)!.done.resolve = resolve
    })
  }

  onAck(checkpointId: number, ack: TaskAck): void {
    const p = this.pending.get(checkpointId)
    if (!p) return
    const outcome = p.checkpoint.acknowledge(`${ack.vertex}/${ack.subtask}`, ack)
    if (outcome !== 'SUCCESS') return
    const s = p.stats
    const checkpointed = ack.checkpointedSize ?? ack.stateSize
    s.acknowledged++
    s.stateSize += ack.stateSize
    s.checkpointedSize += checkpointed
    s.persistedBytes += ack.persistedBytes ?? 0
    s.maxSyncMs = Math.max(s.maxSyncMs, ack.syncMs)
    s.maxAsyncMs = Math.max(s.maxAsyncMs, ack.asyncMs)
    s.maxAlignmentMs = Math.max(s.maxAlignmentMs, ack.alignmentMs)
    s.latestAckAt = this.now()
    const v = s.tasks.get(ack.vertex)
    if (v) {
      v.acknowledged++
      v.stateSize += ack.stateSize
      v.checkpointedSize += checkpointed
      v.latestAckAt = s.latestAckAt
      v.subtasks[ack.subtask] = {
        subtask: ack.subtask, ackAt: s.latestAckAt, stateSize: ack.stateSize, checkpointedSize: checkpointed,
        syncMs: ack.syncMs, asyncMs: ack.asyncMs, alignmentMs: ack.alignmentMs, startDelayMs: ack.startDelayMs ?? 0,
        unaligned: ack.unaligned ?? false, persistedBytes: ack.persistedBytes ?? 0,
      }
    }
    if (p.checkpoint.isFullyAcknowledged) void this.complete(p)
  }

  /** A task declined the checkpoint; `code` is the code of the error behind it, if any. */
  onDecline(checkpointId: number, task: string, reason: string, code?: ErrorCode): void {
    if (!this.pending.has(checkpointId)) return
    const why: CheckpointFailureReason = reason.startsWith('TASK_NOT_RUNNING') ? 'TASKS_NOT_RUNNING' : reason.startsWith('STATE_TOO_LARGE') ? 'STATE_TOO_LARGE' : code === 'WEIR_STORAGE_FAILED' ? 'STORAGE_FAILURE' : 'DECLINED'
    this.abort(checkpointId, why, `task ${task}: ${reason}`, true)
  }

  /** The job ended: delete or keep the completed checkpoints as the retention policy says. */
  async shutdown(status: TerminalStatus): Promise<void> {
    this.stopAttempt('COORDINATOR_SHUTDOWN')
    // Deletions run in the background while the job runs; the job is not over until they are.
    await this.retained.settle(deleteOnTermination(this.options.retention, status))
  }

  private schedule(): void {
    if (this.timer !== null) this.clock.clearTimer(this.timer)
    this.timer = null
    const interval = this.options.intervalMs
    if (interval === null || this.attempt === null) return
    const decision = decideTrigger(
      { intervalMs: interval, minPauseMs: this.options.minPauseMs, maxConcurrent: this.options.maxConcurrent },
      { now: this.now(), pending: this.pending.size, lastTriggerAt: this.lastTriggerAt, lastEndAt: this.lastEndAt },
    )
    if (decision.kind === 'wait-for-completion') return
    const delay = decision.kind === 'trigger' ? 0 : decision.at - this.now()
    this.timer = this.clock.setTimer(() => {
      this.timer = null
      // During a stop with savepoint the periodic schedule holds, as in Flink; it goes on if the stop fails.
      if (this.attempt?.allTasksRunning() && !this.stopInProgress()) this.trigger({ final: false })
      else this.lastTriggerAt = this.now() // pre-flight: tasks not running; try at the next interval
      this.schedule()
    }, delay)
  }

  private stopInProgress(): boolean {
    for (const p of this.pending.values()) if (p.kind.savepoint?.stop) return true
    return false
  }

  private trigger(kind: TriggerKind): number | null {
    const attempt = this.attempt
    if (!attempt) return null
    const id = ++this.counter
    const triggeredAt = this.now()
    if (!kind.savepoint) this.lastTriggerAt = triggeredAt
    const isSavepoint = kind.savepoint !== undefined
    // Savepoints and final checkpoints are always aligned.
    const unaligned = this.options.unaligned && this.options.exactlyOnce && this.options.alignedTimeoutMs === 0 && !kind.final && !isSavepoint
    const barrier: CheckpointBarrier = {
      type: 'barrier', id, timestamp: triggeredAt, isSavepoint, unaligned,
      ...(kind.savepoint ? { savepointDir: kind.savepoint.target.localDir, stop: kind.savepoint.stop } : {}),
    }
    const enumerators = attempt.snapshotEnumerators(id)
    const stats: CheckpointStats = {
      id, status: 'IN_PROGRESS', triggeredAt, isSavepoint, durationMs: null, stateSize: 0, checkpointedSize: 0, persistedBytes: 0, acknowledged: 0,
      total: attempt.taskKeys.length, failureReason: null, maxSyncMs: 0, maxAsyncMs: 0, maxAlignmentMs: 0, path: kind.savepoint?.target.path ?? null,
      latestAckAt: null,
      tasks: new Map(this.job.graph.vertices.map((v) => [v.id, { acknowledged: 0, total: v.parallelism, stateSize: 0, checkpointedSize: 0, latestAckAt: null, subtasks: Array.from({ length: v.parallelism }, () => null) }])),
    }
    const timeout = this.clock.setTimer(() => this.abort(id, 'EXPIRED', undefined, true), this.options.timeoutMs)
    this.pending.set(id, { checkpoint: new PendingCheckpoint<TaskAck>(id, triggeredAt, attempt.taskKeys, isSavepoint), enumerators, timeout, kind, stats, done: { resolve: () => {} } })
    this.counts.triggered++
    this.record(stats)
    attempt.sendTrigger(barrier, kind.final)
    return id
  }

  private async complete(p: Pending): Promise<void> {
    const id = p.checkpoint.id
    this.clock.clearTimer(p.timeout)
    if (p.kind.savepoint) return this.completeSavepoint(p, p.kind.savepoint.target)
    const metadata = this.metadataOf(p, 'checkpoint')
    let ref: CompletedCheckpointRef
    try {
      ref = await this.storage.finalize(metadata)
    } catch (e) {
      this.abort(id, 'FINALIZE_FAILED', (e as Error).message, true)
      return
    }
    if (p.checkpoint.isDiscarded) {
      // Aborted while the metadata was written (the attempt ended): it does not count.
      await this.storage.discard(id).catch(() => {})
      return
    }
    if (this.recordCompleted !== null) {
      try {
        await this.recordCompleted(ref)
      } catch (e) {
        this.abort(id, 'FINALIZE_FAILED', `recording it for high availability failed: ${(e as Error).message}`, true)
        await this.storage.discard(id).catch(() => {})
        return
      }
      if (p.checkpoint.isDiscarded) {
        // Aborted while it was recorded: point recovery back at the latest completed one. With
        // none, the record names this checkpoint, which is complete on disk: its files stay.
        const previous = this.latest
        if (previous !== null && (await this.recordCompleted(previous).then(() => true, () => false))) await this.storage.discard(id).catch(() => {})
        return
      }
    }
    this.pending.delete(id)
    // A savepoint is never subsumed by a checkpoint (Flink): it was asked for, and must end on its own.
    const subsumable = [...this.pending.values()].filter((q) => !q.kind.savepoint).map((q) => q.checkpoint.id)
    const decision = onCompletion(this.retained.ids(), subsumable, id, this.options.numRetained)
    this.retained.add(ref, [...p.checkpoint.acks.values()].flatMap((a) => a.sharedFiles ?? []))
    // Dropped without waiting: nothing may run between recording the completion and telling the
    // attempt that took it. An attempt that ended in that gap never heard of the checkpoint (or the
    // next attempt did), a trigger ignored the min pause, and an older checkpoint completed after it.
    for (const old of decision.dropCompleted) this.retained.drop(old)
    for (const older of decision.subsumePending) this.abort(older, 'SUBSUMED', undefined, true)
    this.failures.onSuccess()
    this.counts.completed++
    this.lastEndAt = this.now()
    p.stats.status = 'COMPLETED'
    p.stats.durationMs = this.lastEndAt - p.checkpoint.triggeredAt
    p.stats.path = ref.dir
    this.stats.completed(p.stats)
    this.attempt?.sendComplete(id)
    p.done.resolve({ ok: true })
    this.schedule()
  }

  /** A savepoint is not a retained checkpoint: its metadata goes to its own directory (then to S3 if there), and nothing is subsumed. */
  private async completeSavepoint(p: Pending, target: SavepointTarget): Promise<void> {
    const id = p.checkpoint.id
    const metadata = this.metadataOf(p, 'savepoint')
    try {
      await writeMetadata(target.localDir, metadata)
      await target.commit()
    } catch (e) {
      this.abort(id, 'FINALIZE_FAILED', (e as Error).message, true)
      return
    }
    if (p.checkpoint.isDiscarded) {
      await target.discard().catch(() => {})
      return
    }
    this.pending.delete(id)
    this.counts.completed++
    p.stats.status = 'COMPLETED'
    p.stats.durationMs = this.now() - p.checkpoint.triggeredAt
    this.stats.completed(p.stats)
    // Only a savepoint that ends the job (stop, drain) commits output, as in Flink since 1.15: a
    // restart restores the latest checkpoint, never an intermediate savepoint, so output the
    // savepoint committed would be written again. Its committables are committed with the next
    // checkpoint that completes (or by a restore from the savepoint).
    if (p.kind.savepoint!.stop || p.kind.final) this.attempt?.sendComplete(id)
    p.done.resolve({ ok: true })
  }

  private abort(id: number, reason: CheckpointFailureReason, detail: string | undefined, tellTasks: boolean): void {
    const p = this.pending.get(id)
    if (!p) return
    this.pending.delete(id)
    this.clock.clearTimer(p.timeout)
    p.checkpoint.abort(reason)
    this.counts.failed++
    this.lastEndAt = this.now()
    p.stats.status = 'FAILED'
    p.stats.durationMs = this.lastEndAt - p.checkpoint.triggeredAt
    p.stats.failureReason = describeFailureReason(reason, detail)
    this.stats.failed(p.stats)
    this.retained.release([...p.checkpoint.acks.values()].flatMap((a) => a.sharedFiles ?? []))
    this.retained.background(p.kind.savepoint ? p.kind.savepoint.target.discard() : this.storage.discard(id))
    if (tellTasks) this.attempt?.sendAborted(id)
    p.done.resolve({ ok: false, reason, message: p.stats.failureReason })
    // A failed savepoint fails only the request, not the job.
    if (!p.kind.savepoint && this.failures.onFailure(reason) === 'fail-job') {
      this.attempt?.failJob(new WeirError('WEIR_CHECKPOINT_FAILED', `checkpoint ${id} failed: ${describeFailureReason(reason, detail)}; that exceeds execution.checkpointing.tolerable-failed-checkpoints (${this.options.tolerableFailures})`, { retriable: true, domain: reason === 'STATE_TOO_LARGE' ? 'user' : 'external' }))
    }
    if (this.attempt) this.schedule()
  }

  /** The metadata of a fully acknowledged checkpoint or savepoint. */
  private metadataOf(p: Pending, kind: CheckpointMetadata['kind']): CheckpointMetadata {
    return {
      version: 1, kind, jobId: this.job.jobId, jobName: this.job.jobName, checkpointId: p.checkpoint.id,
      triggeredAt: p.checkpoint.triggeredAt, completedAt: this.now(), vertices: vertexStateEntries(this.job.graph, p.checkpoint.acks), coordinators: p.enumerators,
    }
  }

  private record(stats: CheckpointStats): void {
    this.stats.triggered(stats)
  }
}
