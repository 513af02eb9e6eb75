// Savepoints on the mini cluster (JobExecution API): stop with savepoint and resume gives the
// committed output of an uninterrupted run; stop with drain processes everything and the
// savepoint holds the final state; triggerSavepoint with cancelJob; a savepoint directory is
// self-contained and can be moved; its name and _metadata; uid mapping (a changed uid fails the
// restore naming the old uid, unless allowNonRestoredState; generated uids are stable); and
// broadcast state restored at another parallelism. Jobs: test/fixtures/state/rescaling-job.ts
// and test/fixtures/state/broadcast-job.ts.

import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { bundleJob, committedLines, guarded, startJob, waitFor, waitForRecordsIn, sorted, uncommittedFiles, type JobArtifact, type Started } from '../../fixtures/state/harness.ts'
import { readMetadata } from '../../../src/checkpoint/metadata.ts'
import { inspectState } from '../../../src/cli/state-inspect.ts'
import { assignKeyToOperator } from '../../../src/state/key-groups.ts'
import type { RawConfig } from '../../../src/config/configuration.ts'
import type { JobResult } from '../../../src/runtime/jobmanager/mini-cluster.ts'
import { TEST_TIMEOUT_MS } from '../../helpers/deadlines.ts'

const root = mkdtempSync(join(tmpdir(), 'weir-savepoint-test-'))
let rescaling: JobArtifact
let broadcast: JobArtifact
before(async () => {
  rescaling = await bundleJob(fileURLToPath(new URL('../../fixtures/state/rescaling-job.ts', import.meta.url)))
  broadcast = await bundleJob(fileURLToPath(new URL('../../fixtures/state/broadcast-job.ts', import.meta.url)))
})
after(() => {
  rescaling?.dispose()
  broadcast?.dispose()
  rmSync(root, { recursive: true, force: true })
})

const KEYS = 24
const N = 25
let dirNo = 0
function freshDir(name: string): string {
  const dir = join(root, `${name}-${dirNo++}`)
  mkdirSync(dir, { recursive: true })
  return dir
}

function start(out: string, options: { p: number; budget?: number; args?: string[]; config?: RawConfig; restoreFrom?: string; allowNonRestoredState?: boolean }): Promise<Started> {
  return startJob(rescaling, {
    args: ['--out', out, '--keys', String(KEYS), '--n', String(N), '--budget', String(options.budget ?? 0), ...(options.args ?? [])],
    config: { 'parallelism.default': options.p, ...options.config },
    ...(options.restoreFrom !== undefined ? { restoreFrom: options.restoreFrom } : {}),
    ...(options.allowNonRestoredState !== undefined ? { allowNonRestoredState: options.allowNonRestoredState } : {}),
  })
}

async function finished(started: Started): Promise<JobResult> {
  const result = await started.execution.result
  assert.equal(result.status, 'FINISHED', result.error?.message)
  return result
}

/** Runs at -p 2 until the sources hold at `budget` records each, then stops with a savepoint. */
async function runToSavepoint(out: string, savepoints: string, options: { budget?: number; args?: string[]; config?: RawConfig } = {}): Promise<{ path: string; jobId: string }> {
  const budget = options.budget ?? 60
  const started = await start(out, { p: 2, budget, args: options.args, config: options.config })
  const path = await guarded(started, async () => {
    await waitForRecordsIn(started.execution, 2 * budget)
    return started.execution.stopWithSavepoint(savepoints)
  })
  await finished(started)
  return { path, jobId: started.execution.jobId }
}

/** Per key, the counts in committed lines 'key,count,subtask', in file order. */
function countsByKey(lines: string[]): Map<string, number[]> {
  const by = new Map<string, number[]>()
  for (const l of lines) {
    const [key, count] = l.split(',')
    const list = by.get(key!) ?? []
    list.push(Number(count))
    by.set(key!, list)
  }
  return by
}

/** Every key counted 1..N exactly once. */
function assertExactCounts(lines: string[], what: string): void {
  assert.equal(lines.length, KEYS * N, `${what}: committed lines`)
  const by = countsByKey(lines)
  assert.equal(by.size, KEYS)
  for (const [key, counts] of by) assert.deepEqual([...counts].sort((a, b) => a - b), Array.from({ length: N }, (_, i) => i + 1), `${what}: counts of ${key}`)
}

test('stop with savepoint and resume commits exactly the output of an uninterrupted run; savepoint-<6 hex>-<random>/_metadata', { timeout: TEST_TIMEOUT_MS }, async () => {
  const config: RawConfig = { 'execution.checkpointing.interval': '100ms', 'state.checkpoints.dir': freshDir('checkpoints') }
  const reference = freshDir('reference')
  await finished(await start(reference, { p: 2, config }))
  const expected = committedLines(reference)
  assertExactCounts(expected, 'uninterrupted run')

  const out = freshDir('out')
  const savepoints = freshDir('savepoints')
  const { path, jobId } = await runToSavepoint(out, savepoints, { config })
  assert.equal(dirname(path), savepoints)
  assert.match(basename(path), new RegExp(`^savepoint-${jobId.slice(0, 6)}-[0-9a-f]+$`))
  assert.match(basename(path), /^savepoint-[0-9a-f]{6}-[0-9a-f]{6,}$/)
  assert.ok(existsSync(join(path, '_metadata')), 'the savepoint has _metadata')
  const metadata = await readMetadata(join(path, '_metadata'))
  assert.equal(metadata.kind, 'savepoint')
  assert.equal(metadata.jobId, jobId)
  assert.equal(metadata.jobName, 'Rescaling')
  assert.equal(committedLines(out).length, 120, 'the savepoint committed what came before its barrier')

  const resumed = await start(out, { p: 2, config, restoreFrom: path })
  await finished(resumed)
  assert.deepEqual(sorted(committedLines(out)), sorted(expected), 'same multiset of committed lines as the uninterrupted run')
  assert.deepEqual(uncommittedFiles(out), [])
})

test('stop with savepoint and drain processes everything read, and the savepoint holds the final state', { timeout: TEST_TIMEOUT_MS }, async () => {
  const out = freshDir('out')
  const savepoints = freshDir('savepoints')
  // Slow sources without a budget: records are in flight when the drain starts.
  const started = await start(out, { p: 2, args: ['--batch', '1', '--pause', '5'] })
  const path = await guarded(started, async () => {
    await waitFor('some records', () => (started.execution.metrics.recordsIn >= 60 ? true : undefined), started.execution)
    return started.execution.stopWithSavepoint(savepoints, { drain: true })
  })
  const result = await finished(started)
  assert.ok(result.recordsIn < KEYS * N, 'the drain should have ended the sources early')
  const lines = committedLines(out)
  assert.equal(lines.length, result.recordsIn, 'every record read was processed and committed')
  assert.deepEqual(uncommittedFiles(out), [])
  const last = new Map<string, number>()
  for (const [key, counts] of countsByKey(lines)) {
    assert.deepEqual(counts, Array.from({ length: counts.length }, (_, i) => i + 1), `counts of ${key}`)
    last.set(key, counts.at(-1)!)
  }
  const inspected = (await inspectState(path, { operator: 'counter' })) as { kind: string; operators: Record<string, { keyedState?: Record<string, Record<string, unknown>> }> }
  assert.equal(inspected.kind, 'savepoint')
  assert.deepEqual(inspected.operators.counter!.keyedState!['count'], Object.fromEntries(last), 'the savepoint holds each key\'s final count')
})

test('triggerSavepoint with cancelJob cancels the job; resuming from the savepoint completes exactly once', { timeout: TEST_TIMEOUT_MS }, async () => {
  const out = freshDir('out')
  const savepoints = freshDir('savepoints')
  const started = await start(out, { p: 2, budget: 60 })
  const path = await guarded(started, async () => {
    await waitForRecordsIn(started.execution, 120)
    return started.execution.triggerSavepoint(savepoints, { cancelJob: true })
  })
  const result = await started.execution.result
  assert.equal(result.status, 'CANCELED')
  assert.ok(existsSync(join(path, '_metadata')))
  assert.equal((await readMetadata(join(path, '_metadata'))).kind, 'savepoint')
  await finished(await start(out, { p: 2, restoreFrom: path }))
  assertExactCounts(committedLines(out), 'canceled and resumed')
})

test('a savepoint directory is self-contained: moved elsewhere, the job resumes from it', { timeout: TEST_TIMEOUT_MS }, async () => {
  const out = freshDir('out')
  const { path } = await runToSavepoint(out, freshDir('savepoints'))
  const moved = join(freshDir('elsewhere'), 'nested', basename(path))
  mkdirSync(dirname(moved), { recursive: true })
  renameSync(path, moved)
  assert.equal(existsSync(path), false)
  await finished(await start(out, { p: 2, restoreFrom: moved }))
  assertExactCounts(committedLines(out), 'resumed from the moved savepoint')
  // The _metadata file itself works as the restore path too.
  const out2 = freshDir('out')
  const again = await start(out2, { p: 2, restoreFrom: join(moved, '_metadata') })
  const result = await finished(again)
  assert.equal(result.recordsIn, KEYS * N - 120)
})

test('a changed uid of a stateful operator fails the restore naming the old uid; allowNonRestoredState skips its state', { timeout: TEST_TIMEOUT_MS }, async () => {
  const out = freshDir('out')
  const { path } = await runToSavepoint(out, freshDir('savepoints'))
  const before = countsByKey(committedLines(out))

  await assert.rejects(
    start(freshDir('out'), { p: 2, restoreFrom: path, args: ['--counter-uid', 'counter-v2'] }),
    (e: Error & { code?: string }) => {
      assert.equal(e.code, 'WEIR_RESTORE_FAILED')
      assert.match(e.message, /'counter'/)
      assert.match(e.message, /--allow-non-restored-state/)
      return true
    },
  )

  const out2 = freshDir('out')
  const resumed = await start(out2, { p: 2, restoreFrom: path, args: ['--counter-uid', 'counter-v2'], allowNonRestoredState: true })
  const result = await finished(resumed)
  assert.equal(result.recordsIn, KEYS * N - 120, 'the source state was restored')
  for (const [key, counts] of countsByKey(committedLines(out2))) {
    const had = before.get(key)?.length ?? 0
    assert.deepEqual(counts, Array.from({ length: N - had }, (_, i) => i + 1), `${key}: the renamed counter starts from nothing`)
  }
})

test('operators without an explicit uid get stable generated uids: the unchanged job resumes', { timeout: TEST_TIMEOUT_MS }, async () => {
  const out = freshDir('out')
  const { path } = await runToSavepoint(out, freshDir('savepoints'), { args: ['--no-uids', 'true'] })
  const metadata = await readMetadata(join(path, '_metadata'))
  const uids = metadata.vertices.flatMap((v) => v.uids)
  assert.ok(uids.every((u) => /^[0-9a-f]{16}$/.test(u)), `generated uids: ${uids}`)
  await finished(await start(out, { p: 2, restoreFrom: path, args: ['--no-uids', 'true'] }))
  assertExactCounts(committedLines(out), 'resumed without explicit uids')
})

test('broadcast state in a savepoint restores at another parallelism', { timeout: TEST_TIMEOUT_MS }, async () => {
  const savepoints = freshDir('savepoints')
  const first = await startJob(broadcast, { args: ['--mode', 'keyed', '--rules', 'a=1,b=2,c=3', '--hold', 'true'], config: { 'parallelism.default': 2 } })
  const path = await guarded(first, async () => {
    await waitFor('the rules on both subtasks', () => (first.stdout().split('\n').filter((l) => /^\d+> B,/.test(l)).length === 6 ? true : undefined), first.execution)
    return first.execution.stopWithSavepoint(savepoints)
  })
  await finished(first)

  const keys = Array.from({ length: 12 }, (_, i) => `k${i}`)
  assert.equal(new Set(keys.map((k) => assignKeyToOperator(k, 128, 3))).size, 3, 'the keys cover every subtask at -p 3')
  const second = await startJob(broadcast, { args: ['--mode', 'keyed', '--keys', keys.join(',')], config: { 'parallelism.default': 3 }, restoreFrom: path })
  await finished(second)
  const m = second.stdout().split('\n').filter((l) => l.length > 0).map((l) => l.replace(/^\d+> /, '')).filter((l) => l.startsWith('M,'))
  assert.equal(m.length, keys.length)
  for (const line of m) {
    const [, subtask, key, , ...rules] = line.split(',')
    assert.equal(Number(subtask), assignKeyToOperator(key, 128, 3))
    assert.equal(rules.join(','), JSON.stringify({ a: 1, b: 2, c: 3 }), `subtask ${subtask} sees the restored rules`)
  }
})

test('a stateless operator whose uid changed does not block the restore (only operators with state need their uid)', { timeout: TEST_TIMEOUT_MS }, async () => {
  const out = freshDir('out')
  const { path } = await runToSavepoint(out, freshDir('savepoints'), { args: ['--tag-uid', 'tag-v1'] })
  // The Tag map keeps no state of any kind: Flink restores without --allow-non-restored-state.
  const resumed = await start(out, { p: 2, restoreFrom: path, args: ['--tag-uid', 'tag-v2'] })
  await finished(resumed)
  assertExactCounts(committedLines(out), 'resumed with the stateless operator renamed')
})
