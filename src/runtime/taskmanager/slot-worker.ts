// Entry point of a worker thread that runs one or more slots of an attempt. Each slot loads the
// bundled job, rebuilds its graph and runs the subtasks assigned to it in a TaskExecutor of its
// own, with its own links, checkpoints and failures; slots of one thread share only the loaded
// code (the job module and the runtime, loaded once per thread) and the thread's event loop, as
// Flink's slots share one JVM. Messages between the TaskManager and a slot go over the thread's
// port, wrapped with the slot's global index (SlotEnvelope).

import { parentPort, workerData, type MessagePort } from 'node:worker_threads'
import type { FromWorker, SlotEnvelope, ToWorker, WorkerSetup } from '../messages.ts'
import { compileJob } from '../compile.ts'
import { checkSameGraph } from '../../graph/graph-fingerprint.ts'
import { TaskExecutor } from './task-executor.ts'
import { stdoutWriter } from '../../connectors/print/stdout.ts'
import { serializeError } from '../../errors.ts'
import { loadJobDefinition } from '../load-job.ts'
import { STATE_BACKEND } from '../../config/options.ts'
import { MessagePortTransport } from '../network/message-port-link.ts'
import { SharedMemoryTransport, type SlotPairRings } from '../network/shared-memory-link.ts'
import { TcpSlotTransport } from '../network/tcp-link.ts'
import type { PeerLink, PeerLinkHandler, SlotTransport } from '../network/transport.ts'

/** What the TaskManager hands a thread for each slot it runs. */
export interface HostedSlot {
  readonly setup: WorkerSetup
  /** MessagePorts to the co-located peer slots this slot exchanges data with, by peer index. */
  readonly ports: Record<number, MessagePort>
  /** Shared-memory rings per co-located peer slot, when the TaskManager made them (else the ports carry data). */
  readonly rings: Map<number, SlotPairRings> | null
  /** Cluster mode: peers on other TaskManagers, reached over TCP from this slot's data port. */
  readonly dataPlane?: { readonly host: string; readonly port: number; readonly peers: readonly number[] }
}

// Stacks of user code point into the job's own files (the bundle carries an inline source map).
process.setSourceMapsEnabled(true)

const hosted = (workerData as { slots: HostedSlot[] }).slots
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
const early = new Map<number, ToWorker[]>(hosted.map((h) => [h.setup.workerIndex, []]))
port.on('message', ({ slot, message }: SlotEnvelope<ToWorker>) => {
  const handler = handlers.get(slot)
  if (handler) handler(message)
  else early.get(slot)?.push(message)
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
    const definition = await loadJobDefinition(setup.artifactUrl)
    const job = compileJob(definition, setup.args, setup.config, setup.restoredMaxParallelism ?? null)
    checkSameGraph(setup.graph, job.graph, job.name, `slot ${slot}`)
    // The LMDB backend loads a native addon: only for jobs that use it (it registers itself).
    if (setup.config['state.backend.type'] === 'lmdb' || job.config.get(STATE_BACKEND) === 'lmdb') await import('../../state/lmdb/lmdb-keyed-state-backend.ts')
    const peers = new Map<number, MessagePort>(Object.entries(ports).map(([k, p]) => [Number(k), p]))
    let transport: SlotTransport = rings !== null ? new SharedMemoryTransport(rings) : new MessagePortTransport(peers)
    let tcp: TcpSlotTransport | null = null
    if (dataPlane && dataPlane.peers.length > 0) {
      tcp = new TcpSlotTransport({ attemptId: `${setup.jobId}/${setup.attempt}`, slot, peers: dataPlane.peers })
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
for (const slot of hosted) await runSlot(slot)
