// The JobManager's REST API, in the shape of Flink's (routes, JSON field names, status codes,
// `{ "errors": [...] }` on failure), on node:http. It serves every job in a JobRegistry, so the
// same server fits `weir run` (one job) and a session cluster (many).

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { JobRegistry } from './job-registry.ts'
import { Router } from './router.ts'
import { RestError } from './rest-error.ts'
import { sendErrors, sendJson } from './http-util.ts'
import type { Handler } from './handlers/context.ts'
import { cancelJob, jobDetails, jobExceptions, jobsOverview, listJobs } from './handlers/jobs.ts'
import { vertexWatermarks } from './handlers/watermarks.ts'
import { checkpointConfig, checkpointDetails, checkpointStatistics, checkpointStatus, triggerCheckpoint } from './handlers/checkpoints.ts'
import { savepointStatus, stopWithSavepoint, triggerSavepoint } from './handlers/savepoints.ts'

export interface RestServerOptions {
  /** 0 picks a free port. */
  readonly port: number
  /** Interface to listen on (default 127.0.0.1: only this machine can reach the API). */
  readonly address?: string
  /** Called with unexpected handler errors (answered 500). */
  readonly onError?: (error: Error) => void
  /** More routes, for the standalone JobManager (job submission, TaskManagers). */
  readonly routes?: ReadonlyArray<readonly [method: string, pattern: string, handler: Handler]>
}

export function createRouter(): Router<Handler> {
  // Literal segments before parameters: /jobs/overview is not a job id, nor is config a trigger id.
  return new Router<Handler>()
    .add('GET', '/jobs', listJobs)
    .add('GET', '/jobs/overview', jobsOverview)
    .add('GET', '/jobs/:jobid', jobDetails)
    .add('PATCH', '/jobs/:jobid', cancelJob)
    .add('GET', '/jobs/:jobid/exceptions', jobExceptions)
    .add('GET', '/jobs/:jobid/vertices/:vertexid/watermarks', vertexWatermarks)
    .add('GET', '/jobs/:jobid/checkpoints', checkpointStatistics)
    .add('POST', '/jobs/:jobid/checkpoints', triggerCheckpoint)
    .add('GET', '/jobs/:jobid/checkpoints/config', checkpointConfig)
    .add('GET', '/jobs/:jobid/checkpoints/details/:checkpointid', checkpointDetails)
    .add('GET', '/jobs/:jobid/checkpoints/:triggerid', checkpointStatus)
    .add('POST', '/jobs/:jobid/savepoints', triggerSavepoint)
    .add('GET', '/jobs/:jobid/savepoints/:triggerid', savepointStatus)
    .add('POST', '/jobs/:jobid/stop', stopWithSavepoint)
}

export class RestServer {
  private readonly server: Server
  private readonly router = createRouter()
  private listening: AddressInfo | null = null

  private constructor(readonly registry: JobRegistry, private readonly options: RestServerOptions) {
    for (const [method, pattern, handler] of options.routes ?? []) this.router.add(method, pattern, handler)
    this.server = createServer((req, res) => void this.handle(req, res))
    this.server.keepAliveTimeout = 5_000
  }

  /** Starts listening; rejects with the listen error (EADDRINUSE, EADDRNOTAVAIL, ...). */
  static async start(registry: JobRegistry, options: RestServerOptions): Promise<RestServer> {
    const server = new RestServer(registry, options)
    await new Promise<void>((resolve, reject) => {
      server.server.once('error', reject)
      server.server.listen(options.port, options.address ?? '127.0.0.1', () => {
        server.server.off('error', reject)
        resolve()
      })
    })
    server.listening = server.server.address() as AddressInfo
    return server
  }

  get port(): number {
    return this.listening!.port
  }

  get address(): string {
    return this.listening!.address
  }

  /** http://address:port, with IPv6 addresses in brackets. */
  get url(): string {
    const a = this.address
    return `http://${a.includes(':') ? `[${a}]` : a}:${this.port}`
  }

  /**
   * Stops the server. With `graceMs`, first keeps answering (up to that long) while a client
   * still has to learn an outcome it asked for: the result of a savepoint or stop, or the final
   * state of a job it cancelled, so that `weir stop` and `weir cancel` can report it.
   */
  async close(options: { graceMs?: number } = {}): Promise<void> {
    const until = Date.now() + (options.graceMs ?? 0)
    while (Date.now() < until && this.registry.hasUnobservedOutcomes()) await new Promise((r) => setTimeout(r, 20))
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve())
      this.server.closeAllConnections()
    })
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const url = new URL(req.url ?? '/', 'http://localhost')
      const { handler, params } = this.router.match(req.method ?? 'GET', url.pathname)
      const reply = await handler({ registry: this.registry, req, params, query: url.searchParams })
      sendJson(res, reply.status, reply.body)
    } catch (e) {
      if (res.headersSent) {
        res.destroy()
        return
      }
      if (e instanceof RestError) {
        sendErrors(res, e.status, [e.message], e.headers)
        // A request whose body was not read must not be kept alive with that body pending.
        if (!req.complete) res.once('finish', () => req.destroy())
        return
      }
      const err = e instanceof Error ? e : new Error(String(e))
      this.options.onError?.(err)
      sendErrors(res, 500, [`internal error: ${err.message}`])
    }
  }
}
