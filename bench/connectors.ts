// Benchmarks of the connectors against real servers started on loopback (as the tests do):
//
//   pg     rows/s of bench/jobs/pg-sink-job.ts at -p 2 into an unindexed table, per mode, and
//          each mode's ratio to at-least-once (the cost of its guarantee). Target: exactly-once
//          >= 100 K rows/s and >= 0.7x at-least-once.
//
//   nats   messages/s of bench/jobs/nats-source-job.ts at -p 1 reading --messages messages of
//          ~40 bytes from a local JetStream stream into a DiscardingSink, against the same client
//          reading them with a bare fetch loop (no job). Target: >= 500 K messages/s.
//
//   s3     a checkpoint of --state-mb MB (4 task state files) through S3 checkpoint storage
//          against a local s3rver, as a ratio to filesystem storage in the same run. Target: < 2x.
//
//   npm run bench:connectors                      # all
//   npm run bench:connectors -- --only pg --rows 2000000 --p 2
//
// Options: --only pg[,nats], --rows N (1_000_000), --p P (2), --interval MS (checkpoint interval,
// 1000), --messages N (1_000_000).

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { bundleJob } from '../src/cli/bundle.ts'
import { JobExecution } from '../src/runtime/jobmanager/mini-cluster.ts'
import { startNats, startPostgres, startS3 } from '../test/helpers/services.ts'
import { createStream, natsConnection, publishAll } from '../test/helpers/jetstream.ts'
import { jetstream } from '@nats-io/jetstream'

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback
}

const only = arg('only', 'pg,nats,s3').split(',')
const stateMb = Number(arg('state-mb', '100'))
const messages = Number(arg('messages', '1000000'))
const rows = Number(arg('rows', '1000000'))
const p = Number(arg('p', '2'))
const interval = arg('interval', '1000')
const root = mkdtempSync(join(tmpdir(), 'weir-bench-connectors-'))

async function runJobFile(file: string, args: string[], config: Record<string, string | number>): Promise<number> {
  const artifact = await bundleJob(fileURLToPath(new URL(file, import.meta.url)))
  try {
    const started = performance.now()
    const execution = await JobExecution.start({ artifactUrl: artifact.url, args, config, onStdout: () => {} })
    const result = await execution.result
    if (result.status !== 'FINISHED') throw new Error(`the job ${result.status}: ${result.error?.message}`)
    return (performance.now() - started) / 1000
  } finally {
    artifact.dispose()
  }
}

async function benchPostgres(): Promise<void> {
  const server = await startPostgres({ fsync: true })
  const admin = new pg.Client({ connectionString: server.url })
  await admin.connect()
  try {
    const results: Record<string, number> = {}
    for (const mode of ['at-least-once', 'exactly-once', 'write-ahead', 'at-least-once#2', 'exactly-once#2']) {
      const m = mode.split('#')[0]!
      const table = `bench_${m.replace(/-/g, '_')}_${Object.keys(results).length}`
      await admin.query(`CREATE TABLE ${table} (id bigint, payload text)`)
      const seconds = await runJobFile('./jobs/pg-sink-job.ts', ['--url', server.url, '--table', table, '--rows', String(rows), '--mode', m], {
        'parallelism.default': p, 'execution.checkpointing.interval': interval, 'state.checkpoints.dir': join(root, table),
      })
      const count = Number((await admin.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n)
      if (count !== rows) throw new Error(`${mode}: the table has ${count} rows, expected ${rows}`)
      const rate = rows / seconds
      results[mode] = Math.max(results[mode] ?? 0, rate)
      results[m] = Math.max(results[m] ?? 0, rate)
      process.stdout.write(`pg ${mode.padEnd(16)} ${rows} rows at -p ${p} in ${seconds.toFixed(2)} s: ${(rate / 1000).toFixed(0)} K rows/s\n`)
    }
    const base = results['at-least-once']!
    for (const m of ['exactly-once', 'write-ahead']) process.stdout.write(`pg ${m} (best of runs) ${(results[m]! / 1000).toFixed(0)} K rows/s = ${(results[m]! / base).toFixed(2)}x at-least-once (${(base / 1000).toFixed(0)} K rows/s)\n`)
  } finally {
    await admin.end()
    await server.stop()
  }
}

async function benchNats(): Promise<void> {
  const server = await startNats()
  const nc = await natsConnection(server.url)
  try {
    await createStream(nc, 'BENCH', ['bench'])
    const payloads = Array.from({ length: messages }, (_, i) => `message ${i} with a payload of 40 bytes..`)
    const t0 = performance.now()
    await publishAll(nc, ['bench'], payloads, 5000)
    process.stdout.write(`nats published ${messages} messages in ${((performance.now() - t0) / 1000).toFixed(2)} s\n`)
    // Baseline: the client alone, fetching the whole stream in batches of 10 000.
    const c0 = performance.now()
    const consumer = await jetstream(nc).consumers.get('BENCH')
    let read = 0
    while (read < messages) {
      const batch = await consumer.fetch({ max_messages: 10_000, expires: 2000 })
      for await (const m of batch) if (m.data.length > 0) read++
    }
    const bare = messages / ((performance.now() - c0) / 1000)
    for (let run = 0; run < 2; run++) {
      const seconds = await runJobFile('./jobs/nats-source-job.ts', ['--url', server.url, '--stream', 'BENCH'], { 'parallelism.default': 1 })
      const rate = messages / seconds
      process.stdout.write(`nats source -p 1: ${messages} messages in ${seconds.toFixed(2)} s (job start included): ${(rate / 1000).toFixed(0)} K msgs/s = ${(rate / bare).toFixed(2)}x the bare client (${(bare / 1000).toFixed(0)} K msgs/s)\n`)
    }
  } finally {
    await nc.close()
    await server.stop()
  }
}

async function benchS3(): Promise<void> {
  const { FsCheckpointStorage } = await import('../src/checkpoint/storage/fs-checkpoint-storage.ts')
  const { S3CheckpointStorage } = await import('../src/checkpoint/storage/s3/s3-checkpoint-storage.ts')
  const { writeTaskState } = await import('../src/checkpoint/storage/task-state-writer.ts')
  const server = await startS3()
  await server.createBucket('bench')
  const settings = { endpoint: server.endpoint, accessKey: server.accessKey, secretKey: server.secretKey, pathStyle: true, region: 'us-east-1' }
  const part = new Uint8Array((stateMb * 1024 * 1024) / 4).map((_, i) => (i * 31) % 256)
  const checkpoint = async (storage: InstanceType<typeof FsCheckpointStorage>, id: number): Promise<number> => {
    const t0 = performance.now()
    const location = storage.locationFor(id)
    const handles = await Promise.all([0, 1, 2, 3].map((s) => writeTaskState(location, 0, s, 0, part)))
    await storage.finalize({
      version: 1, kind: 'checkpoint', jobId: storage.jobId, jobName: 'bench', checkpointId: id, triggeredAt: 0, completedAt: 0, coordinators: {},
      vertices: [{ vertex: 0, uids: ['op'], name: 'Op', parallelism: 4, maxParallelism: 128, subtasks: handles.map((handle, subtask) => ({ subtask, handle, stateSize: part.length })) }],
    })
    return (performance.now() - t0) / 1000
  }
  try {
    const fs = new FsCheckpointStorage(join(root, 'fs'), 'bench-fs')
    await fs.initialize()
    const s3 = new S3CheckpointStorage('s3://bench/checkpoints', 'bench-s3', settings)
    await s3.initialize()
    for (let round = 1; round <= 3; round++) {
      const f = await checkpoint(fs, round)
      const s = await checkpoint(s3, round)
      process.stdout.write(`s3 checkpoint of ${stateMb} MB, round ${round}: filesystem ${f.toFixed(2)} s, S3 ${s.toFixed(2)} s = ${(s / f).toFixed(2)}x\n`)
      await fs.discard(round)
      await s3.discard(round)
    }
    await s3.discardAll()
  } finally {
    await server.stop()
  }
}

try {
  if (only.includes('s3')) await benchS3()
  if (only.includes('pg')) await benchPostgres()
  if (only.includes('nats')) await benchNats()
} finally {
  rmSync(root, { recursive: true, force: true })
}
