// A TaskManager: offers slots, each a worker thread, and runs the share of an attempt that the
// JobManager deploys to it. The JobManager sees every TaskManager through TaskManagerGateway,
// whether it lives in the same process (the embedded mini cluster calls this class directly)
// or in another one (cluster mode puts an RPC connection between the two; src/cluster/).
//
// Slots of one attempt that run on the same TaskManager exchange data over MessagePorts
// created here; slots on different TaskManagers over the data plane the deployment names.

import { Worker, MessageChannel, type MessagePort } from 'node:worker_threads'
import { createRing, type SlotPairRings } from '../network/shared-memory-link.ts'
import { NETWORK_LOCAL_TRANSPORT } from '../../config/options.ts'
import { fileURLToPath } from 'node:url'
import { extname } from 'node:path'
import type { FromWorker, ToWorker, WorkerSetup } from '../messages.ts'
import { WeirError } from '../../errors.ts'

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
  /** Unique per job attempt: `${jobId}/${attemptNumber}`. */
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

const here = fileURLToPath(import.meta.url)
const WORKER_ENTRY = new URL(`./slot-worker${extname(here)}`, import.meta.url)

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

interface DeployedAttempt {
  readonly workers: Map<number, Worker>
  released: boolean
}

/** The TaskManager itself: its slots are worker threads of this process. */
export class TaskManager implements TaskManagerGateway {
  private readonly attempts = new Map<string, DeployedAttempt>()

  /**
   * `data`: where slots listen for peers on other TaskManagers (taskmanager.host,
   * taskmanager.data.port). Each slot has its own port: slot i of this TaskManager listens on
   * port + i, or on any free port when port is 0.
   */
  constructor(readonly id: string, readonly numSlots: number, private readonly data: { host: string; port: number } = { host: '127.0.0.1', port: 0 }) {}

  deploy(deployment: AttemptDeployment, listener: SlotListener): void {
    const localIndex = (slot: number) => deployment.slots.findIndex((s) => s.slot === slot)
    const mine = new Set(deployment.slots.map((s) => s.slot))
    // One channel per pair of co-located slots carries all data between them: two
    // shared-memory rings, or a MessageChannel (taskmanager.network.local-transport).
    const raw = deployment.slots[0]?.setup.config[NETWORK_LOCAL_TRANSPORT.key]
    const sharedMemory = raw !== undefined && NETWORK_LOCAL_TRANSPORT.parse(raw) === 'shared-memory'
    const ports = new Map<number, Record<number, MessagePort>>()
    const rings = new Map<number, Map<number, SlotPairRings>>()
    for (const s of mine) {
      ports.set(s, {})
      rings.set(s, new Map())
    }
    const sorted = [...mine].sort((a, b) => a - b)
    for (let i = 0; i < sorted.length; i++) {
      for (let j = i + 1; j < sorted.length; j++) {
        const a = sorted[i]!
        const b = sorted[j]!
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
    // Slots on other TaskManagers are reached over TCP from each slot's own data port.
    const remotePeers: number[] = []
    deployment.locations.forEach((loc, slot) => {
      if (loc.taskManagerId !== this.id) remotePeers.push(slot)
    })
    const attempt: DeployedAttempt = { workers: new Map(), released: false }
    this.attempts.set(deployment.attemptId, attempt)
    for (const { slot, setup } of deployment.slots) {
      const slotPorts = ports.get(slot)!
      const [entry, entryOptions] = workerEntry()
      const worker = new Worker(entry, {
        ...entryOptions,
        workerData: {
          setup, ports: slotPorts, rings: sharedMemory ? rings.get(slot)! : null,
          dataPlane: remotePeers.length > 0 ? { host: this.data.host, port: this.data.port === 0 ? 0 : this.data.port + localIndex(slot), peers: remotePeers } : undefined,
        },
        transferList: Object.values(slotPorts),
        name: `weir-slot-${slot}`,
      })
      worker.on('message', (m: FromWorker) => {
        if (!attempt.released) listener.onSlotMessage(slot, m)
      })
      worker.on('error', (e) => {
        if (!attempt.released) listener.onSlotLost(slot, new WeirError('WEIR_WORKER_LOST', `slot ${slot} crashed: ${e.message}`, { cause: e, retriable: true }))
      })
      worker.on('exit', (code) => {
        if (!attempt.released) listener.onSlotLost(slot, new WeirError('WEIR_WORKER_LOST', `slot ${slot} exited unexpectedly with code ${code}`, { retriable: true }))
      })
      attempt.workers.set(slot, worker)
    }
  }

  send(attemptId: string, slot: number, message: ToWorker): void {
    const attempt = this.attempts.get(attemptId)
    if (attempt && !attempt.released) attempt.workers.get(slot)?.postMessage(message)
  }

  async release(attemptId: string): Promise<void> {
    const attempt = this.attempts.get(attemptId)
    if (!attempt) return
    attempt.released = true
    this.attempts.delete(attemptId)
    await Promise.all([...attempt.workers.values()].map((w) => stopWorker(w)))
  }

  /** Stops every attempt (the TaskManager shuts down). */
  async shutdown(): Promise<void> {
    await Promise.all([...this.attempts.keys()].map((id) => this.release(id)))
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
async function stopWorker(worker: Worker): Promise<void> {
  // A worker that already exited has threadId -1 and would never answer.
  if (worker.threadId === -1) return
  let exited = false
  const stopped = new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, SLOT_STOP_GRACE_MS)
    timer.unref()
    const done = () => {
      clearTimeout(timer)
      resolve()
    }
    worker.on('message', (m: FromWorker) => {
      if (m.type === 'canceled' || m.type === 'failed') done()
    })
    worker.once('exit', () => {
      exited = true
      done()
    })
  })
  try {
    worker.postMessage({ type: 'cancel' } satisfies ToWorker)
  } catch {
    // the worker is gone already
  }
  await stopped
  if (!exited) await worker.terminate()
}
