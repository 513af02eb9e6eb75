// The JobManager's gateway to a TaskManager in another process, over its RPC connection.
// Deployments carry the job's artifact (the TaskManager keeps it per job); everything the
// slots report comes back as slot messages. When the connection drops or heartbeats stop, the
// TaskManager is lost: each attempt it ran hears of it at once (WEIR_TASKMANAGER_LOST).

import { WeirError, deserializeError } from '../errors.ts'
import type { AttemptDeployment, SlotListener, TaskManagerGateway } from '../runtime/taskmanager/task-manager.ts'
import type { ToWorker } from '../runtime/messages.ts'
import type { RpcConnection } from './rpc-connection.ts'
import type { JobManagerMessage, TaskManagerMessage } from './rpc-messages.ts'

export class RemoteTaskManager implements TaskManagerGateway {
  private readonly listeners = new Map<string, SlotListener>()
  private readonly releases = new Map<string, () => void>()
  lost: WeirError | null = null
  readonly registeredAt = Date.now()

  constructor(
    readonly id: string,
    readonly numSlots: number,
    readonly host: string,
    readonly dataPort: number,
    private readonly connection: RpcConnection<TaskManagerMessage, JobManagerMessage>,
    private readonly artifactOf: (jobId: string) => Uint8Array | undefined,
  ) {}

  get lastHeartbeat(): number {
    return this.connection.lastReceivedAt
  }

  deploy(deployment: AttemptDeployment, listener: SlotListener): void {
    const jobId = deployment.attemptId.split('/')[0]!
    const artifact = this.artifactOf(jobId)
    if (this.lost || !artifact) {
      const error = this.lost ?? new WeirError('WEIR_INTERNAL', `no artifact for job ${jobId}`)
      queueMicrotask(() => {
        for (const s of deployment.slots) listener.onSlotLost(s.slot, error)
      })
      return
    }
    this.listeners.set(deployment.attemptId, listener)
    this.connection.send({ type: 'deploy', jobId, artifact, deployment })
  }

  send(attemptId: string, slot: number, message: ToWorker): void {
    if (this.listeners.has(attemptId)) this.connection.send({ type: 'to-slot', attemptId, slot, message })
  }

  /** Resolves when the TaskManager stopped the attempt's workers (or is gone). */
  release(attemptId: string): Promise<void> {
    if (!this.listeners.delete(attemptId) || this.lost) return Promise.resolve()
    return new Promise((resolve) => {
      this.releases.set(attemptId, resolve)
      this.connection.send({ type: 'release', attemptId })
    })
  }

  onMessage(m: TaskManagerMessage): void {
    switch (m.type) {
      case 'slot-message':
        this.listeners.get(m.attemptId)?.onSlotMessage(m.slot, m.message)
        return
      case 'slot-lost':
        this.listeners.get(m.attemptId)?.onSlotLost(m.slot, deserializeError(m.error))
        return
      case 'released': {
        const done = this.releases.get(m.attemptId)
        this.releases.delete(m.attemptId)
        done?.()
        return
      }
      default:
        return
    }
  }

  /** The connection is gone: every attempt on this TaskManager fails, every release completes. */
  markLost(reason: string): WeirError {
    if (this.lost) return this.lost
    const error = new WeirError('WEIR_TASKMANAGER_LOST', `TaskManager ${this.id} (${this.host}) is lost: ${reason}`, { retriable: true, domain: 'external' })
    this.lost = error
    for (const [, listener] of this.listeners) listener.onSlotLost(-1, error)
    this.listeners.clear()
    for (const done of this.releases.values()) done()
    this.releases.clear()
    return error
  }
}
