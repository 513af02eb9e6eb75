// The NATS JetStream source and sink against a real nats-server (started once for this file, on
// loopback): the sink contract, exact rewinds of the source from a stored sequence, jobs with a
// failure, and a stream-to-stream copy killed with SIGKILL and resumed.

import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import type { NatsConnection } from '@nats-io/transport-node'
import { startNats, type NatsServer } from '../../helpers/services.ts'
import { createStream, natsConnection, publishAll, readStream } from '../../helpers/jetstream.ts'
import { sinkContract } from '../../api/sink.contract.ts'
import { JetStreamSink } from '../../../src/connectors/nats/jetstream-sink.ts'
import { JetStreamSource, type JetStreamSplit } from '../../../src/connectors/nats/jetstream-source.ts'
import { InputStatus, type SourceReaderContext } from '../../../src/api/source.ts'
import { runJob } from '../../helpers/run-job.ts'
import { WeirProcesses, checkpointedRun, completedCheckpoints, waitUntil } from '../../helpers/weir-process.ts'
import { SeededRandom } from '../../../src/testing/random.ts'

const copyJob = fileURLToPath(new URL('../../fixtures/connectors/nats-copy-job.ts', import.meta.url))
let server: NatsServer
let nc: NatsConnection
const processes = new WeirProcesses()
before(async () => {
  processes.ensureBuilt()
  server = await startNats()
  nc = await natsConnection(server.url)
})
after(async () => {
  processes.stopAll()
  await nc?.close()
  await server?.stop()
})

let streamNo = 0
async function freshStream(subjects = 1): Promise<{ name: string; subjects: string[] }> {
  const name = `S${streamNo++}`
  const list = Array.from({ length: subjects }, (_, i) => `${name.toLowerCase()}.${i}`)
  await createStream(nc, name, list)
  return { name, subjects: list }
}

sinkContract<string>({
  name: 'JetStreamSink',
  guarantee: 'idempotent',
  record: (i) => String(i),
  async fresh() {
    const stream = await freshStream()
    return {
      sink: () => new JetStreamSink<string>({ servers: server.url, subject: stream.subjects[0]! }),
      committed: async () => (await readStream(nc, stream.name)).map((m) => Number(m.text)),
      subtaskOptions: { jobName: `Contract ${stream.name}` },
    }
  },
})

/** Drives a source reader by hand: assigns splits and polls until it has `count` records or ends. */
async function readSome(source: JetStreamSource, splits: JetStreamSplit[], count: number): Promise<{ records: string[]; state: JetStreamSplit[]; ended: boolean }> {
  let wake: () => void = () => {}
  const ctx: SourceReaderContext = { subtaskIndex: 0, parallelism: 1, attemptNumber: 0, sendSplitRequest() {}, signalAvailable: () => wake() }
  const reader = source.createReader(ctx)
  reader.start()
  reader.addSplits(splits)
  const records: string[] = []
  let ended = false
  const deadline = Date.now() + 30_000
  while (records.length < count && !ended) {
    const status = reader.pollNext({ collect: (r) => void records.push(r as string) })
    if (status === InputStatus.END_OF_INPUT) ended = true
    else if (status === InputStatus.NOTHING_AVAILABLE) {
      reader.notifyNoMoreSplits()
      await new Promise<void>((resolve) => {
        wake = resolve
        setTimeout(resolve, 50)
      })
    }
    assert.ok(Date.now() < deadline, `read only ${records.length} of ${count} records`)
  }
  const state = reader.snapshotState(1)
  reader.close()
  return { records, state, ended }
}

test('JetStreamSource: a split restored from a stored sequence rewinds to exactly the next message', async () => {
  const stream = await freshStream()
  await publishAll(nc, stream.subjects, Array.from({ length: 50 }, (_, i) => `m${i}`))
  const source = new JetStreamSource({ servers: server.url, stream: stream.name, bounded: true, fetchMessages: 7 })
  // pollNext emits what one fetch brought (7 at a time): the first read stops somewhere past 20.
  const split: JetStreamSplit = { id: 'x', stream: stream.name, subject: null, nextSeq: 1, endSeq: 50 }
  const first = await readSome(source, [split], 20)
  const n = first.records.length
  assert.ok(n >= 20 && n < 50, `read ${n}`)
  assert.deepEqual(first.records, Array.from({ length: n }, (_, i) => `m${i}`))
  assert.equal(first.state[0]!.nextSeq, n + 1, 'the position is the sequence after the last message emitted, not after the last one fetched')
  const rest = await readSome(source, first.state, 1000)
  assert.deepEqual(rest.records, Array.from({ length: 50 - n }, (_, i) => `m${i + n}`))
  assert.ok(rest.ended, 'a bounded split ends at the last message the stream held')
})

test('JetStreamSource: one split per subject filter reads only its subject', async () => {
  const stream = await freshStream(2)
  await publishAll(nc, stream.subjects, Array.from({ length: 40 }, (_, i) => `m${i}`))
  const source = new JetStreamSource({ servers: server.url, stream: stream.name, bounded: true })
  const got = await readSome(source, [{ id: 'a', stream: stream.name, subject: stream.subjects[1]!, nextSeq: 1, endSeq: 40 }], 1000)
  assert.deepEqual(got.records, Array.from({ length: 20 }, (_, i) => `m${2 * i + 1}`))
  assert.ok(got.ended)
})

test('JetStreamSource: a stream that does not exist fails the job naming the stream', async () => {
  const { result } = await runJob(copyJob, { args: ['--nats', server.url, '--stream', 'NOPE', '--out', join(processes.root, 'nope')], config: { 'parallelism.default': 1 } })
  assert.equal(result.status, 'FAILED')
  assert.match(result.error?.message ?? '', /stream 'NOPE' cannot be read/)
})

function finishedLines(dir: string): string[] {
  return readdirSync(dir).filter((n) => n.startsWith('part-')).flatMap((n) => readFileSync(join(dir, n), 'utf8').split('\n').filter((l) => l !== ''))
}

test('a bounded job at parallelism 2 over two subject splits with a failure copies every message exactly once into a FileSink', async () => {
  const stream = await freshStream(2)
  const payloads = Array.from({ length: 10000 }, (_, i) => `m${i}`)
  await publishAll(nc, stream.subjects, payloads)
  const out = join(processes.root, `out-${stream.name}`)
  // Small fetches pace the reading, so that checkpoints are likely to complete before the fault fires.
  const { result } = await runJob(copyJob, {
    args: ['--nats', server.url, '--stream', stream.name, '--subjects', stream.subjects.join(','), '--out', out, '--fail-at', '1000', '--fetch', '20'],
    config: { 'parallelism.default': 2, 'execution.checkpointing.interval': '50ms', 'state.checkpoints.dir': join(out, '..', `ckpt-${stream.name}`), 'restart-strategy.type': 'fixed-delay', 'restart-strategy.fixed-delay.attempts': 3, 'restart-strategy.fixed-delay.delay': '50ms' },
  })
  assert.equal(result.status, 'FINISHED', result.error?.message)
  assert.ok(result.restarts >= 1, 'the fault fired and the job restarted')
  assert.deepEqual(finishedLines(out).sort(), [...payloads].sort())
})

test('JetStreamSink: a stream-to-stream copy killed with SIGKILL twice at random moments and resumed holds every message exactly once (de-duplicated by message id)', async () => {
  const seed = Number(process.env.WEIR_TEST_SEED ?? Date.now() % 100000)
  const random = new SeededRandom(seed)
  const from = await freshStream()
  const to = await freshStream()
  const payloads = Array.from({ length: 6000 }, (_, i) => `m${i}`)
  await publishAll(nc, from.subjects, payloads)
  const checkpoints = join(processes.root, `ckpt-${to.name}`)
  const args = [copyJob, '--nats', server.url, '--stream', from.name, '--to-subject', to.subjects[0]!, '--fetch', '20']
  const known = new Set<string>()
  for (let kill = 0; kill < 2; kill++) {
    const proc = processes.start([...checkpointedRun(checkpoints, 1), ...(kill > 0 ? ['--from-checkpoint', 'latest'] : []), ...args])
    const jobId = await waitUntil('a completed checkpoint of this run', () => completedCheckpoints(checkpoints).find((c) => !known.has(c.jobId))?.jobId, proc)
    known.add(jobId)
    await sleep(random.int(0, 200))
    const exit = await processes.kill(proc)
    assert.equal(exit.signal, 'SIGKILL', `seed ${seed}: weir ended before it was killed (code ${exit.code}):\n${exit.stderr}`)
  }
  const last = processes.start([...checkpointedRun(checkpoints, 1), '--from-checkpoint', 'latest', ...args])
  const exit = await last.exit
  assert.equal(exit.code, 0, `seed ${seed}:\n${exit.stderr}`)
  const copied = (await readStream(nc, to.name)).map((m) => m.text)
  assert.equal(copied.length, payloads.length, `seed ${seed}: ${copied.length - new Set(copied).size} duplicates`)
  assert.deepEqual(copied, payloads, `seed ${seed}: in order, each once`)
})
