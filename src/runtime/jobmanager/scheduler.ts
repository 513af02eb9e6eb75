// The JobManager's slot pool and scheduler: which TaskManagers are registered, how many slots
// each offers and which are free, and the allocation of an attempt's slots. A job needs as many
// slots as its highest parallelism (slot sharing: subtask i of every vertex runs in slot i); if
// that many are not free, the request waits for TaskManagers to register or free slots, up to
// slot.request.timeout, and then fails saying how many it has and needs (as Flink does).

import { WeirError } from '../../errors.ts'
import type { TaskManagerGateway } from '../taskmanager/task-manager.ts'

/** One allocated slot: which TaskManager runs it, and the slot's index on that TaskManager. */
export interface AllocatedSlot {
  readonly taskManager: TaskManagerGateway
  readonly localIndex: number
}

interface Registered {
  readonly gateway: TaskManagerGateway
  /** Local slot indexes not allocated. */
  readonly free: Set<number>
  readonly registeredAt: number
}

interface PendingRequest {
  readonly count: number
  readonly resolve: (slots: AllocatedSlot[]) => void
  readonly reject: (e: Error) => void
  readonly timer: NodeJS.Timeout | null
}

/** Called when a registered TaskManager is lost, with the slots it held. */
export type TaskManagerLostListener = (taskManagerId: string, error: WeirError) => void

export class SlotPool {
  private readonly taskManagers = new Map<string, Registered>()
  private readonly requests: PendingRequest[] = []
  private readonly lostListeners = new Set<TaskManagerLostListener>()

  register(gateway: TaskManagerGateway): void {
    if (this.taskManagers.has(gateway.id)) throw new WeirError('WEIR_INTERNAL', `TaskManager ${gateway.id} is already registered`)
    this.taskManagers.set(gateway.id, { gateway, free: new Set(Array.from({ length: gateway.numSlots }, (_, i) => i)), registeredAt: Date.now() })
    this.serveRequests()
  }

  /** The TaskManager is gone (killed, connection lost, heartbeat timeout): its slots with it. */
  unregister(taskManagerId: string, error: WeirError): void {
    if (!this.taskManagers.delete(taskManagerId)) return
    for (const l of this.lostListeners) l(taskManagerId, error)
  }

  onTaskManagerLost(listener: TaskManagerLostListener): () => void {
    this.lostListeners.add(listener)
    return () => this.lostListeners.delete(listener)
  }

  get registered(): ReadonlyArray<{ readonly gateway: TaskManagerGateway; readonly freeSlots: number; readonly registeredAt: number }> {
    return [...this.taskManagers.values()].map((r) => ({ gateway: r.gateway, freeSlots: r.free.size, registeredAt: r.registeredAt }))
  }

  get totalSlots(): number {
    let n = 0
    for (const r of this.taskManagers.values()) n += r.gateway.numSlots
    return n
  }

  get freeSlots(): number {
    let n = 0
    for (const r of this.taskManagers.values()) n += r.free.size
    return n
  }

  /**
   * Allocates `count` slots, waiting up to `timeoutMs` for enough to be free. Slots are taken
   * TaskManager by TaskManager in registration order (Flink's default, not spread out).
   */
  allocate(count: number, timeoutMs: number, signal?: AbortSignal): Promise<AllocatedSlot[]> {
    const now = this.tryAllocate(count)
    if (now) return Promise.resolve(now)
    return new Promise((resolve, reject) => {
      signal?.addEventListener('abort', () => {
        const at = this.requests.indexOf(request)
        if (at < 0) return
        this.requests.splice(at, 1)
        if (request.timer) clearTimeout(request.timer)
        reject(signal.reason instanceof Error ? signal.reason : new WeirError('WEIR_JOB_CANCELED', 'the slot request was canceled'))
      }, { once: true })
      const request: PendingRequest = {
        count, resolve, reject,
        timer: Number.isFinite(timeoutMs)
          ? setTimeout(() => {
            const at = this.requests.indexOf(request)
            if (at >= 0) this.requests.splice(at, 1)
            reject(new WeirError('WEIR_NOT_ENOUGH_SLOTS', `could not get ${count} slot(s) within slot.request.timeout (${timeoutMs} ms): the cluster has ${this.freeSlots} free of ${this.totalSlots} slot(s) on ${this.taskManagers.size} TaskManager(s); start more TaskManagers or lower the parallelism`, { retriable: false, domain: 'user' }))
          }, timeoutMs)
          : null,
      }
      this.requests.push(request)
    })
  }

  release(slots: readonly AllocatedSlot[]): void {
    for (const s of slots) this.taskManagers.get(s.taskManager.id)?.free.add(s.localIndex)
    this.serveRequests()
  }

  private tryAllocate(count: number): AllocatedSlot[] | null {
    if (this.freeSlots < count) return null
    const slots: AllocatedSlot[] = []
    for (const r of this.taskManagers.values()) {
      for (const i of [...r.free].sort((a, b) => a - b)) {
        if (slots.length === count) break
        r.free.delete(i)
        slots.push({ taskManager: r.gateway, localIndex: i })
      }
    }
    return slots
  }

  private serveRequests(): void {
    while (this.requests.length > 0) {
      const head = this.requests[0]!
      const slots = this.tryAllocate(head.count)
      if (!slots) return
      this.requests.shift()
      if (head.timer) clearTimeout(head.timer)
      head.resolve(slots)
    }
  }
}
