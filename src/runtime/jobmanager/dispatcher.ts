// The dispatcher of a JobManager: accepts submitted jobs, records each in the high-availability
// store, starts one job master per job, and keeps the masters of ended jobs (their results and
// checkpoint history) for the REST API. It owns the slot pool the job masters allocate from.
// The embedded mini cluster and the standalone JobManager process both run one of these.

import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import type { CompiledJob } from '../compile.ts'
import { JobMaster } from './job-master.ts'
import type { JobRunOptions } from './job-types.ts'
import { SlotPool } from './scheduler.ts'
import type { HighAvailabilityServices } from './ha/high-availability.ts'
import { prepareJob, type PreparedJob } from './states/created.ts'

/** Ended jobs kept for the REST API (the oldest are dropped first). */
const KEPT_ENDED_JOBS = 100

export interface DispatcherOptions {
  readonly ha: HighAvailabilityServices
  /** Slots a job needs; default: its highest parallelism (slot sharing). */
  readonly slotsFor?: (job: CompiledJob) => number
}

export class Dispatcher {
  readonly slotPool = new SlotPool()
  private readonly jobs = new Map<string, JobMaster>()
  private readonly listeners = new Set<(job: JobMaster) => void>()

  constructor(private readonly options: DispatcherOptions) {}

  get ha(): HighAvailabilityServices {
    return this.options.ha
  }

  /** Compiles and starts a job; throws (and starts nothing) when the job cannot be built or restored. */
  async submit(options: JobRunOptions, artifact?: Uint8Array, jobId?: string): Promise<JobMaster> {
    return this.start(await prepareJob(options, jobId), options, artifact)
  }

  /** Starts a job prepared by the caller (the mini cluster sizes its TaskManager from it first). */
  async start(prepared: PreparedJob, options: JobRunOptions, artifact?: Uint8Array): Promise<JobMaster> {
    const bytes = artifact ?? (await readFile(fileURLToPath(options.artifactUrl)))
    await this.options.ha.putJob({
      jobId: prepared.jobId, submittedAt: Date.now(), jobFile: options.jobFile, args: [...(options.args ?? [])], config: options.config ?? {},
      restoreFrom: options.restoreFrom, allowNonRestoredState: options.allowNonRestoredState,
    }, bytes)
    const slots = this.options.slotsFor?.(prepared.job) ?? requiredSlots(prepared.job)
    const master = new JobMaster(prepared, options, { slotPool: this.slotPool, ha: this.options.ha }, slots)
    this.jobs.set(master.jobId, master)
    void master.result.then(() => this.prune())
    for (const l of this.listeners) l(master)
    master.start()
    return master
  }

  get(jobId: string): JobMaster | undefined {
    return this.jobs.get(jobId)
  }

  /** Every job, oldest first. */
  list(): JobMaster[] {
    return [...this.jobs.values()]
  }

  onJobSubmitted(listener: (job: JobMaster) => void): void {
    this.listeners.add(listener)
  }

  /** Cancels every running job and waits for them to end. */
  async shutdown(): Promise<void> {
    await Promise.all(this.list().map(async (j) => {
      await j.cancel()
      await j.result
    }))
  }

  private prune(): void {
    const ended = this.list().filter((j) => j.endTime !== null)
    for (const j of ended.slice(0, Math.max(0, ended.length - KEPT_ENDED_JOBS))) this.jobs.delete(j.jobId)
  }
}

/** A job needs as many slots as its highest parallelism: slot i runs subtask i of every vertex. */
export function requiredSlots(job: CompiledJob): number {
  return Math.max(...job.graph.vertices.map((v) => v.parallelism))
}
