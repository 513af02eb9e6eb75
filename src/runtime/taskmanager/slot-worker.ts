// Entry point of a slot: a worker thread that loads the bundled job, rebuilds its graph and
// runs the subtasks assigned to this slot.

import { parentPort, workerData, type MessagePort } from 'node:worker_threads'
import type { FromWorker, ToWorker, WorkerSetup } from '../messages.ts'
import { compileJob } from '../compile.ts'
import { TaskExecutor } from './task-executor.ts'
import { stdoutWriter } from '../../connectors/print/stdout.ts'
import { serializeError } from '../../errors.ts'
import { loadJobDefinition } from '../load-job.ts'
import { STATE_BACKEND } from '../../config/options.ts'
import { MessagePortTransport } from '../network/message-port-link.ts'

// Stacks of user code point into the job's own files (the bundle carries an inline source map).
process.setSourceMapsEnabled(true)

const setup = workerData.setup as WorkerSetup
const ports = workerData.ports as Record<string, MessagePort>
const port = parentPort!
const send = (m: FromWorker) => port.postMessage(m)

try {
  if (setup.routeStdout) stdoutWriter.target = { write: (text) => send({ type: 'stdout', text }) }
  const definition = await loadJobDefinition(setup.artifactUrl)
  const job = compileJob(definition, setup.args, setup.config)
  // The LMDB backend loads a native addon: only for jobs that use it (it registers itself).
  if (setup.config['state.backend.type'] === 'lmdb' || job.config.get(STATE_BACKEND) === 'lmdb') await import('../../state/lmdb/lmdb-keyed-state-backend.ts')
  const peers = new Map<number, MessagePort>(Object.entries(ports).map(([k, p]) => [Number(k), p]))
  const executor = new TaskExecutor(job, setup.workerIndex, setup.numWorkers, new MessagePortTransport(peers), send, setup.attempt, setup.jobId, setup.checkpointing, setup.restore, setup.restoreOperatorState)
  port.on('message', (m: ToWorker) => executor.onControl(m))
  executor.start()
} catch (e) {
  send({ type: 'failed', error: serializeError(e) })
}
