// One attempt of a job: its slots (worker threads), its split enumerators, and its part in
// checkpointing. It ends when every task finished, when any task fails, or when canceled;
// the JobExecution decides what happens next.

import { Worker, MessageChannel, type MessagePort } from 'node:worker_threads'
import { fileURLToPath } from 'node:url'
import { extname } from 'node:path'
import type { CompiledJob } from '../compile.ts'
import type { CheckpointingSetup, FromWorker, ToWorker, WorkerSetup } from '../messages.ts'
import { SourceCoordinator } from './source-coordinator.ts'
import { slotOf } from '../taskmanager/task-executor.ts'
import { deserializeError, WeirError } from '../../errors.ts'
import type { CheckpointCoordinator } from '../../checkpoint/coordinator.ts'
import type { RestorePlan } from '../../checkpoint/restore-plan.ts'
import type { JobMetrics } from './mini-cluster.ts'

export type AttemptOutcome =
  | { readonly kind: 'finished' }
  | { readonly kind: 'canceled' }
  | { readonly kind: 'failed'; readonly error: WeirError }

export interface AttemptSetup {
  readonly job: CompiledJob
  readonly jobId: string
  readonly slots: number
  readonly attemptNumber: number
  readonly artifactUrl: string
  readonly args: readonly string[]
  readonly checkpointing: CheckpointingSetup
  readonly restore: RestorePlan | null
  readonly coordinator: CheckpointCoordinator
  readonly onStdout?: (text: string) => void
  readonly onMetrics?: (metrics: JobMetrics) => void
}

const here = fileURLToPath(import.meta.url)
const WORKER_ENTRY = new URL(`../taskmanager/slot-worker${extname(here)}`, import.meta.url)

/**
 * The worker's entry. Built code starts the .js entry directly; when Weir itself runs from its
 * TypeScript sources (tests, development), loader hooks do not reach workers on Node 20, so the
 * worker first registers tsx and then imports the .ts entry.
 */
function workerEntry(): [URL | string, { eval?: boolean }] {
  if (extname(here) !== '.ts') return [WORKER_ENTRY, {}]
  const tsx = import.meta.resolve('tsx/esm/api')
  return [`import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(WORKER_ENTRY.href)}) })`, { eval: true }]
}

export class Attempt {
  private readonly workers: Worker[] = []
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
  private settle!: (outcome: AttemptOutcome) => void
  readonly outcome: Promise<AttemptOutcome>

  constructor(private readonly setup: AttemptSetup) {
    const { job } = setup
    this.workerMetrics = Array.from({ length: setup.slots }, () => ({ recordsIn: 0, recordsOut: 0 }))
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

  private finalSavepoint: { dir: string; resolve: (path: string) => void; reject: (e: Error) => void } | null = null

  private deploy(): void {
    const { job, slots, restore } = this.setup
    for (const vertex of job.graph.vertices) {
      const head = vertex.operators[0]!
      if (head.kind !== 'source') continue
      const restored = restore?.coordinators[vertex.uids[0]!]
      const coordinator = new SourceCoordinator(vertex.id, vertex.parallelism, head.source, (subtask, m) => this.send(slotOf(subtask, slots), m), restored)
      this.enumerators.set(vertex.id, coordinator)
    }
    for (const c of this.enumerators.values()) c.start()

    // One channel per pair of slots carries all data between them.
    const ports: Array<Record<number, MessagePort>> = Array.from({ length: slots }, () => ({}))
    for (let a = 0; a < slots; a++) {
      for (let b = a + 1; b < slots; b++) {
        const { port1, port2 } = new MessageChannel()
        ports[a]![b] = port1
        ports[b]![a] = port2
      }
    }
    for (let slot = 0; slot < slots; slot++) {
      const workerSetup: WorkerSetup = {
        workerIndex: slot, numWorkers: slots, artifactUrl: this.setup.artifactUrl,
        args: [...this.setup.args], config: job.config.toRaw(), attempt: this.setup.attemptNumber,
        jobId: this.setup.jobId, checkpointing: this.setup.checkpointing, restore: restore ? this.restoreFor(slot, restore) : null,
        restoreOperatorState: restore ? restore.operatorState : null,
        routeStdout: this.setup.onStdout !== undefined,
      }
      const [entry, entryOptions] = workerEntry()
      const worker = new Worker(entry, {
        ...entryOptions,
        workerData: { setup: workerSetup, ports: ports[slot] },
        transferList: Object.values(ports[slot]!),
        name: `weir-slot-${slot}`,
      })
      worker.on('message', (m: FromWorker) => this.onWorkerMessage(slot, m))
      worker.on('error', (e) => void this.fail(new WeirError('WEIR_WORKER_LOST', `slot ${slot} crashed: ${e.message}`, { cause: e, retriable: true })))
      worker.on('exit', (code) => {
        if (!this.done) void this.fail(new WeirError('WEIR_WORKER_LOST', `slot ${slot} exited unexpectedly with code ${code}`, { retriable: true }))
      })
      this.workers.push(worker)
    }
    this.setup.coordinator.startAttempt({
      taskKeys: this.taskKeys,
      allTasksRunning: () => this.runningSlots === this.setup.slots && this.ended.size === 0 && !this.done,
      sendTrigger: (barrier, final) => {
        for (let slot = 0; slot < slots; slot++) this.send(slot, { type: 'trigger-checkpoint', barrier, final })
      },
      sendComplete: (id) => this.broadcast({ type: 'checkpoint-complete', checkpointId: id }),
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
      if (slotOf(subtask, this.setup.slots) === slot) mine[key] = sources
    }
    return mine
  }

  private send(slot: number, message: ToWorker): void {
    if (!this.done) this.workers[slot]?.postMessage(message)
  }

  private broadcast(message: ToWorker): void {
    for (let slot = 0; slot < this.workers.length; slot++) this.send(slot, message)
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
        this.setup.coordinator.onDecline(m.checkpointId, `${m.vertex}/${m.subtask}`, m.reason)
        return
      case 'metrics':
        this.workerMetrics[slot] = { recordsIn: m.recordsIn, recordsOut: m.recordsOut }
        if (m.watermarks) for (let i = 0; i < m.watermarks.length; i += 3) this.watermarks.set(`${m.watermarks[i]}/${m.watermarks[i + 1]}`, m.watermarks[i + 2]!)
        this.setup.onMetrics?.(this.metrics)
        return
      case 'stdout':
        this.setup.onStdout?.(m.text)
        return
      case 'failed':
        void this.fail(deserializeError(m.error))
        return
      case 'canceled':
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
      const ok = await coordinator.triggerFinal()
      if (this.done) return
      if (!ok) {
        void this.fail(new WeirError('WEIR_CHECKPOINT_FAILED', 'the final checkpoint of the bounded job did not complete', { retriable: true }))
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
    this.setup.coordinator.stopAttempt(outcome.kind === 'failed' ? 'TASK_FAILURE' : 'COORDINATOR_SHUTDOWN')
    this.finalSavepoint?.reject(new WeirError('WEIR_CHECKPOINT_FAILED', 'the job ended before the savepoint completed', { retriable: true }))
    for (const c of this.enumerators.values()) {
      try {
        c.close()
      } catch {
        // the attempt is over; a failing close changes nothing
      }
    }
    await Promise.all(this.workers.map((w) => w.terminate()))
    this.settle(outcome)
  }
}
