// connect(broadcastStream).process(...) with a BroadcastProcessFunction and a
// KeyedBroadcastProcessFunction: broadcast elements reach every subtask and update the broadcast
// state there, the main side reads it, an undeclared descriptor fails naming it, and broadcast
// state survives a savepoint (also in subtasks that did not touch it after the restore).
// The job is test/fixtures/state/broadcast-job.ts.

import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { bundleJob, guarded, startJob, waitFor, sorted, type JobArtifact, type Started } from '../../fixtures/state/harness.ts'
import { readMetadata } from '../../../src/checkpoint/metadata.ts'
import { assignKeyToOperator } from '../../../src/state/key-groups.ts'
import { TEST_TIMEOUT_MS } from '../../helpers/deadlines.ts'

const job = fileURLToPath(new URL('../../fixtures/state/broadcast-job.ts', import.meta.url))
const root = mkdtempSync(join(tmpdir(), 'weir-broadcast-state-test-'))
let artifact: JobArtifact
before(async () => {
  artifact = await bundleJob(job)
})
after(() => {
  artifact?.dispose()
  rmSync(root, { recursive: true, force: true })
})

let dirNo = 0
function freshDir(name: string): string {
  const dir = join(root, `${name}-${dirNo++}`)
  mkdirSync(dir, { recursive: true })
  return dir
}

/** print() lines without the 'k> ' subtask prefix. */
function lines(started: Started): string[] {
  return started.stdout().split('\n').filter((l) => l.length > 0).map((l) => l.replace(/^\d+> /, ''))
}

interface MLine {
  readonly subtask: number
  readonly key: string
  readonly count: number
  readonly rules: string
}

function mainLines(all: string[]): MLine[] {
  return all.filter((l) => l.startsWith('M,')).map((l) => {
    const [, subtask, key, count, ...rest] = l.split(',')
    return { subtask: Number(subtask), key: key!, count: Number(count), rules: rest.join(',') }
  })
}

const ALL_RULES = JSON.stringify({ a: 1, b: 2, c: 3 })

test('BroadcastProcessFunction: every subtask gets every rule, and the main side sees them', { timeout: TEST_TIMEOUT_MS }, async () => {
  const sync = freshDir('sync')
  const p = 3
  const keys = Array.from({ length: 12 }, (_, i) => `m${i}`)
  const started = await startJob(artifact, {
    args: ['--mode', 'plain', '--rules', 'a=1,b=2,c=3', '--keys', keys.join(','), '--sync', sync, '--wait-ready', String(p)],
    config: { 'parallelism.default': p },
  })
  const result = await started.execution.result
  assert.equal(result.status, 'FINISHED', result.error?.message)
  const all = lines(started)
  const b = all.filter((l) => l.startsWith('B,'))
  const expected = [0, 1, 2].flatMap((s) => ['a=1', 'b=2', 'c=3'].map((r) => `B,${s},${r}`))
  assert.deepEqual(sorted(b), sorted(expected), 'each broadcast element is processed once by every subtask')
  const m = mainLines(all)
  assert.deepEqual(sorted(m.map((x) => x.key)), sorted(keys))
  for (const x of m) assert.equal(x.rules, ALL_RULES, `main record ${x.key} on subtask ${x.subtask}`)
  assert.equal(new Set(m.map((x) => x.subtask)).size, p, 'the main records reached every subtask (rebalance)')
})

test('KeyedBroadcastProcessFunction: the main side reads the broadcast state on the subtask of its key, next to keyed state', { timeout: TEST_TIMEOUT_MS }, async () => {
  const sync = freshDir('sync')
  const p = 2
  const keys = ['k0', 'k1', 'k2', 'k3', 'k0', 'k1', 'k0']
  const started = await startJob(artifact, {
    args: ['--mode', 'keyed', '--rules', 'a=1,b=2,c=3', '--keys', keys.join(','), '--sync', sync, '--wait-ready', String(p)],
    config: { 'parallelism.default': p },
  })
  const result = await started.execution.result
  assert.equal(result.status, 'FINISHED', result.error?.message)
  const all = lines(started)
  assert.equal(all.filter((l) => l.startsWith('B,')).length, 3 * p)
  const m = mainLines(all)
  assert.equal(m.length, keys.length)
  for (const x of m) {
    assert.equal(x.subtask, assignKeyToOperator(x.key, 128, p), `key ${x.key} on its key group's subtask`)
    assert.equal(x.rules, ALL_RULES)
  }
  assert.deepEqual(m.filter((x) => x.key === 'k0').map((x) => x.count), [1, 2, 3], 'keyed ValueState next to broadcast state')
  assert.ok(new Set(m.map((x) => x.subtask)).size === p, `the keys should cover both subtasks: ${JSON.stringify(m)}`)
})

test('reading a broadcast state that was not declared in broadcast(...) fails naming it', { timeout: TEST_TIMEOUT_MS }, async () => {
  const started = await startJob(artifact, {
    args: ['--mode', 'undeclared', '--rules', 'a=1', '--keys', 'x'],
    config: { 'parallelism.default': 1 },
  })
  const result = await started.execution.result
  assert.equal(result.status, 'FAILED')
  assert.match(result.error!.message, /'undeclared-thresholds'/)
  assert.match(result.error!.message, /not declared/)
})

test('broadcast state restored at another parallelism is kept by the next savepoint even where nothing touched it', { timeout: TEST_TIMEOUT_MS }, async () => {
  const sync = freshDir('sync')
  const savepoints = freshDir('savepoints')
  // Run 1 at -p 2: the rules reach both subtasks; stop with a savepoint.
  const first = await startJob(artifact, {
    args: ['--mode', 'keyed', '--rules', 'a=1,b=2,c=3', '--sync', sync, '--hold', 'true'],
    config: { 'parallelism.default': 2 },
  })
  const sp1 = await guarded(first, async () => {
    await waitFor('the rules on both subtasks', () => (lines(first).filter((l) => l.startsWith('B,')).length === 6 ? true : undefined), first.execution)
    return first.execution.stopWithSavepoint(savepoints)
  })
  assert.equal((await first.execution.result).status, 'FINISHED')
  const m1 = await readMetadata(join(sp1, '_metadata'))
  const v1 = m1.vertices.find((v) => v.uids.includes('rules-fn'))!
  for (const s of v1.subtasks) assert.deepEqual(s.operatorState?.['rules-fn']?.['rules'], { mode: 'broadcast', values: [['a', 1], ['b', 2], ['c', 3]] }, `savepoint 1, subtask ${s.subtask}`)

  // Run 2 at -p 3: no rules and no records arrive, so no function touches the broadcast state; stop again.
  const second = await startJob(artifact, {
    args: ['--mode', 'keyed', '--hold', 'true'],
    config: { 'parallelism.default': 3 },
    restoreFrom: sp1,
  })
  const sp2 = await guarded(second, async () => {
    // A savepoint needs every task running; a fixed 300 ms was not always enough on a busy machine.
    await waitFor('every task running', () => (second.execution.attempt?.allTasksRunning() === true ? true : undefined), second.execution)
    return second.execution.stopWithSavepoint(savepoints)
  })
  assert.equal((await second.execution.result).status, 'FINISHED')
  const m2 = await readMetadata(join(sp2, '_metadata'))
  const v2 = m2.vertices.find((v) => v.uids.includes('rules-fn'))!
  assert.equal(v2.parallelism, 3)
  const kept = v2.subtasks.map((s) => s.operatorState?.['rules-fn']?.['rules'] ?? null)
  assert.deepEqual(kept, [0, 1, 2].map(() => ({ mode: 'broadcast', values: [['a', 1], ['b', 2], ['c', 3]] })), 'restored broadcast state must not vanish from the next savepoint')
})
