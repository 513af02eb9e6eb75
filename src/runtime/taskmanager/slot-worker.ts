// Entry point of a worker thread that runs one or more slots of an attempt. Each slot loads the
// bundled job, rebuilds its graph and runs the subtasks assigned to it in a TaskExecutor of its
// own, with its own links, checkpoints and failures; slots of one thread share only the loaded
// code (the job module and the runtime, loaded once per thread) and the thread's event loop, as
// Flink's slots share one JVM. The thread's slots arrive in the first message on its port
// ({ host }, slot-thread-pool.ts), so that a spare thread can be started, and load the runtime,
// before there is anything to run; messages between the TaskManager and a slot then go over the
// port, wrapped with the slot's global index (SlotEnvelope).

import { parentPort, workerData, type MessagePort } from 'node:worker_threads'
import { pathToFileURL } from 'node:url'
import type { FromWorker, SlotEnvelope, ToWorker, WorkerSetup } from '../messages.ts'
import { compileJob } from '../compile.ts'
import { checkSameGraph } from '../../graph/graph-fingerprint.ts'
import { TaskExecutor } from './task-executor.ts'
import { stdoutWriter } from '../../connectors/print/stdout.ts'
import { serializeError } from '../../errors.ts'
import { loadJobDefinition } from '../load-job.ts'
import { RUNTIME_ENTRY } from '../../package-layout.ts'
import { STATE_BACKEND } from '../../config/options.ts'
import { MessagePortTransport } from '../network/message-port-link.ts'
import { SharedMemoryTransport, type SlotPairRings } from '../network/shared-memory-link.ts'
import { TcpSlotTransport } from '../network/tcp-link.ts'
import type { PeerLink, PeerLinkHandler, SlotTransport } from '../network/transport.ts'
import type { SlotThreadData, SpareReady } from './slot-thread-pool.ts'

/** What the TaskManager hands a thread for each slot it runs. */
export interface HostedSlot {
  readonly setup: WorkerSetup
  /** MessagePorts to the co-located peer slots this slot exchanges data with, by peer index. */
  readonly ports: Record<number, MessagePort>
  /** Shared-memory rings per co-located peer slot, when the TaskManager made them (else the ports carry data). */
  readonly rings: Map<number, SlotPairRings> | null
  /** Cluster mode: peers on other TaskManagers, reached over TCP from this slot's data port. */
  readonly dataPlane?: { readonly host: string; readonly port: number; readonly peers: readonly number[]; readonly attemptId: string }
}

const port = parentPort!

/** The links of several media as one transport: MessagePorts to co-located slots, TCP to the others. */
class CombinedTransport implements SlotTransport {
  constructor(private readonly parts: readonly SlotTransport[]) {}
  open(handler: PeerLinkHandler): ReadonlyMap<number, PeerLink> {
    const links = new Map<number, PeerLink>()
    for (const part of this.parts) for (const [peer, link] of part.open(handler)) links.set(peer, link)
    return links
  }
}

/** Control messages per slot; a slot still starting queues them, as a port without a listener would. */
const handlers = new Map<number, (m: ToWorker) => void>()
const early = new Map<number, ToWorker[]>()
let hosting = false
port.on('message', (m: { readonly host: HostedSlot[] } | SlotEnvelope<ToWorker>) => {
  if ('host' in m) {
    if (hosting) return
    hosting = true
    for (const h of m.host) early.set(h.setup.workerIndex, [])
    void hostSlots(m.host)
    return
  }
  const handler = handlers.get(m.slot)
  if (handler) handler(m.message)
  else early.get(m.slot)?.push(m.message)
})

function listen(slot: number, handler: (m: ToWorker) => void): void {
  handlers.set(slot, handler)
  for (const m of early.get(slot)!.splice(0)) handler(m)
  early.delete(slot)
}

let stdoutRouted = false

async function runSlot({ setup, ports, rings, dataPlane }: HostedSlot): Promise<void> {
  const slot = setup.workerIndex
  const send = (message: FromWorker) => port.postMessage({ slot, message } satisfies SlotEnvelope<FromWorker>)
  try {
    // print() output of every slot of this thread goes to the TaskManager through the first one.
    if (setup.routeStdout && !stdoutRouted) {
      stdoutWriter.target = { write: (text) => send({ type: 'stdout', text }) }
      stdoutRouted = true
    }
    // The module is loaded once per thread; each slot builds its own graph (its own function objects).
    await loadRuntimeThenSourceMaps()
    const definition = await loadJobDefinition(setup.artifactUrl)
    const job = compileJob(definition, setup.args, setup.config, setup.restoredMaxParallelism ?? null)
    checkSameGraph(setup.graph, job.graph, job.name, `slot ${slot}`)
    // The LMDB backend loads a native addon: only for jobs that use it (it registers itself).
    if (setup.config['state.backend.type'] === 'lmdb' || job.config.get(STATE_BACKEND) === 'lmdb') await import('../../state/lmdb/lmdb-keyed-state-backend.ts')
    const peers = new Map<number, MessagePort>(Object.entries(ports).map(([k, p]) => [Number(k), p]))
    let transport: SlotTransport = rings !== null ? new SharedMemoryTransport(rings) : new MessagePortTransport(peers)
    let tcp: TcpSlotTransport | null = null
    if (dataPlane && dataPlane.peers.length > 0) {
      tcp = new TcpSlotTransport({ attemptId: dataPlane.attemptId, slot, peers: dataPlane.peers })
      const address = await tcp.listen(dataPlane.host, dataPlane.port)
      send({ type: 'data-address', host: address.host, port: address.port })
      transport = new CombinedTransport([transport, tcp])
    }
    const executor = new TaskExecutor(job, slot, setup.numWorkers, transport, send, setup.attempt, setup.jobId, setup.checkpointing, setup.restore, setup.restoreOperatorState, setup.restoredCheckpointId ?? null)
    executor.logTaskLifecycle = setup.logTaskLifecycle ?? false
    listen(slot, (m) => {
      if (m.type === 'connect-peers') tcp?.connect(new Map(Object.entries(m.addresses).map(([k, a]) => [Number(k), a])))
      else executor.onControl(m)
    })
    executor.start()
  } catch (e) {
    send({ type: 'failed', error: serializeError(e) })
    // The TaskManager stops a slot by a cancel it waits for (task-manager.ts): answer it.
    listen(slot, (m) => {
      if (m.type === 'cancel') send({ type: 'canceled' })
    })
  }
}

// Slots start one after the other: the first loads the job module, the others find it loaded.
async function hostSlots(hosted: readonly HostedSlot[]): Promise<void> {
  for (const slot of hosted) await runSlot(slot)
}

/**
 * Loads what every job's bundle imports, the runtime's entry (load-job.ts), and then turns source
 * maps on, so that stacks of user code point into the job's own files (its bundle carries an inline
 * map). In that order because Node reads and parses the map of every module it loads while maps
 * are on: for the runtime's ~170 modules that was a tenth of a thread's start, and the runtime's
 * frames read well enough as the built JavaScript.
 */
async function loadRuntimeThenSourceMaps(): Promise<void> {
  await import(pathToFileURL(RUNTIME_ENTRY).href)
  process.setSourceMapsEnabled(true)
}

// A spare loads the runtime before it is needed.
if ((workerData as SlotThreadData | null)?.spare) {
  await loadRuntimeThenSourceMaps()
  port.postMessage({ spare: 'ready' } satisfies SpareReady)
}
