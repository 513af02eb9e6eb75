// examples/nats-windowed-to-postgres.ts against real servers: the table it fills from a JetStream
// stream of keys holds one row per (window, key) with the count of that key's messages whose
// JetStream timestamps fall in the window, computed here from the stream itself; also after the
// job was killed with SIGKILL twice and resumed from its latest checkpoint (exactly once: no
// window missing, none twice).

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { useNatsAndPostgres } from '../helpers/nats-postgres.ts'
import { createStream, publishAll, readStream } from '../helpers/jetstream.ts'
import { runJob } from '../helpers/run-job.ts'
import { WeirProcesses, checkpointedRun, completedCheckpoints, repo, waitUntil } from '../helpers/weir-process.ts'
import { SeededRandom } from '../../src/testing/random.ts'
import { WAIT_MS } from '../helpers/deadlines.ts'

const example = join(repo, 'examples/nats-windowed-to-postgres.ts')
const WINDOW_MS = 100
const processes = new WeirProcesses()
const servers = useNatsAndPostgres(processes)

/**
 * Publishes `bursts` bursts of keys over two subjects, each burst in a later window than the one
 * before, and returns the rows the example must write: one per (window, key), from the
 * timestamps the stream gave the messages.
 */
async function publishKeys(stream: string, bursts: number, perBurst: number): Promise<{ subjects: string[]; expected: string[] }> {
  const subjects = [`${stream.toLowerCase()}.a`, `${stream.toLowerCase()}.b`]
  await createStream(servers.nc, stream, subjects)
  for (let b = 0; b < bursts; b++) {
    await publishAll(servers.nc, subjects, Array.from({ length: perBurst }, (_, i) => `key-${(i * 7 + b) % 8}`))
    const nextWindow = Math.floor(Date.now() / WINDOW_MS) * WINDOW_MS + WINDOW_MS
    while (Date.now() <= nextWindow) await sleep(5)
  }
  const counts = new Map<string, number>()
  for (const m of await readStream(servers.nc, stream)) {
    const ts = m.timestampMs
    const start = ts - (ts % WINDOW_MS)
    const row = `${start} ${start + WINDOW_MS} ${m.text}`
    counts.set(row, (counts.get(row) ?? 0) + 1)
  }
  const expected = [...counts].map(([row, n]) => `${row} ${n}`).sort()
  assert.ok(new Set(expected.map((r) => r.split(' ')[0])).size >= bursts, 'the messages span several windows')
  return { subjects, expected }
}

async function tableRows(table: string): Promise<string[]> {
  const r = await servers.admin.query<{ start: string; end: string; key: string; count: string }>(
    `SELECT (extract(epoch FROM window_start) * 1000)::bigint AS start, (extract(epoch FROM window_end) * 1000)::bigint AS end, key, count FROM ${table}`)
  return r.rows.map((row) => `${row.start} ${row.end} ${row.key} ${row.count}`).sort()
}

function exampleArgs(stream: string, subjects: string[], table: string, bounded = true): string[] {
  return ['--nats-url', servers.nats.url, '--stream', stream, '--subject', subjects.join(','), '--postgres-url', servers.postgres.url, '--table', table,
    '--window', String(WINDOW_MS), '--out-of-orderness', '20', ...(bounded ? ['--bounded'] : [])]
}

test('nats-windowed-to-postgres (exactly-once) writes each window\'s count per key once, from the messages\' JetStream timestamps', async () => {
  const { subjects, expected } = await publishKeys('KEYS1', 3, 1000)
  const { result, lines } = await runJob(example, {
    args: exampleArgs('KEYS1', subjects, 'windows1'),
    config: { 'parallelism.default': 2, 'execution.checkpointing.interval': '100ms', 'state.checkpoints.dir': join(processes.root, 'ckpt1') },
  })
  assert.equal(result.status, 'FINISHED', result.error?.message)
  assert.deepEqual(lines.filter((l) => l.startsWith('late ')), [], 'per-split watermarks: no message is late')
  assert.deepEqual(await tableRows('windows1'), expected)
})

test('nats-windowed-to-postgres killed with SIGKILL twice and resumed from the latest checkpoint holds each window\'s count exactly once', async () => {
  const seed = Number(process.env.WEIR_TEST_SEED ?? Date.now() % 100000)
  const random = new SeededRandom(seed)
  const { subjects, expected } = await publishKeys('KEYS2', 6, 5000)
  const checkpoints = join(processes.root, 'ckpt2')
  // The killed runs are unbounded, so that none can finish before its kill on a loaded machine;
  // the last run is bounded (a restored split takes the resumed job's boundedness).
  const unbounded = [example, ...exampleArgs('KEYS2', subjects, 'windows2', false)]
  const args = [example, ...exampleArgs('KEYS2', subjects, 'windows2')]
  const known = new Set<string>()
  for (let kill = 0; kill < 2; kill++) {
    const proc = processes.start([...checkpointedRun(checkpoints, 2), ...(kill > 0 ? ['--from-checkpoint', 'latest'] : []), ...unbounded])
    const jobId = await waitUntil('a completed checkpoint of this run', () => completedCheckpoints(checkpoints).find((c) => !known.has(c.jobId))?.jobId, proc, WAIT_MS)
    known.add(jobId)
    await sleep(random.int(0, 150))
    const exit = await processes.kill(proc)
    assert.equal(exit.signal, 'SIGKILL', `seed ${seed}: weir ended before it was killed (code ${exit.code}):\n${exit.stderr}`)
  }
  const last = processes.start([...checkpointedRun(checkpoints, 2), '--from-checkpoint', 'latest', ...args])
  const exit = await last.exit
  assert.equal(exit.code, 0, `seed ${seed}:\n${exit.stderr}`)
  assert.doesNotMatch(exit.stdout, /^late /m, `seed ${seed}: no message is late`)
  assert.deepEqual(await tableRows('windows2'), expected, `seed ${seed}`)
})
