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
import { cancelJob, jobConfig, jobDetails, jobExceptions, jobPlan, jobsOverview, listJobs } from './handlers/jobs.ts'
import { checkpointConfig, checkpointDetails, checkpointStatistics, checkpointStatus, checkpointSubtaskDetails, triggerCheckpoint } from './handlers/checkpoints.ts'
import { vertexWatermarks } from './handlers/watermarks.ts'
import { savepointStatus, stopWithSavepoint, triggerSavepoint } from './handlers/savepoints.ts'
import { clusterOverview, dashboardConfig, listTaskManagers, taskManagerDetails } from './handlers/cluster.ts'
import { aggregatedSubtaskMetrics, jobMetrics, vertexBackPressure, vertexDetails, vertexMetrics } from './handlers/vertices.ts'
import { embeddedClusterView, type ClusterView } from './cluster-view.ts'
import { PrometheusExporter } from './prometheus.ts'
import { WebAssets } from './web-assets.ts'
import { WEIR_VERSION } from '../version.ts'

export interface RestServerOptions {
  /** 0 picks a free port. */
  readonly port: number
  /** Interface to listen on (default 127.0.0.1: only this machine can reach the API). */
  readonly address?: string
  /** Called with unexpected handler errors (answered 500). */
  readonly onError?: (error: Error) => void
  /** More routes, for the standalone JobManager (job submission, TaskManagers). */
  readonly routes?: ReadonlyArray<readonly [method: string, pattern: string, handler: Handler]>
  /** The TaskManagers (default: the embedded one, this process). */
  readonly cluster?: ClusterView
  /** Directory of the built web UI (default: the package's dist/web); the UI is served at / when it exists. */
  readonly webDir?: string
}

/** `extra` routes come first: a standalone JobManager's own /taskmanagers answers before the embedded one's. */
export function createRouter(extra: ReadonlyArray<readonly [method: string, pattern: string, handler: Handler]> = []): Router<Handler> {
  const router = new Router<Handler>()
  for (const [method, pattern, handler] of extra) router.add(method, pattern, handler)
  // Literal segments before parameters: /jobs/overview is not a job id, nor is config a trigger id.
  return router
    .add('GET', '/overview', clusterOverview)
    .add('GET', '/config', dashboardConfig)
    .add('GET', '/taskmanagers', listTaskManagers)
    .add('GET', '/taskmanagers/:taskmanagerid', taskManagerDetails)
    .add('GET', '/jobs', listJobs)
    .add('GET', '/jobs/overview', jobsOverview)
    .add('GET', '/jobs/:jobid', jobDetails)
    .add('PATCH', '/jobs/:jobid', cancelJob)
    .add('GET', '/jobs/:jobid/exceptions', jobExceptions)
    .add('GET', '/jobs/:jobid/plan', jobPlan)
    .add('GET', '/jobs/:jobid/config', jobConfig)
    .add('GET', '/jobs/:jobid/metrics', jobMetrics)
    .add('GET', '/jobs/:jobid/vertices/:vertexid', vertexDetails)
    .add('GET', '/jobs/:jobid/vertices/:vertexid/backpressure', vertexBackPressure)
    .add('GET', '/jobs/:jobid/vertices/:vertexid/metrics', vertexMetrics)
    .add('GET', '/jobs/:jobid/vertices/:vertexid/subtasks/metrics', aggregatedSubtaskMetrics)
    .add('GET', '/jobs/:jobid/vertices/:vertexid/watermarks', vertexWatermarks)
    .add('GET', '/jobs/:jobid/checkpoints', checkpointStatistics)
    .add('POST', '/jobs/:jobid/checkpoints', triggerCheckpoint)
    .add('GET', '/jobs/:jobid/checkpoints/config', checkpointConfig)
    .add('GET', '/jobs/:jobid/checkpoints/details/:checkpointid', checkpointDetails)
    .add('GET', '/jobs/:jobid/checkpoints/details/:checkpointid/subtasks/:vertexid', checkpointSubtaskDetails)
    .add('GET', '/jobs/:jobid/checkpoints/:triggerid', checkpointStatus)
    .add('POST', '/jobs/:jobid/savepoints', triggerSavepoint)
    .add('GET', '/jobs/:jobid/savepoints/:triggerid', savepointStatus)
    .add('POST', '/jobs/:jobid/stop', stopWithSavepoint)
}

export class RestServer {
  private readonly server: Server
  private readonly router: Router<Handler>
  private listening: AddressInfo | null = null
  private readonly cluster: ClusterView
  private readonly prometheus: PrometheusExporter
  private readonly web: WebAssets

  private constructor(readonly registry: JobRegistry, private readonly options: RestServerOptions) {
    this.router = createRouter(options.routes ?? [])
    this.cluster = options.cluster ?? embeddedClusterView(registry, WEIR_VERSION)
    this.prometheus = new PrometheusExporter(registry, this.cluster)
    this.web = new WebAssets(options.webDir)
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
      const method = req.method ?? 'GET'
      if (method === 'GET' && url.pathname === '/metrics') {
        const text = await this.prometheus.scrape()
        res.writeHead(200, { 'content-type': this.prometheus.contentType, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' })
        res.end(text)
        return
      }
      // The web UI: / and its assets (anything under /web/); Flink's UI lives at / too.
      if (method === 'GET' && (url.pathname === '/' || url.pathname === '/index.html' || url.pathname.startsWith('/web/'))) {
        if (this.web.serve(url.pathname, res)) return
      }
      const { handler, params } = this.router.match(method, url.pathname)
      const reply = await handler({ registry: this.registry, req, params, query: url.searchParams, cluster: this.cluster })
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
