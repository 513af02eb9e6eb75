// One attempt of a job: its slots (worker threads), its split enumerators, and its part in
// checkpointing. It ends when every task finished, when any task fails, or when canceled;
// the JobExecution decides what happens next.

import { randomBytes } from 'node:crypto'
import type { CompiledJob } from '../compile.ts'
import type { CheckpointingSetup, FromWorker, ToWorker, WorkerSetup } from '../messages.ts'
import { SourceCoordinator } from './source-coordinator.ts'
import { describeGraph } from '../../graph/graph-fingerprint.ts'
import { slotOf } from '../taskmanager/task-executor.ts'
import { slotPeers } from '../taskmanager/slot-links.ts'
import { deserializeError, WeirError } from '../../errors.ts'
import type { CheckpointCoordinator } from '../../checkpoint/coordinator.ts'
import type { RestorePlan } from '../../checkpoint/restore-plan.ts'
import type { JobMetrics } from './job-types.ts'
import type { TaskMetricsSample } from '../../metrics/task-metrics-sample.ts'
import type { AllocatedSlot } from './scheduler.ts'
import type { SlotDeployment, SlotListener, SlotLocation, TaskManagerGateway } from '../taskmanager/task-manager.ts'

/**
 * Tells this JobManager process's attempts apart from those of an earlier one: a JobManager
 * recovered by high availability numbers the job's attempts from 0 again, and a TaskManager or a
 * data connection still holding an old attempt must never take the new one for it.
 */
const JOB_MANAGER_SESSION = randomBytes(4).toString('hex')

export type AttemptOutcome =
  | { readonly kind: 'finished' }
  | { readonly kind: 'canceled' }
  | { readonly kind: 'failed'; readonly error: WeirError }

export interface AttemptSetup {
  readonly job: CompiledJob
  readonly jobId: string
  /** The attempt's slots, by global slot index; subtask i of every vertex runs in slot i mod slots. */
  readonly slots: readonly AllocatedSlot[]
  readonly attemptNumber: number
  readonly artifactUrl: string
  readonly args: readonly string[]
  readonly checkpointing: CheckpointingSetup
  readonly restore: RestorePlan | null
  readonly coordinator: CheckpointCoordinator
  readonly onStdout?: (text: string) => void
  readonly onMetrics?: (metrics: JobMetrics) => void
  /** A checkpoint completed (its metadata is written), before tasks hear of it. */
  readonly onCheckpointComplete?: (checkpointId: number) => void
  /** Every subtask's metrics, as the slots report them a few times a second. */
  readonly onTaskMetrics?: (samples: readonly TaskMetricsSample[]) => void
  /** Task log lines from the slots (lifecycle at debug level). */
  readonly onTaskLog?: (level: 'debug' | 'info' | 'warn' | 'error', msg: string, vertex: number, subtask: number) => void
  readonly logTaskLifecycle?: boolean
}

export class Attempt {
  readonly attemptId: string
  private readonly numSlots: number
  private readonly deployedOn: TaskManagerGateway[] = []
  private readonly enumerators = new Map<number, SourceCoordinator>()
  private readonly workerMetrics: JobMetrics[]
  private readonly taskKeys: string[] = []
  /** Each task's current input watermark (a source's: the one it emits), by `${vertex}/${subtask}`, as last reported. */
  readonly watermarks = new Map<string, number>()
  private readonly ended = new Set<string>()
  private remainingTasks: number
  /** Slots whose tasks all opened; checkpoints wait for every one (Flink waits for RUNNING). */
  private runningSlots = 0
  private done = false
  /** When the attempt began to end (Date.now()): its failure time, before its slots stopped. */
  endedAt: number | null = null
  private settle!: (outcome: AttemptOutcome) => void
  readonly outcome: Promise<AttemptOutcome>

  constructor(private readonly setup: AttemptSetup) {
    const { job } = setup
    this.attemptId = `${setup.jobId}/${setup.attemptNumber}/${JOB_MANAGER_SESSION}`
    this.numSlots = setup.slots.length
    this.workerMetrics = Array.from({ length: this.numSlots }, () => ({ recordsIn: 0, recordsOut: 0 }))
    for (const v of job.graph.vertices) for (let i = 0; i < v.parallelism; i++) this.taskKeys.push(`${v.id}/${i}`)
    this.remainingTasks = this.taskKeys.length
    this.outcome = new Promise((resolve) => (this.settle = resolve))
    try {
      this.deploy()
    } catch (e) {
      void this.end({ kind: 'failed', error: e instanceof WeirError ? e : new WeirError('WEIR_SOURCE_FAILED', `starting the job failed: ${(e as Error).message}`, { cause: e, retriable: true }) })
    }
  }

  get metrics(): JobMetrics {
    let recordsIn = 0
    let recordsOut = 0
    for (const m of this.workerMetrics) {
      recordsIn += m.recordsIn
      recordsOut += m.recordsOut
    }
    return { recordsIn, recordsOut }
  }

  /** Every slot reported its tasks running and none has ended: a checkpoint can be triggered. */
  allTasksRunning(): boolean {
    return this.runningSlots === this.numSlots && this.ended.size === 0 && !this.done
  }

  async cancel(): Promise<void> {
    await this.end({ kind: 'canceled' })
  }

  /** Stop with savepoint: its savepoint completed; close every task. */
  stopTasks(): void {
    this.broadcast({ type: 'stop-tasks' })
  }

  /** Stop with savepoint and drain: sources end now; when all tasks ended, the savepoint is the final snapshot. */
  drainToSavepoint(dir: string): Promise<string> {
    return new Promise((resolve, reject) => {
      this.finalSavepoint = { dir, resolve, reject }
      this.broadcast({ type: 'drain-sources' })
    })
  }

  private awaitingDataAddresses = 0
  private readonly dataAddresses: Record<number, { host: string; port: number }> = {}

  private finalSavepoint: { dir: string; resolve: (path: string) => void; reject: (e: Error) => void } | null = null

  private deploy(): void {
    const { job, restore } = this.setup
    const slots = this.numSlots
    for (const vertex of job.graph.vertices) {
      const head = vertex.operators[0]!
      if (head.kind !== 'source') continue
      const restored = restore?.coordinators[vertex.uids[0]!]
      const coordinator = new SourceCoordinator(vertex.id, vertex.parallelism, head.source, (subtask, m) => this.send(slotOf(subtask, slots), m), restored)
      this.enumerators.set(vertex.id, coordinator)
    }
    for (const c of this.enumerators.values()) c.start()

    const graph = describeGraph(job.graph)
    const locations: SlotLocation[] = this.setup.slots.map((s) => ({ taskManagerId: s.taskManager.id }))
    // Across TaskManagers every slot linked to a slot elsewhere opens a data port (slot-links.ts);
    // once all are known, the slots dial.
    const peers = slotPeers(graph, slots)
    this.awaitingDataAddresses = peers.filter((p, slot) => [...p].some((q) => locations[q]!.taskManagerId !== locations[slot]!.taskManagerId)).length
    const byTaskManager = new Map<TaskManagerGateway, SlotDeployment[]>()
    this.setup.slots.forEach((allocated, slot) => {
      const workerSetup: WorkerSetup = {
        workerIndex: slot, numWorkers: slots, artifactUrl: this.setup.artifactUrl,
        args: [...this.setup.args], config: job.config.toRaw(), restoredMaxParallelism: job.restoredMaxParallelism, attempt: this.setup.attemptNumber,
        jobId: this.setup.jobId, checkpointing: this.setup.checkpointing, restore: restore ? this.restoreFor(slot, restore) : null,
        restoreOperatorState: restore ? restore.operatorState : null, restoredCheckpointId: restore ? restore.checkpointId : null,
        routeStdout: this.setup.onStdout !== undefined,
        graph,
        logTaskLifecycle: this.setup.logTaskLifecycle ?? false,
      }
      const list = byTaskManager.get(allocated.taskManager) ?? []
      list.push({ slot, setup: workerSetup })
      byTaskManager.set(allocated.taskManager, list)
    })
    const listener: SlotListener = {
      onSlotMessage: (slot, m) => this.onWorkerMessage(slot, m),
      onSlotLost: (_slot, error) => void this.fail(error),
    }
    for (const [taskManager, deployments] of byTaskManager) {
      this.deployedOn.push(taskManager)
      taskManager.deploy({ attemptId: this.attemptId, slots: deployments, locations }, listener)
    }
    this.setup.coordinator.startAttempt({
      taskKeys: this.taskKeys,
      allTasksRunning: () => this.allTasksRunning(),
      sendTrigger: (barrier, final) => {
        for (let slot = 0; slot < slots; slot++) this.send(slot, { type: 'trigger-checkpoint', barrier, final })
      },
      sendComplete: (id) => {
        this.setup.onCheckpointComplete?.(id)
        this.broadcast({ type: 'checkpoint-complete', checkpointId: id })
      },
      sendAborted: (id) => this.broadcast({ type: 'checkpoint-aborted', checkpointId: id }),
      snapshotEnumerators: (id) => {
        const states: Record<string, unknown> = {}
        for (const [vertexId, c] of this.enumerators) states[job.graph.vertices[vertexId]!.uids[0]!] = c.enumerator.snapshotState(id)
        return states
      },
      failJob: (error) => void this.fail(error),
    })
  }

  /** The restore sources of the tasks that run in one slot. */
  private restoreFor(slot: number, restore: RestorePlan): WorkerSetup['restore'] {
    const mine: NonNullable<WorkerSetup['restore']> = {}
    for (const [key, sources] of Object.entries(restore.tasks)) {
      const subtask = Number(key.split('/')[1])
      if (slotOf(subtask, this.numSlots) === slot) mine[key] = sources
    }
    return mine
  }

  private send(slot: number, message: ToWorker): void {
    if (!this.done) this.setup.slots[slot]?.taskManager.send(this.attemptId, slot, message)
  }

  private broadcast(message: ToWorker): void {
    for (let slot = 0; slot < this.numSlots; slot++) this.send(slot, message)
  }

  /** The TaskManager of each slot, by global slot index. */
  get placement(): string[] {
    return this.setup.slots.map((s) => s.taskManager.id)
  }

  /** A TaskManager that runs part of this attempt is gone: the attempt fails. */
  taskManagerLost(taskManagerId: string, error: WeirError): void {
    if (this.deployedOn.some((t) => t.id === taskManagerId)) void this.fail(error)
  }

  private onWorkerMessage(slot: number, m: FromWorker): void {
    if (this.done) return
    switch (m.type) {
      case 'split-request':
        try {
          this.enumerators.get(m.vertex)!.handleSplitRequest(m.subtask)
        } catch (e) {
          void this.fail(e instanceof WeirError ? e : new WeirError('WEIR_SOURCE_FAILED', `split enumerator failed: ${(e as Error).message}`, { cause: e, retriable: true }))
        }
        return
      case 'slot-running':
        this.runningSlots++
        return
      case 'task-ended':
        this.ended.add(`${m.vertex}/${m.subtask}`)
        if (this.ended.size === this.taskKeys.length) void this.finishWithFinalCheckpoint()
        return
      case 'task-finished':
        if (--this.remainingTasks === 0) void this.end({ kind: 'finished' })
        return
      case 'ack':
        this.setup.coordinator.onAck(m.checkpointId, m.ack)
        return
      case 'decline':
        this.setup.coordinator.onDecline(m.checkpointId, `${m.vertex}/${m.subtask}`, m.reason, m.code)
        return
      case 'metrics':
        this.workerMetrics[slot] = { recordsIn: m.recordsIn, recordsOut: m.recordsOut }
        if (m.watermarks) for (let i = 0; i < m.watermarks.length; i += 3) this.watermarks.set(`${m.watermarks[i]}/${m.watermarks[i + 1]}`, m.watermarks[i + 2]!)
        this.setup.onMetrics?.(this.metrics)
        if (m.tasks) this.setup.onTaskMetrics?.(m.tasks)
        return
      case 'stdout':
        this.setup.onStdout?.(m.text)
        return
      case 'log':
        this.setup.onTaskLog?.(m.level, m.msg, m.vertex, m.subtask)
        return
      case 'failed':
        void this.fail(deserializeError(m.error))
        return
      case 'canceled':
        return
      case 'data-address':
        this.dataAddresses[slot] = { host: m.host, port: m.port }
        if (--this.awaitingDataAddresses === 0) this.broadcast({ type: 'connect-peers', addresses: this.dataAddresses })
        return
    }
  }

  /**
   * Every task consumed all its input. With checkpointing, a final checkpoint captures the end
   * state and its completion lets transactional sinks commit their last output; then the tasks
   * finish. If it cannot complete, the attempt fails and restarts from it or an earlier one.
   */
  private async finishWithFinalCheckpoint(): Promise<void> {
    const coordinator = this.setup.coordinator
    if (this.finalSavepoint) {
      const { dir, resolve, reject } = this.finalSavepoint
      try {
        resolve(await coordinator.triggerSavepoint(dir, { final: true }))
      } catch (e) {
        reject(e as Error)
        if (!this.done) void this.fail(e as WeirError)
        return
      }
    } else if (this.setup.checkpointing.periodic) {
      const outcome = await coordinator.triggerFinal()
      if (this.done) return
      if (!outcome.ok) {
        // The reason (a full disk, a read-only directory...) is outside Weir: no stack trace.
        void this.fail(new WeirError('WEIR_CHECKPOINT_FAILED', `the final checkpoint of the bounded job did not complete: ${outcome.message}`, { retriable: true, domain: outcome.reason === 'STATE_TOO_LARGE' ? 'user' : 'external' }))
        return
      }
    }
    this.broadcast({ type: 'finish' })
  }

  private async fail(error: WeirError): Promise<void> {
    await this.end({ kind: 'failed', error })
  }

  private async end(outcome: AttemptOutcome): Promise<void> {
    if (this.done) return
    this.done = true
    this.endedAt = Date.now()
    this.setup.coordinator.stopAttempt(outcome.kind === 'failed' ? 'TASK_FAILURE' : 'COORDINATOR_SHUTDOWN')
    this.finalSavepoint?.reject(new WeirError('WEIR_CHECKPOINT_FAILED', 'the job ended before the savepoint completed', { retriable: true }))
    for (const c of this.enumerators.values()) {
      try {
        c.close()
      } catch {
        // the attempt is over; a failing close changes nothing
      }
    }
    await Promise.all(this.deployedOn.map((t) => t.release(this.attemptId).catch(() => {})))
    this.settle(outcome)
  }
}
