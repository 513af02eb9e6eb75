// The source documents' drill, with real processes through the real command line (bin/weir.js,
// built): `weir cluster start` with one TaskManager, the word count over a monitored directory
// with an exactly-once file sink and checkpoints every second, files written, the TaskManager
// killed with kill -9, more files written while it is down, a new TaskManager started with
// `weir taskmanager start`: the committed counts are exact (EXACTLY_ONCE) or complete with
// duplicates allowed (AT_LEAST_ONCE). Then a job at parallelism 4 over two TaskManagers bound
// to 127.0.0.2 and 127.0.0.3 loses one of them and resumes on the survivor plus a replacement.

import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { RestClient } from '../../src/rest/client.ts'
import { checkSequences } from '../helpers/sequence-check.ts'
import { TEST_TIMEOUT_MS, WAIT_MS } from '../helpers/deadlines.ts'

const repo = fileURLToPath(new URL('../..', import.meta.url))
const bin = join(repo, 'bin/weir.js')
const wordcount = join(repo, 'examples/wordcount.ts')
const sequenceJob = join(repo, 'test/fixtures/recovery/sequence-job.ts')
const root = mkdtempSync(join(tmpdir(), 'weir-drill-test-'))
const started: string[] = []
after(() => {
  // Whatever a failed test left running: every pid file of every cluster directory.
  for (const dir of started) {
    if (!existsSync(dir)) continue
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.pid'))) {
      const pid = Number(readFileSync(join(dir, f), 'utf8'))
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        // already gone
      }
    }
  }
  rmSync(root, { recursive: true, force: true })
})

function weir(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c) => (stdout += c))
    child.stderr.on('data', (c) => (stderr += c))
    child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }))
  })
}

async function ok(args: string[]): Promise<string> {
  const r = await weir(args)
  assert.equal(r.code, 0, `weir ${args.join(' ')} exited ${r.code}:\n${r.stdout}\n${r.stderr}`)
  return r.stdout
}

function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, host, () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })
}

async function until(what: string, probe: () => boolean | Promise<boolean>, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

interface Cluster {
  readonly dir: string
  readonly rest: RestClient
  readonly defines: string[]
  readonly endpoint: string
}

async function clusterStart(name: string, taskmanagers: number, extra: string[] = []): Promise<Cluster> {
  const dir = join(root, name, 'cluster')
  started.push(dir)
  const restPort = await freePort()
  const rpcPort = await freePort()
  const defines = ['-D', `rest.port=${restPort}`, '-D', `jobmanager.rpc.port=${rpcPort}`, '-D', 'jobmanager.rpc.address=127.0.0.1', ...extra]
  await ok(['cluster', 'start', '--dir', dir, '--taskmanagers', String(taskmanagers), ...defines])
  return { dir, rest: new RestClient({ host: '127.0.0.1', port: restPort }), defines, endpoint: `127.0.0.1:${restPort}` }
}

function pidOf(c: Cluster, index: number): number {
  return Number(readFileSync(join(c.dir, `weir-taskmanager-${index}.pid`), 'utf8'))
}

const WORDS = Array.from({ length: 8 }, (_, i) => `word${i}`)
const LINES_PER_FILE = 40

function publish(dir: string, name: string): void {
  const text = Array.from({ length: LINES_PER_FILE }, () => WORDS.join(' ')).join('\n') + '\n'
  writeFileSync(join(dir, `.${name}`), text)
  renameSync(join(dir, `.${name}`), join(dir, name))
}

/** Committed (word, count) pairs of the file sink, as count lists per word. */
function committedCounts(out: string): Map<string, number[]> {
  const counts = new Map<string, number[]>()
  if (!existsSync(out)) return counts
  for (const f of readdirSync(out).filter((n) => n.startsWith('part-'))) {
    for (const line of readFileSync(join(out, f), 'utf8').split('\n')) {
      const m = /^\((\w+),(\d+)\)$/.exec(line)
      if (!m) continue
      const list = counts.get(m[1]!) ?? []
      list.push(Number(m[2]))
      counts.set(m[1]!, list)
    }
  }
  return counts
}

/** Every word's counts include 1..total (nothing lost). */
function complete(counts: Map<string, number[]>, total: number): boolean {
  return WORDS.every((w) => {
    const seen = new Set(counts.get(w) ?? [])
    for (let i = 1; i <= total; i++) if (!seen.has(i)) return false
    return true
  })
}

async function drill(mode: 'EXACTLY_ONCE' | 'AT_LEAST_ONCE'): Promise<void> {
  const name = mode.toLowerCase()
  const input = join(root, name, 'in')
  const out = join(root, name, 'out')
  mkdirSync(input, { recursive: true })
  const c = await clusterStart(name, 1)
  try {
    publish(input, 'f1')
    publish(input, 'f2')
    const submitted = await ok(['run', '--no-typecheck', '-m', c.endpoint, '-d', '-p', '1',
      '-D', 'execution.checkpointing.interval=300ms', '-D', `execution.checkpointing.mode=${mode}`, '-D', `state.checkpoints.dir=${join(root, name, 'checkpoints')}`,
      '-D', 'restart-strategy.type=fixed-delay', '-D', 'restart-strategy.fixed-delay.attempts=10', '-D', 'restart-strategy.fixed-delay.delay=200ms',
      wordcount, '--input', input, '--monitor', '200ms', '--output', out])
    const jobId = /JobID ([0-9a-f]{32})/.exec(submitted)![1]!
    await until('the first two files are committed', () => complete(committedCounts(out), 2 * LINES_PER_FILE))
    process.kill(pidOf(c, 0), 'SIGKILL')
    publish(input, 'f3')
    await until('the JobManager noticed the lost TaskManager', async () => (await c.rest.get<{ taskmanagers: unknown[] }>('/taskmanagers')).taskmanagers.length === 0)
    publish(input, 'f4')
    await ok(['taskmanager', 'start', '--dir', c.dir, ...c.defines])
    publish(input, 'f5')
    await until('all five files are committed', () => complete(committedCounts(out), 5 * LINES_PER_FILE))
    const job = await c.rest.get<{ state: string }>(`/jobs/${jobId}`)
    assert.equal(job.state, 'RUNNING')
    if (mode === 'EXACTLY_ONCE') {
      // Let one more checkpoint commit: a duplicate would show up by then.
      const { counts } = await c.rest.get<{ counts: { completed: number } }>(`/jobs/${jobId}/checkpoints`)
      await until('another checkpoint', async () => (await c.rest.get<{ counts: { completed: number } }>(`/jobs/${jobId}/checkpoints`)).counts.completed >= counts.completed + 1)
      for (const [w, list] of committedCounts(out)) assert.deepEqual([...list].sort((a, b) => a - b), Array.from({ length: 5 * LINES_PER_FILE }, (_, i) => i + 1), `counts of ${w}`)
    }
    const log = readFileSync(join(c.dir, 'weir-jobmanager-0.log'), 'utf8')
    assert.match(log, /TaskManager .* lost/)
    assert.match(log, new RegExp(`\\[${jobId.slice(0, 8)}\\] Restarting in`))
    await ok(['cancel', '-m', c.endpoint, jobId])
  } finally {
    await weir(['cluster', 'stop', '--dir', c.dir])
  }
}

test('the drill: kill -9 the TaskManager, write files while it is down, start a new one: the output is exactly once', { timeout: TEST_TIMEOUT_MS }, async () => {
  await drill('EXACTLY_ONCE')
})

test('the drill at AT_LEAST_ONCE: nothing is lost (duplicates allowed)', { timeout: TEST_TIMEOUT_MS }, async () => {
  await drill('AT_LEAST_ONCE')
})

test('parallelism 4 over TaskManagers on 127.0.0.2 and 127.0.0.3: one is killed, the job resumes on the survivor and a replacement, exactly once', { timeout: TEST_TIMEOUT_MS }, async () => {
  const c = await clusterStart('multi', 0, ['-D', 'taskmanager.numberOfTaskSlots=2'])
  const out = join(root, 'multi', 'out')
  try {
    await ok(['taskmanager', 'start', '--dir', c.dir, ...c.defines, '-D', 'taskmanager.host=127.0.0.2'])
    await ok(['taskmanager', 'start', '--dir', c.dir, ...c.defines, '-D', 'taskmanager.host=127.0.0.3'])
    const submitted = await ok(['run', '--no-typecheck', '-m', c.endpoint, '-d', '-p', '4',
      '-D', 'execution.checkpointing.interval=200ms', '-D', `state.checkpoints.dir=${join(root, 'multi', 'checkpoints')}`,
      '-D', 'restart-strategy.type=fixed-delay', '-D', 'restart-strategy.fixed-delay.attempts=5', '-D', 'restart-strategy.fixed-delay.delay=200ms',
      sequenceJob, '--out', out, '--keys', '8', '--n', '1500', '--batch', '20', '--pause', '5'])
    const jobId = /JobID ([0-9a-f]{32})/.exec(submitted)![1]!
    await until('a checkpoint completed', async () => (await c.rest.get<{ counts: { completed: number } }>(`/jobs/${jobId}/checkpoints`)).counts.completed >= 1)
    const { taskmanagers } = await c.rest.get<{ taskmanagers: Array<{ path: string }> }>('/taskmanagers')
    assert.deepEqual(taskmanagers.map((t) => t.path).sort(), ['127.0.0.2', '127.0.0.3'])
    process.kill(pidOf(c, 1), 'SIGKILL') // the one on 127.0.0.3
    await ok(['taskmanager', 'start', '--dir', c.dir, ...c.defines, '-D', 'taskmanager.host=127.0.0.3'])
    await until('the job finished', async () => (await c.rest.get<{ state: string }>(`/jobs/${jobId}`)).state === 'FINISHED')
    const check = checkSequences(out, { keys: 8, n: 1500 })
    assert.ok(check.ok, check.report)
    const log = readFileSync(join(c.dir, 'weir-jobmanager-0.log'), 'utf8')
    assert.match(log, /TaskManager .* lost/)
    assert.match(log, new RegExp(`\\[${jobId.slice(0, 8)}\\] Restarting in`))
  } finally {
    await weir(['cluster', 'stop', '--dir', c.dir])
  }
})

test('with high-availability.storageDir, a JobManager killed with kill -9 and started again resumes its job from the latest checkpoint, exactly once', { timeout: TEST_TIMEOUT_MS }, async () => {
  const input = join(root, 'ha', 'in')
  const out = join(root, 'ha', 'out')
  mkdirSync(input, { recursive: true })
  const c = await clusterStart('ha', 1, ['-D', `high-availability.storageDir=${join(root, 'ha', 'ha-store')}`])
  try {
    publish(input, 'f1')
    const submitted = await ok(['run', '--no-typecheck', '-m', c.endpoint, '-d', '-p', '1',
      '-D', 'execution.checkpointing.interval=500ms', '-D', `state.checkpoints.dir=${join(root, 'ha', 'checkpoints')}`,
      wordcount, '--input', input, '--monitor', '200ms', '--output', out])
    const jobId = /JobID ([0-9a-f]{32})/.exec(submitted)![1]!
    await until('the first file is committed', () => complete(committedCounts(out), LINES_PER_FILE))
    process.kill(Number(readFileSync(join(c.dir, 'weir-jobmanager-0.pid'), 'utf8')), 'SIGKILL')
    publish(input, 'f2')
    await ok(['cluster', 'start', '--dir', c.dir, '--taskmanagers', '0', ...c.defines])
    publish(input, 'f3')
    await until('all three files are committed', () => complete(committedCounts(out), 3 * LINES_PER_FILE))
    const job = await c.rest.get<{ state: string }>(`/jobs/${jobId}`)
    assert.equal(job.state, 'RUNNING')
    const { counts } = await c.rest.get<{ counts: { completed: number } }>(`/jobs/${jobId}/checkpoints`)
    await until('another checkpoint', async () => (await c.rest.get<{ counts: { completed: number } }>(`/jobs/${jobId}/checkpoints`)).counts.completed >= counts.completed + 1)
    for (const [w, list] of committedCounts(out)) assert.deepEqual([...list].sort((a, b) => a - b), Array.from({ length: 3 * LINES_PER_FILE }, (_, i) => i + 1), `counts of ${w}`)
    assert.match(readFileSync(join(c.dir, 'weir-jobmanager-0.log'), 'utf8'), new RegExp(`Recovering job ${jobId} from checkpoint`))
    await ok(['cancel', '-m', c.endpoint, jobId])
  } finally {
    await weir(['cluster', 'stop', '--dir', c.dir])
  }
})
