// Runs test jobs in-process with a REST server on a free loopback port, and talks to it.

import { fileURLToPath } from 'node:url'
import { startJob, type LiveJob } from '../runtime/live-job.ts'
import { JobRegistry } from '../../src/rest/job-registry.ts'
import { RestServer } from '../../src/rest/server.ts'
import type { RawConfig } from '../../src/config/configuration.ts'
import { WAIT_MS } from '../helpers/deadlines.ts'

export const ENDLESS = fileURLToPath(new URL('../fixtures/jobs/endless.ts', import.meta.url))

export interface ApiResponse {
  status: number
  body: any
  headers: Headers
}

export class Harness {
  readonly jobs: LiveJob[] = []

  private constructor(readonly registry: JobRegistry, readonly server: RestServer) {}

  static async start(): Promise<Harness> {
    const registry = new JobRegistry()
    return new Harness(registry, await RestServer.start(registry, { port: 0 }))
  }

  /** Starts a job, registers it, and waits until it printed `lines` lines (it is running). */
  async run(config: RawConfig = {}, jobFile = ENDLESS, lines = 2, args: string[] = []): Promise<LiveJob> {
    const job = await startJob(jobFile, { args, config: { 'parallelism.default': 2, ...config } })
    this.jobs.push(job)
    this.registry.register(job.execution)
    if (lines > 0) {
      await job.waitFor((l) => l.length >= lines, WAIT_MS, `${lines} line(s) of output`)
      // One subtask can print before the other slot reported running; a checkpoint needs all.
      const deadline = Date.now() + WAIT_MS
      while (job.execution.attempt?.allTasksRunning() !== true) {
        if (Date.now() > deadline) throw new Error(`job ${job.execution.jobId}: not every task was running in time`)
        await new Promise((r) => setTimeout(r, 10))
      }
    }
    return job
  }

  /** Sends a request; `body` is sent as JSON, or as is when it is a string. */
  async api(method: string, path: string, body?: unknown): Promise<ApiResponse> {
    const res = await fetch(`${this.server.url}${path}`, {
      method,
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
    })
    const text = await res.text()
    return { status: res.status, body: text === '' ? undefined : JSON.parse(text), headers: res.headers }
  }

  /** Polls GET `path` until `done(body)` holds. */
  async poll(path: string, done: (body: any) => boolean, timeoutMs = WAIT_MS): Promise<any> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const r = await this.api('GET', path)
      if (r.status !== 200) throw new Error(`GET ${path} answered ${r.status}: ${JSON.stringify(r.body)}`)
      if (done(r.body)) return r.body
      if (Date.now() > deadline) throw new Error(`timed out polling ${path}; last answer: ${JSON.stringify(r.body)}`)
      await new Promise((r) => setTimeout(r, 25))
    }
  }

  /** Cancels every job still running and stops the server. */
  async close(): Promise<void> {
    await Promise.all(this.jobs.map((j) => j.stop()))
    await this.server.close()
  }
}
