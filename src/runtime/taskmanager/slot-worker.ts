// Entry point of a slot: a worker thread that loads the bundled job, rebuilds its graph and
// runs the subtasks assigned to this slot.

import { parentPort, workerData, type MessagePort } from 'node:worker_threads'
import type { FromWorker, ToWorker, WorkerSetup } from '../messages.ts'
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

// Stacks of user code point into the job's own files (the bundle carries an inline source map).
process.setSourceMapsEnabled(true)

const setup = workerData.setup as WorkerSetup
const ports = workerData.ports as Record<string, MessagePort>
/** Shared-memory rings per co-located peer slot, when the TaskManager made them (else the ports carry data). */
const rings = workerData.rings as Map<number, SlotPairRings> | null
/** Cluster mode: peers on other TaskManagers, reached over TCP from this slot's data port. */
const dataPlane = workerData.dataPlane as { host: string; port: number; peers: number[] } | undefined
const port = parentPort!
const send = (m: FromWorker) => port.postMessage(m)

/** The links of several media as one transport: MessagePorts to co-located slots, TCP to the others. */
class CombinedTransport implements SlotTransport {
  constructor(private readonly parts: readonly SlotTransport[]) {}
  open(handler: PeerLinkHandler): ReadonlyMap<number, PeerLink> {
    const links = new Map<number, PeerLink>()
    for (const part of this.parts) for (const [peer, link] of part.open(handler)) links.set(peer, link)
    return links
  }
}

try {
  if (setup.routeStdout) stdoutWriter.target = { write: (text) => send({ type: 'stdout', text }) }
  const definition = await loadJobDefinition(setup.artifactUrl)
  const job = compileJob(definition, setup.args, setup.config, setup.restoredMaxParallelism ?? null)
  checkSameGraph(setup.graph, job.graph, job.name, `slot ${setup.workerIndex}`)
  // The LMDB backend loads a native addon: only for jobs that use it (it registers itself).
  if (setup.config['state.backend.type'] === 'lmdb' || job.config.get(STATE_BACKEND) === 'lmdb') await import('../../state/lmdb/lmdb-keyed-state-backend.ts')
  const peers = new Map<number, MessagePort>(Object.entries(ports).map(([k, p]) => [Number(k), p]))
  let transport: SlotTransport = rings !== null ? new SharedMemoryTransport(rings) : new MessagePortTransport(peers)
  let tcp: TcpSlotTransport | null = null
  if (dataPlane && dataPlane.peers.length > 0) {
    tcp = new TcpSlotTransport({ attemptId: `${setup.jobId}/${setup.attempt}`, slot: setup.workerIndex, peers: dataPlane.peers })
    const address = await tcp.listen(dataPlane.host, dataPlane.port)
    send({ type: 'data-address', host: address.host, port: address.port })
    transport = new CombinedTransport([transport, tcp])
  }
  const executor = new TaskExecutor(job, setup.workerIndex, setup.numWorkers, transport, send, setup.attempt, setup.jobId, setup.checkpointing, setup.restore, setup.restoreOperatorState)
  executor.logTaskLifecycle = setup.logTaskLifecycle ?? false
  port.on('message', (m: ToWorker) => {
    if (m.type === 'connect-peers') tcp?.connect(new Map(Object.entries(m.addresses).map(([k, a]) => [Number(k), a])))
    else executor.onControl(m)
  })
  executor.start()
} catch (e) {
  send({ type: 'failed', error: serializeError(e) })
  // The TaskManager stops a slot by a cancel it waits for (task-manager.ts): answer it.
  port.on('message', (m: ToWorker) => {
    if (m.type === 'cancel') send({ type: 'canceled' })
  })
}

