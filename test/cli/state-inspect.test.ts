// `weir state inspect <dir>` as a real process (bin/weir.js -> dist/): a savepoint taken
// in-process from test/fixtures/state/rescaling-job.ts is printed as JSON with its operator
// uids, keyed state per key and operator state; --operator and --key filter it; an unknown uid
// fails with one line naming the uids there are.

import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { bundleJob, committedLines, guarded, startJob, waitForRecordsIn } from '../fixtures/state/harness.ts'
import { TEST_TIMEOUT_MS } from '../helpers/deadlines.ts'

const repo = fileURLToPath(new URL('../..', import.meta.url))
const root = mkdtempSync(join(tmpdir(), 'weir-state-inspect-test-'))
after(() => rmSync(root, { recursive: true, force: true }))

const KEYS = 24
const N = 25
/** The savepoint, and each key's count in it (from the committed output). */
const fixture = { savepoint: '', counts: new Map<string, number>() }

before(async () => {
  if (!existsSync(join(repo, 'dist/cli/main.js'))) {
    const build = spawnSync('npm', ['run', 'build'], { cwd: repo, encoding: 'utf8' })
    assert.equal(build.status, 0, `npm run build failed:\n${build.stdout}${build.stderr}`)
  }
  const artifact = await bundleJob(join(repo, 'test/fixtures/state/rescaling-job.ts'))
  try {
    const out = join(root, 'out')
    const started = await startJob(artifact, {
      args: ['--out', out, '--keys', String(KEYS), '--n', String(N), '--budget', '60'],
      config: { 'parallelism.default': 2 },
    })
    fixture.savepoint = await guarded(started, async () => {
      await waitForRecordsIn(started.execution, 120)
      return started.execution.stopWithSavepoint(join(root, 'savepoints'))
    })
    const result = await started.execution.result
    assert.equal(result.status, 'FINISHED', result.error?.message)
    for (const line of committedLines(out)) {
      const [key, count] = line.split(',')
      fixture.counts.set(key!, Math.max(fixture.counts.get(key!) ?? 0, Number(count)))
    }
  } finally {
    artifact.dispose()
  }
})

interface Exit {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

function weir(args: string[]): Promise<Exit> {
  const child = spawn(process.execPath, [join(repo, 'bin/weir.js'), ...args], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => (stdout += d))
  child.stderr.on('data', (d) => (stderr += d))
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

interface Inspected {
  path: string
  kind: string
  jobName: string
  checkpointId: number
  operators: Record<string, {
    name: string
    parallelism: number
    maxParallelism: number
    keyedState?: Record<string, Record<string, unknown>>
    operatorState?: Record<string, { mode: string; values: unknown[] }>
    sourceSplits?: unknown[]
    operatorInternalState?: unknown[]
  }>
}

async function inspect(args: string[]): Promise<Inspected> {
  const exit = await weir(['state', 'inspect', ...args])
  assert.equal(exit.code, 0, exit.stderr)
  return JSON.parse(exit.stdout) as Inspected
}

test('prints the operators with their uids, keyed state per key and operator state', { timeout: TEST_TIMEOUT_MS }, async () => {
  const json = await inspect([fixture.savepoint])
  assert.equal(json.kind, 'savepoint')
  assert.equal(json.jobName, 'Rescaling')
  assert.equal(json.path, fixture.savepoint)
  assert.deepEqual(Object.keys(json.operators).sort(), ['counter', 'sink', 'source', 'split-tracker', 'union-tracker'])
  const counter = json.operators.counter!
  assert.equal(counter.name, 'Counter')
  assert.equal(counter.parallelism, 2)
  assert.equal(counter.maxParallelism, 128)
  assert.deepEqual(counter.keyedState!['count'], Object.fromEntries(fixture.counts), 'the count of every key')
  assert.equal(json.operators['split-tracker']!.name, 'Split Tracker')
  const ids = json.operators['split-tracker']!.operatorState!['ids']!
  assert.equal(ids.mode, 'split')
  assert.equal(ids.values.length, 120)
  const counts = json.operators['union-tracker']!.operatorState!['counts']!
  assert.equal(counts.mode, 'union')
  assert.equal((counts.values as Array<{ count: number }>).reduce((a, e) => a + e.count, 0), 120)
  assert.ok(json.operators.source!.sourceSplits!.length > 0, 'the source readers hold unfinished splits')
  // The _metadata file works as the path too.
  const again = await inspect([join(fixture.savepoint, '_metadata')])
  assert.deepEqual(again.operators, json.operators)
})

test('--operator shows one operator; --key one key', { timeout: TEST_TIMEOUT_MS }, async () => {
  const one = await inspect([fixture.savepoint, '--operator', 'counter'])
  assert.deepEqual(Object.keys(one.operators), ['counter'])
  const key = [...fixture.counts.keys()][3]!
  const both = await inspect([fixture.savepoint, '--operator', 'counter', '--key', key])
  assert.deepEqual(both.operators.counter!.keyedState, { count: { [key]: fixture.counts.get(key) } })
  const absent = await inspect([fixture.savepoint, '--operator', 'counter', '--key', 'no-such-key'])
  assert.deepEqual(absent.operators.counter!.keyedState?.['count'] ?? {}, {})
})

test('an unknown uid fails with one line naming the uids there are', { timeout: TEST_TIMEOUT_MS }, async () => {
  const exit = await weir(['state', 'inspect', fixture.savepoint, '--operator', 'countr'])
  assert.notEqual(exit.code, 0)
  assert.equal(exit.stdout, '')
  const lines = exit.stderr.trim().split('\n')
  assert.equal(lines.length, 1, exit.stderr)
  assert.match(lines[0]!, /'countr'/)
  for (const uid of ['source', 'split-tracker', 'union-tracker', 'counter', 'sink']) assert.ok(lines[0]!.includes(uid), `names ${uid}: ${lines[0]}`)
})

test('a path without a savepoint fails with a clear message', { timeout: TEST_TIMEOUT_MS }, async () => {
  const exit = await weir(['state', 'inspect', join(root, 'nothing-here')])
  assert.notEqual(exit.code, 0)
  assert.match(exit.stderr, /no checkpoint or savepoint at/)
})
