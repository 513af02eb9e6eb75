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
import { InputStatus, type ReaderOutput, type SourceReaderContext } from '../../../src/api/source.ts'
import { WatermarkStrategy } from '../../../src/api/watermark.ts'
import { SourceOutputs } from '../../../src/runtime/taskmanager/source-output.ts'
import { readReplySubject } from '../../../src/connectors/nats/reply-subject.ts'
import { jetstream } from '@nats-io/jetstream'
import { StreamEnvironment } from '../../../src/api/environment.ts'
import { Configuration } from '../../../src/config/configuration.ts'
import { buildJobGraph } from '../../../src/graph/job-graph.ts'
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

/** Drives a source reader by hand; `output` (default: a plain collector into `records`) and `collected` say where records go and how many arrived. */
async function readSome(source: JetStreamSource, splits: JetStreamSplit[], count: number, through?: { output: ReaderOutput<unknown>; collected: () => number }): Promise<{ records: string[]; state: JetStreamSplit[]; ended: boolean }> {
  let wake: () => void = () => {}
  const ctx: SourceReaderContext = { subtaskIndex: 0, parallelism: 1, attemptNumber: 0, sendSplitRequest() {}, signalAvailable: () => wake() }
  const reader = source.createReader(ctx)
  reader.start()
  reader.addSplits(splits)
  const records: string[] = []
  let ended = false
  const deadline = Date.now() + 30_000
  const output = through?.output ?? { collect: (r: unknown) => void records.push(r as string) }
  const collected = through?.collected ?? (() => records.length)
  while (collected() < count && !ended) {
    const status = reader.pollNext(output)
    if (status === InputStatus.END_OF_INPUT) ended = true
    else if (status === InputStatus.NOTHING_AVAILABLE) {
      reader.notifyNoMoreSplits()
      await new Promise<void>((resolve) => {
        wake = resolve
        setTimeout(resolve, 50)
      })
    }
    assert.ok(Date.now() < deadline, `read only ${collected()} of ${count} records`)
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

test('JetStreamSource: a split stored by a continuous job, restored into a bounded one, ends at the stream\'s last message (and the other way round runs on)', async () => {
  const stream = await freshStream()
  await publishAll(nc, stream.subjects, Array.from({ length: 30 }, (_, i) => `m${i}`))
  const continuousSplit: JetStreamSplit = { id: 'x', stream: stream.name, subject: null, nextSeq: 11, endSeq: null }
  const bounded = await readSome(new JetStreamSource({ servers: server.url, stream: stream.name, bounded: true }), [continuousSplit], 1000)
  assert.ok(bounded.ended)
  assert.deepEqual(bounded.records, Array.from({ length: 20 }, (_, i) => `m${i + 10}`))
  const boundedSplit: JetStreamSplit = { id: 'x', stream: stream.name, subject: null, nextSeq: 11, endSeq: 20 }
  const continuous = await readSome(new JetStreamSource({ servers: server.url, stream: stream.name }), [boundedSplit], 20)
  assert.equal(continuous.ended, false)
  assert.deepEqual(continuous.records, Array.from({ length: 20 }, (_, i) => `m${i + 10}`), 'past the stored endSeq')
})

test('JetStreamSource: one split per subject filter reads only its subject', async () => {
  const stream = await freshStream(2)
  await publishAll(nc, stream.subjects, Array.from({ length: 40 }, (_, i) => `m${i}`))
  const source = new JetStreamSource({ servers: server.url, stream: stream.name, bounded: true })
  const got = await readSome(source, [{ id: 'a', stream: stream.name, subject: stream.subjects[1]!, nextSeq: 1, endSeq: 40 }], 1000)
  assert.deepEqual(got.records, Array.from({ length: 20 }, (_, i) => `m${2 * i + 1}`))
  assert.ok(got.ended)
})

test('JetStreamSource: each record carries its message\'s JetStream timestamp and goes through its split\'s own output', async () => {
  const stream = await freshStream(2)
  await publishAll(nc, stream.subjects, Array.from({ length: 30 }, (_, i) => `m${i}`))
  const stored = new Map((await readStream(nc, stream.name)).map((m) => [m.text, m]))
  const seen: Array<{ split: string; record: string; timestamp: number | undefined }> = []
  const perSplit = (split: string): ReaderOutput<unknown> => ({ collect: (record, timestamp) => void seen.push({ split, record: record as string, timestamp }) })
  const output = { collect() { throw new Error('records must go through their split\'s output') }, createOutputForSplit: perSplit, releaseOutputForSplit() {} }
  const source = new JetStreamSource({ servers: server.url, stream: stream.name, bounded: true })
  const splits = stream.subjects.map((subject) => ({ id: subject, stream: stream.name, subject, nextSeq: 1, endSeq: 30 }))
  const got = await readSome(source, splits, 1000, { output, collected: () => seen.length })
  assert.ok(got.ended)
  assert.equal(seen.length, 30)
  // This server's reply subjects take the fast path of readReplySubject, not the client's parser.
  const one = await (await jetstream(nc).consumers.get(stream.name)).next({ expires: 5000 })
  const at = { seq: 0, timestampMs: 0, pending: 0 }
  assert.equal(readReplySubject((one as unknown as { reply: string }).reply, at), true)
  assert.equal(at.seq, one!.seq)
  for (const { split, record, timestamp } of seen) {
    const m = stored.get(record)!
    assert.equal(split, m.subject, `${record} went through the output of split ${split}`)
    assert.equal(timestamp, m.timestampMs, `${record}'s timestamp is its message's`)
  }
})

test('JetStreamSource: with a WatermarkStrategy the watermark is the minimum over the splits, as per partition in Flink\'s Kafka source', async () => {
  const stream = await freshStream(2)
  await publishAll(nc, [stream.subjects[0]!], Array.from({ length: 20 }, (_, i) => `early${i}`))
  const early = await readStream(nc, stream.name)
  const earlyMax = Math.max(...early.map((m) => m.timestampMs))
  // The second subject's messages are stamped later than every message of the first.
  while (Date.now() <= earlyMax + 1) await sleep(2)
  await publishAll(nc, [stream.subjects[1]!], Array.from({ length: 20 }, (_, i) => `late${i}`))
  const all = await readStream(nc, stream.name)
  const lateMax = Math.max(...all.map((m) => m.timestampMs))
  assert.ok(lateMax > earlyMax)
  const watermarks: number[] = []
  const chain = { collect() {}, collectSide() {}, emitWatermark: (t: number) => void watermarks.push(t), emitWatermarkStatus() {} }
  const outputs = new SourceOutputs(chain, { value: 0 }, WatermarkStrategy.forBoundedOutOfOrderness<unknown>(0) as WatermarkStrategy<unknown>, 0)
  const source = new JetStreamSource({ servers: server.url, stream: stream.name })
  // Continuous: the splits stay open after their messages, so both hold their watermark.
  const splits = stream.subjects.map((subject) => ({ id: subject, stream: stream.name, subject, nextSeq: 1, endSeq: null }))
  await readSome(source, splits, 40, { output: outputs, collected: () => outputs.count })
  outputs.emitPeriodic()
  assert.deepEqual(watermarks, [earlyMax - 1], 'the split that is behind holds the watermark back; one generator for the whole reader would say lateMax - 1')
})

test('JetStreamSource: runs at most one reader per split (subject filter), so no reader without a split holds the watermark back', () => {
  const options = { defaultParallelism: 4, maxParallelism: -1, chaining: true }
  const build = (subjects?: string[]) => {
    const env = new StreamEnvironment([], new Configuration({}))
    env.fromSource(new JetStreamSource({ servers: server.url, stream: 'ANY', subjects }), 'JetStream').print()
    return buildJobGraph(env.transformations, options).vertices[0]!.parallelism
  }
  assert.equal(build(), 1)
  assert.equal(build(['a', 'b']), 2)
  const env = new StreamEnvironment([], new Configuration({}))
  env.fromSource(new JetStreamSource({ servers: server.url, stream: 'ANY', subjects: ['a', 'b'] }), 'JetStream').setParallelism(3).print()
  assert.throws(() => buildJobGraph(env.transformations, options), /'JetStream' supports a parallelism of at most 2, but 3 was set/)
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
