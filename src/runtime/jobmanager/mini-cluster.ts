// The embedded mini cluster that `weir run` starts: a JobManager on the main thread and one
// TaskManager whose slots are worker threads. The JobManager compiles the job, runs the split
// enumerators, deploys every slot, and watches for the end of the job or its first failure.

import { Worker, MessageChannel, type MessagePort } from 'node:worker_threads'
import { fileURLToPath } from 'node:url'
import { extname } from 'node:path'
import { compileJob, type CompiledJob } from '../compile.ts'
import type { RawConfig } from '../../config/configuration.ts'
import { TASK_SLOTS } from '../../config/options.ts'
import type { FromWorker, ToWorker, WorkerSetup } from '../messages.ts'
import { SourceCoordinator } from './source-coordinator.ts'
import { slotOf } from '../taskmanager/task-executor.ts'
import { deserializeError, WeirError } from '../../errors.ts'
import { loadJobDefinition } from '../load-job.ts'

export interface JobRunOptions {
  /** file: URL of the job module (bundled, or directly importable). */
  readonly artifactUrl: string
  readonly args?: readonly string[]
  readonly config?: RawConfig
  /** Route print() output through onStdout instead of writing fd 1 from the workers. */
  readonly onStdout?: (text: string) => void
  readonly onMetrics?: (metrics: JobMetrics) => void
}

export interface JobMetrics {
  /** Records emitted by the sources. */
  recordsIn: number
  /** Records received by the sinks. */
  recordsOut: number
}

export type JobStatus = 'FINISHED' | 'FAILED' | 'CANCELED'

export interface JobResult extends JobMetrics {
  readonly jobName: string
  readonly status: JobStatus
  readonly error?: WeirError
  readonly durationMs: number
  readonly slots: number
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

export class JobExecution {
  readonly job: CompiledJob
  readonly slots: number
  private readonly workers: Worker[] = []
  private readonly coordinators = new Map<number, SourceCoordinator>()
  private readonly workerMetrics: JobMetrics[]
  private remainingTasks: number
  private readonly started = performance.now()
  private settle!: (result: JobResult) => void
  private done = false
  readonly result: Promise<JobResult>

  private constructor(job: CompiledJob, private readonly options: JobRunOptions) {
    this.job = job
    const configured = job.config.get(TASK_SLOTS)
    this.slots = configured > 0 ? configured : Math.max(...job.graph.vertices.map((v) => v.parallelism))
    this.workerMetrics = Array.from({ length: this.slots }, () => ({ recordsIn: 0, recordsOut: 0 }))
    this.remainingTasks = job.graph.vertices.reduce((n, v) => n + v.parallelism, 0)
    this.result = new Promise((resolve) => (this.settle = resolve))
  }

  /** Compiles the job and deploys it; the returned execution's `result` settles when it ends. */
  static async start(options: JobRunOptions): Promise<JobExecution> {
    const definition = await loadJobDefinition(options.artifactUrl)
    const job = compileJob(definition, options.args ?? [], options.config ?? {})
    const execution = new JobExecution(job, options)
    await execution.deploy()
    return execution
  }

  get metrics(): JobMetrics {
    return sumMetrics(this.workerMetrics)
  }

  /** Cancels the job: stops every slot; the result settles as CANCELED. */
  async cancel(): Promise<void> {
    if (this.done) return
    await this.finish('CANCELED')
  }

  private async deploy(): Promise<void> {
    for (const vertex of this.job.graph.vertices) {
      const head = vertex.operators[0]!
      if (head.kind !== 'source') continue
      const coordinator = new SourceCoordinator(vertex.id, vertex.parallelism, head.source, (subtask, m) => this.sendToSlot(slotOf(subtask, this.slots), m))
      this.coordinators.set(vertex.id, coordinator)
    }
    for (const c of this.coordinators.values()) await c.start()

    // One channel per pair of slots carries all data between them.
    const ports: Array<Record<number, MessagePort>> = Array.from({ length: this.slots }, () => ({}))
    for (let a = 0; a < this.slots; a++) {
      for (let b = a + 1; b < this.slots; b++) {
        const { port1, port2 } = new MessageChannel()
        ports[a]![b] = port1
        ports[b]![a] = port2
      }
    }
    for (let slot = 0; slot < this.slots; slot++) {
      const setup: WorkerSetup = {
        workerIndex: slot, numWorkers: this.slots, artifactUrl: this.options.artifactUrl,
        args: [...(this.options.args ?? [])], config: this.job.config.toRaw(), attempt: 0,
        routeStdout: this.options.onStdout !== undefined,
      }
      const [entry, entryOptions] = workerEntry()
      const worker = new Worker(entry, {
        ...entryOptions,
        workerData: { setup, ports: ports[slot] },
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
  }

  private sendToSlot(slot: number, message: ToWorker): void {
    this.workers[slot]?.postMessage(message)
  }

  private onWorkerMessage(slot: number, m: FromWorker): void {
    if (this.done) return
    switch (m.type) {
      case 'split-request':
        try {
          this.coordinators.get(m.vertex)!.handleSplitRequest(m.subtask)
        } catch (e) {
          void this.fail(e instanceof WeirError ? e : new WeirError('WEIR_SOURCE_FAILED', `split enumerator failed: ${(e as Error).message}`, { cause: e }))
        }
        return
      case 'task-finished':
        if (--this.remainingTasks === 0) void this.finish('FINISHED')
        return
      case 'metrics':
        this.workerMetrics[slot] = { recordsIn: m.recordsIn, recordsOut: m.recordsOut }
        this.options.onMetrics?.(this.metrics)
        return
      case 'stdout':
        this.options.onStdout?.(m.text)
        return
      case 'failed':
        void this.fail(deserializeError(m.error))
        return
      case 'canceled':
        return
    }
  }

  private async fail(error: WeirError): Promise<void> {
    if (this.done) return
    await this.finish('FAILED', error)
  }

  private async finish(status: JobStatus, error?: WeirError): Promise<void> {
    if (this.done) return
    this.done = true
    for (const c of this.coordinators.values()) {
      try {
        c.close()
      } catch {
        // the job is over; a failing close changes nothing
      }
    }
    await Promise.all(this.workers.map((w) => w.terminate()))
    this.settle({ jobName: this.job.name, status, error, durationMs: performance.now() - this.started, slots: this.slots, ...this.metrics })
  }
}

function sumMetrics(list: readonly JobMetrics[]): JobMetrics {
  let recordsIn = 0
  let recordsOut = 0
  for (const m of list) {
    recordsIn += m.recordsIn
    recordsOut += m.recordsOut
  }
  return { recordsIn, recordsOut }
}
