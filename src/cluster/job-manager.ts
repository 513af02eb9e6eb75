// The standalone JobManager (`weir jobmanager`): the dispatcher and its job masters, the RPC
// endpoint TaskManagers register at (jobmanager.rpc.address / port), heartbeats, and the REST
// API (rest.bind-address / rest.port) with job submission and the TaskManagers added. It keeps
// running when jobs end.

import { createServer, type Server, type Socket } from 'node:net'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { randomBytes } from 'node:crypto'
import type { Configuration } from '../config/configuration.ts'
import { HA_STORAGE_DIR, HEARTBEAT_INTERVAL, HEARTBEAT_TIMEOUT, JOBMANAGER_RPC_ADDRESS, JOBMANAGER_RPC_PORT, REST_BIND_ADDRESS, REST_PORT } from '../config/options.ts'
import { Dispatcher } from '../runtime/jobmanager/dispatcher.ts'
import { MemoryHaServices } from '../runtime/jobmanager/ha/memory-ha-services.ts'
import { FileHaServices } from '../runtime/jobmanager/ha/file-ha-services.ts'
import { JobRegistry } from '../rest/job-registry.ts'
import { RestServer } from '../rest/server.ts'
import { RpcConnection } from './rpc-connection.ts'
import { validateTaskManagerMessage, type JobManagerMessage, type TaskManagerMessage } from './rpc-messages.ts'
import { RemoteTaskManager } from './remote-task-manager.ts'
import { WEIR_VERSION } from '../version.ts'
import { clusterRoutes } from './rest-routes.ts'
import type { JobMaster } from '../runtime/jobmanager/job-master.ts'
import type { JobRunOptions } from '../runtime/jobmanager/job-types.ts'

export interface Submission {
  readonly artifact: Uint8Array
  readonly jobFile?: string
  readonly args: readonly string[]
  readonly config: Record<string, string | number | boolean>
  readonly restoreFrom?: string
  readonly allowNonRestoredState?: boolean
}

export class JobManagerProcess {
  readonly id = randomBytes(8).toString('hex')
  readonly dispatcher: Dispatcher
  readonly registry = new JobRegistry()
  readonly taskManagers = new Map<string, RemoteTaskManager>()
  private readonly artifacts = new Map<string, Uint8Array>()
  private readonly artifactDir = mkdtempSync(join(tmpdir(), 'weir-jobmanager-'))
  private rpc: Server | null = null
  rest: RestServer | null = null
  private heartbeatTimer: NodeJS.Timeout | null = null
  private readonly heartbeatIntervalMs: number
  private readonly heartbeatTimeoutMs: number

  private constructor(readonly config: Configuration, private readonly log: (line: string) => void) {
    const haDir = config.get(HA_STORAGE_DIR)
    this.dispatcher = new Dispatcher({ ha: haDir ? new FileHaServices(haDir) : new MemoryHaServices() })
    this.dispatcher.onJobSubmitted((job) => {
      this.registry.register(job)
      void job.result.then((r) => {
        log(`Job '${r.jobName}' (${r.jobId}) ${r.status}${r.error ? `: ${r.error.message}` : ''}`)
        this.artifacts.delete(r.jobId)
      })
    })
    this.heartbeatIntervalMs = config.get(HEARTBEAT_INTERVAL) ?? 10_000
    this.heartbeatTimeoutMs = config.get(HEARTBEAT_TIMEOUT) ?? 50_000
  }

  static async start(config: Configuration, log: (line: string) => void): Promise<JobManagerProcess> {
    const jm = new JobManagerProcess(config, log)
    try {
      await jm.listenRpc(config.get(JOBMANAGER_RPC_ADDRESS) ?? 'localhost', config.get(JOBMANAGER_RPC_PORT))
      jm.rest = await RestServer.start(jm.registry, {
        port: config.get(REST_PORT), address: config.get(REST_BIND_ADDRESS) ?? '127.0.0.1',
        onError: (e) => log(`REST API: internal error: ${e.stack ?? e.message}`),
        routes: clusterRoutes(jm),
        cluster: {
          version: WEIR_VERSION,
          taskManagers: () => [...jm.taskManagers.values()].map((tm) => {
            const freeSlots = jm.dispatcher.slotPool.registered.find((r) => r.gateway.id === tm.id)?.freeSlots ?? 0
            return {
              id: tm.id, path: tm.host, dataPort: tm.dataPort, slotsNumber: tm.numSlots, freeSlots, timeSinceLastHeartbeat: Math.max(0, Date.now() - tm.lastHeartbeat),
              // The TaskManager's own hardware is not reported over RPC yet.
              hardware: { cpuCores: -1, physicalMemory: -1, freeMemory: -1, managedMemory: 0 },
              metrics: () => ({}),
            }
          }),
        },
      })
    } catch (e) {
      await jm.close()
      throw e
    }
    jm.heartbeatTimer = setInterval(() => jm.heartbeat(), Math.min(jm.heartbeatIntervalMs, 1000))
    jm.heartbeatTimer.unref()
    log(`JobManager ${jm.id}: RPC at ${jm.rpcAddress.host}:${jm.rpcAddress.port}, REST API at ${jm.rest!.url}`)
    await jm.recoverJobs()
    return jm
  }

  /**
   * Jobs a previous JobManager left in the high-availability store (it died while they ran):
   * each is submitted again under its id, from its latest completed checkpoint.
   */
  private async recoverJobs(): Promise<void> {
    const ha = this.dispatcher.ha
    for (const job of await ha.listJobs()) {
      const artifact = await ha.getArtifact(job.jobId)
      if (!artifact) {
        this.log(`Cannot recover job ${job.jobId}: its artifact is missing from the high-availability store`)
        await ha.removeJob(job.jobId)
        continue
      }
      const latest = await ha.getLatestCheckpoint(job.jobId)
      const restoreFrom = latest?.path ?? job.restoreFrom
      this.log(`Recovering job ${job.jobId} from ${latest?.path ? `checkpoint ${latest.checkpointId} (${latest.path})` : restoreFrom ? restoreFrom : 'the beginning (no checkpoint completed)'}`)
      try {
        await this.submit({ artifact, jobFile: job.jobFile, args: job.args, config: job.config as Submission['config'], restoreFrom, allowNonRestoredState: job.allowNonRestoredState }, job.jobId)
      } catch (e) {
        this.log(`Cannot recover job ${job.jobId}: ${(e as Error).message}`)
      }
    }
  }

  get rpcAddress(): { host: string; port: number } {
    const a = this.rpc!.address()
    return { host: typeof a === 'object' && a ? a.address : '', port: typeof a === 'object' && a ? a.port : 0 }
  }

  /** Starts a submitted job; throws (nothing starts) when it cannot be built or restored. */
  async submit(s: Submission, jobId: string = randomBytes(16).toString('hex')): Promise<JobMaster> {
    const file = join(this.artifactDir, `${jobId}.mjs`)
    writeFileSync(file, s.artifact)
    this.artifacts.set(jobId, s.artifact)
    const options: JobRunOptions = {
      artifactUrl: pathToFileURL(file).href, jobFile: s.jobFile, args: s.args, config: s.config,
      restoreFrom: s.restoreFrom, allowNonRestoredState: s.allowNonRestoredState,
      onLog: (line) => this.log(`[${jobId.slice(0, 8)}] ${line}`),
    }
    try {
      const master = await this.dispatcher.submit(options, s.artifact, jobId)
      this.log(`Job '${master.job.name}' (${jobId}) submitted; it needs ${master.slots} slot(s)`)
      return master
    } catch (e) {
      this.artifacts.delete(jobId)
      throw e
    }
  }

  async close(): Promise<void> {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer)
    await this.dispatcher.shutdown().catch(() => {})
    for (const tm of this.taskManagers.values()) tm.markLost('the JobManager shuts down')
    await new Promise<void>((r) => (this.rpc ? this.rpc.close(() => r()) : r()))
    for (const s of this.sockets) s.destroy()
    await this.rest?.close()
    rmSync(this.artifactDir, { recursive: true, force: true })
  }

  private readonly sockets = new Set<Socket>()
  private readonly connections = new Set<RpcConnection<TaskManagerMessage, JobManagerMessage>>()

  private listenRpc(host: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const server = createServer((socket) => this.accept(socket))
      server.once('error', reject)
      server.listen(port, host, () => {
        server.off('error', reject)
        server.on('error', (e) => this.log(`RPC endpoint: ${e.message}`))
        this.rpc = server
        resolve()
      })
    })
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket)
    socket.once('close', () => this.sockets.delete(socket))
    const remote = `${socket.remoteAddress}:${socket.remotePort}`
    let tm: RemoteTaskManager | null = null
    const connection: RpcConnection<TaskManagerMessage, JobManagerMessage> = new RpcConnection(socket, validateTaskManagerMessage, (m) => {
      if (!tm) {
        if (m.type !== 'register') return connection.close(`the first message was '${m.type}', expected 'register'`)
        if (this.taskManagers.has(m.taskManagerId)) {
          connection.send({ type: 'refused', reason: `a TaskManager with id ${m.taskManagerId} is registered already` })
          return connection.close('duplicate TaskManager id')
        }
        tm = new RemoteTaskManager(m.taskManagerId, m.numSlots, m.host, m.dataPort, connection, (jobId) => this.artifacts.get(jobId))
        this.taskManagers.set(tm.id, tm)
        connection.send({ type: 'registered', jobManagerId: this.id, heartbeatIntervalMs: this.heartbeatIntervalMs, heartbeatTimeoutMs: this.heartbeatTimeoutMs })
        this.dispatcher.slotPool.register(tm)
        this.log(`TaskManager ${tm.id} registered from ${remote} (pid ${m.pid}) with ${m.numSlots} slot(s); ${this.dispatcher.slotPool.totalSlots} slot(s) in the cluster`)
        return
      }
      tm.onMessage(m)
    }, (reason) => {
      this.connections.delete(connection)
      if (!tm) {
        this.log(`RPC: closed the connection from ${remote}: ${reason}`)
        return
      }
      this.taskManagers.delete(tm.id)
      const error = tm.markLost(reason)
      this.dispatcher.slotPool.unregister(tm.id, error)
      this.log(`TaskManager ${tm.id} lost: ${reason}`)
    })
    this.connections.add(connection)
  }

  private lastHeartbeatSent = 0

  private heartbeat(): void {
    const now = Date.now()
    for (const c of this.connections) {
      if (now - c.lastReceivedAt > this.heartbeatTimeoutMs) c.close(`no heartbeat for ${now - c.lastReceivedAt} ms (heartbeat.timeout ${this.heartbeatTimeoutMs} ms)`)
    }
    if (now - this.lastHeartbeatSent < this.heartbeatIntervalMs) return
    this.lastHeartbeatSent = now
    for (const c of this.connections) c.send({ type: 'heartbeat' })
  }
}
