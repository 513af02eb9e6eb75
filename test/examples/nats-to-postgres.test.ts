// examples/nats-to-postgres.ts against real servers: the table it fills from a JetStream stream
// of lines holds exactly the (word, count) updates that examples/wordcount.ts writes into its
// FileSink's part files for the same lines, also after the job was killed with SIGKILL twice and
// resumed from its latest checkpoint.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { useNatsAndPostgres } from '../helpers/nats-postgres.ts'
import { createStream, publishAll } from '../helpers/jetstream.ts'
import { runJob } from '../helpers/run-job.ts'
import { WeirProcesses, checkpointedRun, completedCheckpoints, repo, waitUntil } from '../helpers/weir-process.ts'

const example = join(repo, 'examples/nats-to-postgres.ts')
const wordcount = join(repo, 'examples/wordcount.ts')
const processes = new WeirProcesses()
const servers = useNatsAndPostgres(processes)

const WORDS = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta']
function lines(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `${WORDS[i % 8]} ${WORDS[(i * 3) % 8]} Line ${i % 50}`)
}

/** What examples/wordcount.ts --output writes for these lines: its part files' lines, sorted. */
async function fileSinkLines(input: string[], name: string): Promise<string[]> {
  const file = join(processes.root, `${name}.txt`)
  writeFileSync(file, input.join('\n') + '\n')
  const out = join(processes.root, `${name}-out`)
  const { result } = await runJob(wordcount, { args: ['--input', file, '--output', out], config: { 'parallelism.default': 2 } })
  assert.equal(result.status, 'FINISHED', result.error?.message)
  return readdirSync(out).filter((n) => n.startsWith('part-')).flatMap((n) => readFileSync(join(out, n), 'utf8').split('\n').filter((l) => l !== '')).sort()
}

async function tableLines(table: string): Promise<string[]> {
  const r = await servers.admin.query<{ word: string; count: string }>(`SELECT word, count FROM ${table}`)
  return r.rows.map((row) => `(${row.word},${row.count})`).sort()
}

test('nats-to-postgres (exactly-once) fills the table with exactly what the word count writes into its part files', async () => {
  const input = lines(2000)
  await createStream(servers.nc, 'LINES1', ['lines1'])
  await publishAll(servers.nc, ['lines1'], input)
  const { result } = await runJob(example, {
    args: ['--nats-url', servers.nats.url, '--stream', 'LINES1', '--subject', 'lines1', '--postgres-url', servers.postgres.url, '--table', 'counts1', '--bounded'],
    config: { 'parallelism.default': 2, 'execution.checkpointing.interval': '100ms', 'state.checkpoints.dir': join(processes.root, 'ckpt1') },
  })
  assert.equal(result.status, 'FINISHED', result.error?.message)
  assert.deepEqual(await tableLines('counts1'), await fileSinkLines(input, 'lines1'))
})

test('nats-to-postgres killed with SIGKILL twice and resumed from the latest checkpoint still holds exactly the part files\' lines', async () => {
  const input = lines(20000)
  await createStream(servers.nc, 'LINES2', ['lines2'])
  await publishAll(servers.nc, ['lines2'], input)
  const checkpoints = join(processes.root, 'ckpt2')
  const args = [example, '--nats-url', servers.nats.url, '--stream', 'LINES2', '--subject', 'lines2', '--postgres-url', servers.postgres.url, '--table', 'counts2']
  const known = new Set<string>()
  // The killed runs are unbounded, so that none can finish before its kill on a loaded machine;
  // the last run is bounded and ends after the stream's last message.
  for (let kill = 0; kill < 2; kill++) {
    const proc = processes.start([...checkpointedRun(checkpoints, 2), ...(kill > 0 ? ['--from-checkpoint', 'latest'] : []), ...args])
    const jobId = await waitUntil('a completed checkpoint of this run', () => completedCheckpoints(checkpoints).find((c) => !known.has(c.jobId))?.jobId, proc)
    known.add(jobId)
    await sleep(100 + 150 * kill)
    const exit = await processes.kill(proc)
    assert.equal(exit.signal, 'SIGKILL', `weir ended before it was killed (code ${exit.code}):\n${exit.stderr}`)
  }
  const last = processes.start([...checkpointedRun(checkpoints, 2), '--from-checkpoint', 'latest', ...args, '--bounded'])
  const exit = await last.exit
  assert.equal(exit.code, 0, exit.stderr)
  assert.deepEqual(await tableLines('counts2'), await fileSinkLines(input, 'lines2'))
})
