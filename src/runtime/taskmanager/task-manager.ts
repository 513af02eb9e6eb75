// A TaskManager: offers slots and runs the share of an attempt that the JobManager deploys to
// it. The JobManager sees every TaskManager through TaskManagerGateway, whether it lives in the
// same process (the embedded mini cluster calls this class directly) or in another one (cluster
// mode puts an RPC connection between the two; src/cluster/).
//
// Slots run in worker threads: one thread per slot up to a bound (taskmanager.slot-threads,
// by default twice the cores), then several slots per thread, each with its own tasks, links
// and checkpoints (slot-worker.ts). A thread costs its start and the loading of the runtime and
// the job (most of a slot's start-up); a slot beyond the cores gains nothing from a thread of
// its own. Spare threads that loaded the runtime ahead of need take most of that cost out of a
// deployment (slot-thread-pool.ts, taskmanager.spare-slot-threads). Slots of an attempt that run on the same TaskManager and exchange data (slot-links.ts)
// are linked over MessagePorts or shared-memory rings created here; slots on different
// TaskManagers over the data plane the deployment names.

import { MessageChannel, type MessagePort, type Worker } from 'node:worker_threads'
import { availableParallelism } from 'node:os'
import { createRing, type SlotPairRings } from '../network/shared-memory-link.ts'
import { NETWORK_LOCAL_TRANSPORT } from '../../config/options.ts'
import type { FromWorker, SlotEnvelope, ToWorker, WorkerSetup } from '../messages.ts'
import { WeirError } from '../../errors.ts'
import { slotPeers } from './slot-links.ts'
import type { HostedSlot } from './slot-worker.ts'
import { SlotThreadPool, type SpareReady } from './slot-thread-pool.ts'

/** One slot's share of an attempt. */
export interface SlotDeployment {
  /** The slot's global index in the attempt (0 to numSlots - 1 over every TaskManager). */
  readonly slot: number
  readonly setup: WorkerSetup
}

/** Where a slot of an attempt runs. */
export interface SlotLocation {
  readonly taskManagerId: string
}

export interface AttemptDeployment {
  /** Unique per job attempt: `${jobId}/${attemptNumber}/${JobManager session}` (attempt.ts). */
  readonly attemptId: string
  readonly slots: readonly SlotDeployment[]
  /** Every slot of the attempt, by global index. */
  readonly locations: readonly SlotLocation[]
}

/** What a TaskManager reports about the slots of a deployed attempt. */
export interface SlotListener {
  onSlotMessage(slot: number, message: FromWorker): void
  /** The slot's worker died (crash, unexpected exit, its TaskManager is gone). */
  onSlotLost(slot: number, error: WeirError): void
}

/** The JobManager's view of a TaskManager. */
export interface TaskManagerGateway {
  readonly id: string
  readonly numSlots: number
  /** Starts the attempt's slots on this TaskManager; messages and losses go to `listener`. */
  deploy(deployment: AttemptDeployment, listener: SlotListener): void
  /** A control message for one slot of a deployed attempt. */
  send(attemptId: string, slot: number, message: ToWorker): void
  /** Stops the attempt's slots on this TaskManager (terminates their workers). */
  release(attemptId: string): Promise<void>
}

interface DeployedAttempt {
  /** The thread of each slot (several slots may share one). */
  readonly workers: Map<number, Worker>
  released: boolean
  onReleased?: () => void
}

/** What a deployment created, for tests and benchmarks: threads and links between co-located slots. */
export interface DeploymentFootprint {
  readonly threads: number
  /** MessageChannels or shared-memory ring pairs, one per linked pair of co-located slots. */
  readonly localLinks: number
}

/** Threads for `slots` slots when taskmanager.slot-threads is 0: one per slot up to twice the cores (at least 4). */
export function defaultSlotThreads(slots: number, cores: number = availableParallelism()): number {
  return Math.min(slots, Math.max(4, 2 * cores))
}

/**
 * Spare threads for taskmanager.spare-slot-threads: -1 (the default) means as many as the
 * TaskManager's slots use for a standalone TaskManager, none for the embedded one (it runs one
 * job and goes; spares would only compete with the job's start). Never more than the slots use.
 */
export function spareSlotThreads(configured: number, numSlots: number, slotThreads: number, standalone: boolean): number {
  const threads = slotThreads > 0 ? Math.min(slotThreads, numSlots) : defaultSlotThreads(numSlots)
  if (configured < 0) return standalone ? threads : 0
  return Math.min(configured, threads)
}

/** The TaskManager itself: its slots run in worker threads of this process. */
export class TaskManager implements TaskManagerGateway {
  private readonly attempts = new Map<string, DeployedAttempt>()
  /** The footprint of the latest deployment. */
  lastDeployment: DeploymentFootprint | null = null
  /** Where slot threads come from: spares started ahead of need, or new ones. */
  readonly threads: SlotThreadPool

  /**
   * `data`: where slots listen for peers on other TaskManagers (taskmanager.host,
   * taskmanager.data.port). Each slot has its own port: slot i of this TaskManager listens on
   * port + i, or on any free port when port is 0. `slotThreads`: taskmanager.slot-threads (0: derived).
   * `spareThreads`: spare threads kept started (spareSlotThreads()); 0: threads start on demand.
   */
  constructor(readonly id: string, readonly numSlots: number, private readonly data: { host: string; port: number } = { host: '127.0.0.1', port: 0 }, private readonly slotThreads = 0, spareThreads = 0) {
    this.threads = new SlotThreadPool(spareThreads)
  }

  deploy(deployment: AttemptDeployment, listener: SlotListener): void {
    const localIndex = (slot: number) => deployment.slots.findIndex((s) => s.slot === slot)
    const mine = new Set(deployment.slots.map((s) => s.slot))
    const first = deployment.slots[0]?.setup
    if (!first) return
    // Only slots that exchange data are linked (an edge connects them): linear, not quadratic,
    // in the slots for a job fanning out from one source.
    const peers = slotPeers(first.graph, deployment.locations.length)
    // One channel per linked pair of co-located slots carries all data between them: two
    // shared-memory rings, or a MessageChannel (taskmanager.network.local-transport).
    const raw = first.config[NETWORK_LOCAL_TRANSPORT.key]
    const sharedMemory = raw !== undefined && NETWORK_LOCAL_TRANSPORT.parse(raw) === 'shared-memory'
    const ports = new Map<number, Record<number, MessagePort>>()
    const rings = new Map<number, Map<number, SlotPairRings>>()
    for (const s of mine) {
      ports.set(s, {})
      rings.set(s, new Map())
    }
    let localLinks = 0
    for (const a of mine) {
      for (const b of peers[a]!) {
        if (b <= a || !mine.has(b)) continue
        localLinks++
        if (sharedMemory) {
          const aToB = createRing()
          const bToA = createRing()
          rings.get(a)!.set(b, { outgoing: aToB, incoming: bToA })
          rings.get(b)!.set(a, { outgoing: bToA, incoming: aToB })
        } else {
          const { port1, port2 } = new MessageChannel()
          ports.get(a)![b] = port1
          ports.get(b)![a] = port2
        }
      }
    }
    const attempt: DeployedAttempt = { workers: new Map(), released: false }
    this.attempts.set(deployment.attemptId, attempt)
    // Slot k of this TaskManager runs in thread k mod threads.
    const threads = this.slotThreads > 0 ? Math.min(this.slotThreads, deployment.slots.length) : defaultSlotThreads(deployment.slots.length)
    const groups: HostedSlot[][] = Array.from({ length: threads }, () => [])
    deployment.slots.forEach(({ slot, setup }, k) => {
      // Slots on other TaskManagers that this one exchanges data with are reached over TCP from its own data port.
      const remotePeers = [...peers[slot]!].filter((p) => deployment.locations[p]!.taskManagerId !== this.id).sort((x, y) => x - y)
      groups[k % threads]!.push({
        setup, ports: ports.get(slot)!, rings: sharedMemory ? rings.get(slot)! : null,
        dataPlane: remotePeers.length > 0 ? { host: this.data.host, port: this.data.port === 0 ? 0 : this.data.port + localIndex(slot), peers: remotePeers, attemptId: deployment.attemptId } : undefined,
      })
    })
    // Spares are started again once this deployment's slots run (or stop): not while they start.
    const starting = new Set(mine)
    const started = (slot: number) => {
      if (starting.delete(slot) && starting.size === 0) this.threads.refillGradually()
    }
    attempt.onReleased = () => {
      if (starting.size === 0) return
      starting.clear()
      this.threads.refillGradually()
    }
    for (const group of groups) {
      const slots = group.map((h) => h.setup.workerIndex)
      const worker = this.threads.take(slots.length === 1 ? `weir-slot-${slots[0]}` : `weir-slots-${slots[0]}-${slots[slots.length - 1]}`)
      worker.postMessage({ host: group }, group.flatMap((h) => Object.values(h.ports)))
      worker.on('message', (m: SlotEnvelope<FromWorker> | SpareReady) => {
        if (!('slot' in m)) return
        const { slot, message } = m
        if (message.type === 'slot-running' || message.type === 'failed') started(slot)
        if (!attempt.released) listener.onSlotMessage(slot, message)
      })
      worker.on('error', (e) => {
        for (const slot of slots) if (!attempt.released) listener.onSlotLost(slot, new WeirError('WEIR_WORKER_LOST', `slot ${slot} crashed: ${e.message}`, { cause: e, retriable: true }))
      })
      worker.on('exit', (code) => {
        for (const slot of slots) if (!attempt.released) listener.onSlotLost(slot, new WeirError('WEIR_WORKER_LOST', `slot ${slot} exited unexpectedly with code ${code}`, { retriable: true }))
      })
      for (const slot of slots) attempt.workers.set(slot, worker)
    }
    this.lastDeployment = { threads, localLinks }
  }

  send(attemptId: string, slot: number, message: ToWorker): void {
    const attempt = this.attempts.get(attemptId)
    if (attempt && !attempt.released) attempt.workers.get(slot)?.postMessage({ slot, message } satisfies SlotEnvelope<ToWorker>)
  }

  async release(attemptId: string): Promise<void> {
    const attempt = this.attempts.get(attemptId)
    if (!attempt) return
    attempt.released = true
    this.attempts.delete(attemptId)
    attempt.onReleased?.()
    const slotsOf = new Map<Worker, number[]>()
    for (const [slot, worker] of attempt.workers) slotsOf.set(worker, [...(slotsOf.get(worker) ?? []), slot])
    await Promise.all([...slotsOf].map(([worker, slots]) => stopWorker(worker, slots)))
  }

  /** Stops every attempt (its JobManager is gone); spare threads stay for the next one. */
  async releaseAll(): Promise<void> {
    await Promise.all([...this.attempts.keys()].map((id) => this.release(id)))
  }

  /** Stops every attempt and the spare threads (the TaskManager shuts down). */
  async shutdown(): Promise<void> {
    await this.releaseAll()
    await this.threads.close()
  }
}

/** How long a slot may take to close its tasks on a cancel before its thread is terminated. */
export const SLOT_STOP_GRACE_MS = 20_000

/**
 * Stops a slot's worker: asks it to cancel its tasks (they close their state backends) and
 * terminates the thread once it answered, or after SLOT_STOP_GRACE_MS. Terminating at once was
 * a race: a slot still restoring runs JavaScript inside a native LMDB write transaction, and a
 * thread terminated there never finished (its cleanup waited on the transaction's lock), so
 * the JobManager's thread waited forever to join it (0 % CPU, deaf to SIGTERM) when another
 * slot's restore failed on a damaged shared file. A cancel is handled between two pieces of
 * work, never inside a transaction.
 */
async function stopWorker(worker: Worker, slots: readonly number[]): Promise<void> {
  // A worker that already exited has threadId -1 and would never answer.
  if (worker.threadId === -1) return
  let exited = false
  const waiting = new Set(slots)
  const stopped = new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, SLOT_STOP_GRACE_MS)
    timer.unref()
    const done = () => {
      clearTimeout(timer)
      resolve()
    }
    worker.on('message', ({ slot, message }: SlotEnvelope<FromWorker>) => {
      if ((message.type === 'canceled' || message.type === 'failed') && waiting.delete(slot) && waiting.size === 0) done()
    })
    worker.once('exit', () => {
      exited = true
      done()
    })
  })
  try {
    for (const slot of slots) worker.postMessage({ slot, message: { type: 'cancel' } } satisfies SlotEnvelope<ToWorker>)
  } catch {
    // the worker is gone already
  }
  await stopped
  if (!exited) await worker.terminate()
}
