// The standalone TaskManager (`weir taskmanager`): registers at the JobManager's RPC endpoint
// (jobmanager.rpc.address / port) with taskmanager.numberOfTaskSlots slots, sends heartbeats,
// and runs what the JobManager deploys on its slots (worker threads, as in the embedded mini
// cluster). Print sinks write to this process's stdout, as in Flink. If the JobManager goes
// away, it stops its slots and registers again as soon as the JobManager is back.

import { connect } from 'node:net'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { randomBytes } from 'node:crypto'
import type { Configuration } from '../config/configuration.ts'
import { JOBMANAGER_RPC_ADDRESS, JOBMANAGER_RPC_PORT, SLOT_THREADS, SPARE_SLOT_THREADS, TASK_SLOTS, TASKMANAGER_DATA_PORT, TASKMANAGER_HOST, HEARTBEAT_INTERVAL, HEARTBEAT_TIMEOUT } from '../config/options.ts'
import { serializeError, WeirError } from '../errors.ts'
import { spareSlotThreads, TaskManager, type AttemptDeployment } from '../runtime/taskmanager/task-manager.ts'
import { RpcConnection } from './rpc-connection.ts'
import { validateJobManagerMessage, type JobManagerMessage, type TaskManagerMessage } from './rpc-messages.ts'

const RECONNECT_MS = 500

export class TaskManagerProcess {
  readonly id: string
  readonly numSlots: number
  readonly host: string
  private readonly taskManager: TaskManager
  private readonly artifactDir = mkdtempSync(join(tmpdir(), 'weir-taskmanager-'))
  private connection: RpcConnection<JobManagerMessage, TaskManagerMessage> | null = null
  private heartbeatTimer: NodeJS.Timeout | null = null
  private reconnectTimer: NodeJS.Timeout | null = null
  private stopped = false
  private registeredOnce: (() => void) | null = null
  private refusedOnce: ((e: Error) => void) | null = null
  private unreachableLogged = false
  /**
   * Settles once the slots of a lost JobManager are stopped. The TaskManager registers again
   * only then: a JobManager that recovered the job (high availability) deploys it anew, under the
   * same attempt ids, and slots of the old deployment still running beside the new one wrote
   * into the same part files (every record counted twice, seen once on a loaded machine).
   */
  private releasing: Promise<void> = Promise.resolve()
  private heartbeatIntervalMs: number
  private heartbeatTimeoutMs: number

  private constructor(private readonly config: Configuration, private readonly log: (line: string) => void) {
    const slots = config.get(TASK_SLOTS)
    this.numSlots = slots > 0 ? slots : 1
    this.host = config.get(TASKMANAGER_HOST) ?? '127.0.0.1'
    this.id = `${hostname()}-${process.pid}-${randomBytes(2).toString('hex')}`
    const slotThreads = config.get(SLOT_THREADS)
    this.taskManager = new TaskManager(this.id, this.numSlots, { host: this.host, port: config.get(TASKMANAGER_DATA_PORT) }, slotThreads, spareSlotThreads(config.get(SPARE_SLOT_THREADS), this.numSlots, slotThreads, true))
    this.heartbeatIntervalMs = config.get(HEARTBEAT_INTERVAL) ?? 10_000
    this.heartbeatTimeoutMs = config.get(HEARTBEAT_TIMEOUT) ?? 50_000
  }

  /** Starts and resolves once registered at the JobManager (retrying while it is not up). */
  static async start(config: Configuration, log: (line: string) => void): Promise<TaskManagerProcess> {
    const tm = new TaskManagerProcess(config, log)
    // Its slots are offered once its spare threads have loaded the runtime: a standby then
    // takes over a failed job's slots without loading anything but the job.
    await tm.taskManager.threads.whenReady()
    try {
      await new Promise<void>((resolve, reject) => {
        tm.registeredOnce = resolve
        tm.refusedOnce = reject
        tm.connect()
      })
    } catch (e) {
      // Refused: nothing runs here, and no spare thread outlives the attempt to start.
      await tm.close()
      throw e
    }
    return tm
  }

  private get jobManager(): { host: string; port: number } {
    return { host: this.config.get(JOBMANAGER_RPC_ADDRESS) ?? 'localhost', port: this.config.get(JOBMANAGER_RPC_PORT) }
  }

  private connect(): void {
    if (this.stopped) return
    const { host, port } = this.jobManager
    const socket = connect({ host, port })
    const connection: RpcConnection<JobManagerMessage, TaskManagerMessage> = new RpcConnection(socket, validateJobManagerMessage, (m) => this.onMessage(connection, m), (reason) => this.onClosed(connection, reason))
    this.connection = connection
    socket.once('connect', () => {
      connection.send({ type: 'register', taskManagerId: this.id, numSlots: this.numSlots, host: this.host, dataPort: this.config.get(TASKMANAGER_DATA_PORT), pid: process.pid })
    })
  }

  private onMessage(connection: RpcConnection<JobManagerMessage, TaskManagerMessage>, m: JobManagerMessage): void {
    switch (m.type) {
      case 'registered':
        this.heartbeatIntervalMs = m.heartbeatIntervalMs
        this.heartbeatTimeoutMs = m.heartbeatTimeoutMs
        this.log(`TaskManager ${this.id} registered at JobManager ${m.jobManagerId} (${this.jobManager.host}:${this.jobManager.port}) with ${this.numSlots} slot(s)`)
        this.startHeartbeats(connection)
        this.registeredOnce?.()
        this.registeredOnce = null
        this.refusedOnce = null
        this.unreachableLogged = false
        return
      case 'refused':
        this.log(`The JobManager refused this TaskManager: ${m.reason}`)
        this.stopped = true
        connection.close('refused')
        this.refusedOnce?.(new WeirError('WEIR_INVALID_ARGUMENT', `the JobManager refused this TaskManager: ${m.reason}`, { domain: 'user' }))
        return
      case 'heartbeat':
        return
      case 'deploy':
        this.deploy(connection, m.jobId, m.artifact, m.deployment)
        return
      case 'to-slot':
        this.taskManager.send(m.attemptId, m.slot, m.message)
        return
      case 'release':
        void this.taskManager.release(m.attemptId).then(() => connection.send({ type: 'released', attemptId: m.attemptId }))
        return
    }
  }

  private deploy(connection: RpcConnection<JobManagerMessage, TaskManagerMessage>, jobId: string, artifact: Uint8Array, deployment: AttemptDeployment): void {
    if (!/^[0-9a-f]{32}$/.test(jobId)) return connection.close(`refused: deployment of a malformed job id '${jobId}'`)
    const file = join(this.artifactDir, `${jobId}.mjs`)
    if (!existsSync(file)) writeFileSync(file, artifact)
    const url = pathToFileURL(file).href
    // Print sinks write to this process's stdout; the job's code is our copy of its artifact.
    const local: AttemptDeployment = { ...deployment, slots: deployment.slots.map((s) => ({ slot: s.slot, setup: { ...s.setup, artifactUrl: url, routeStdout: false } })) }
    this.log(`Deploying slot(s) ${deployment.slots.map((s) => s.slot).join(', ')} of attempt ${deployment.attemptId}`)
    this.taskManager.deploy(local, {
      onSlotMessage: (slot, message) => connection.send({ type: 'slot-message', attemptId: deployment.attemptId, slot, message }),
      onSlotLost: (slot, error) => connection.send({ type: 'slot-lost', attemptId: deployment.attemptId, slot, error: serializeError(error) }),
    })
  }

  private startHeartbeats(connection: RpcConnection<JobManagerMessage, TaskManagerMessage>): void {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer)
    let lastSent = 0
    this.heartbeatTimer = setInterval(() => {
      const now = Date.now()
      if (now - connection.lastReceivedAt > this.heartbeatTimeoutMs) return connection.close(`no heartbeat from the JobManager for ${now - connection.lastReceivedAt} ms`)
      if (now - lastSent >= this.heartbeatIntervalMs) {
        lastSent = now
        connection.send({ type: 'heartbeat' })
      }
    }, Math.min(this.heartbeatIntervalMs, 1000))
  }

  private onClosed(connection: RpcConnection<JobManagerMessage, TaskManagerMessage>, reason: string): void {
    if (this.connection !== connection) return
    this.connection = null
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer)
    this.heartbeatTimer = null
    this.releasing = this.taskManager.releaseAll().catch((e: unknown) => this.log(`Stopping the slots of the lost JobManager failed: ${(e as Error).message}`))
    if (this.stopped) return
    if (this.registeredOnce === null) {
      this.log(`Lost the JobManager (${reason}); stopped every slot, registering again`)
      this.registeredOnce = () => {}
      this.unreachableLogged = true
    } else if (!this.unreachableLogged) {
      this.unreachableLogged = true
      this.log(`The JobManager at ${this.jobManager.host}:${this.jobManager.port} is not reachable (${reason}); retrying every ${RECONNECT_MS} ms`)
    }
    this.reconnectTimer = setTimeout(() => void this.releasing.then(() => this.connect()), RECONNECT_MS)
  }

  async close(): Promise<void> {
    this.stopped = true
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer)
    this.connection?.close('the TaskManager shuts down')
    await this.taskManager.shutdown()
    rmSync(this.artifactDir, { recursive: true, force: true })
  }
}
