// Rescaling through savepoints, in the shape of Flink's RescalingITCase: a job with keyed
// ValueState, split (redistributed) operator list state and union list state runs at -p 2,
// stops with a savepoint, resumes at -p 3, stops with a savepoint again and finishes at -p 1.
// Every key's count is exact across the three runs, every key is counted by the subtask its key
// group belongs to at the new parallelism, split list state is divided among the new subtasks
// with nothing lost or duplicated, and union list state gives every new subtask everything.
// The job is test/fixtures/state/rescaling-job.ts.

import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { bundleJob, committedLines, guarded, startJob, waitForRecordsIn, sorted, type JobArtifact } from '../../fixtures/state/harness.ts'
import { readMetadata, type CheckpointMetadata } from '../../../src/checkpoint/metadata.ts'
import { assignKeyToOperator } from '../../../src/state/key-groups.ts'
import type { UnionEntry } from '../../fixtures/state/rescaling-job.ts'
import { TEST_TIMEOUT_MS } from '../../helpers/deadlines.ts'

const job = fileURLToPath(new URL('../../fixtures/state/rescaling-job.ts', import.meta.url))
const root = mkdtempSync(join(tmpdir(), 'weir-rescaling-test-'))
let artifact: JobArtifact
before(async () => {
  artifact = await bundleJob(job)
})
after(() => {
  artifact?.dispose()
  rmSync(root, { recursive: true, force: true })
})

const KEYS = 24
const N = 25
const MAX_PARALLELISM = 128

interface Line {
  readonly key: string
  readonly count: number
  readonly subtask: number
}

function parse(lines: string[]): Line[] {
  return lines.map((l) => {
    const [key, count, subtask] = l.split(',')
    return { key: key!, count: Number(count), subtask: Number(subtask) }
  })
}

function splitVertex(m: CheckpointMetadata) {
  const v = m.vertices.find((x) => x.uids.includes('split-tracker'))
  assert.ok(v, `no vertex with uid split-tracker in ${JSON.stringify(m.vertices.map((x) => x.uids))}`)
  return v
}

function splitIds(m: CheckpointMetadata): string[][] {
  return splitVertex(m).subtasks.map((s) => (s.operatorState?.['split-tracker']?.['ids']?.values ?? []) as string[])
}

function unionEntries(m: CheckpointMetadata): UnionEntry[][] {
  return splitVertex(m).subtasks.map((s) => (s.operatorState?.['union-tracker']?.['counts']?.values ?? []) as UnionEntry[])
}

function readLog<T>(log: string, name: string): T {
  return JSON.parse(readFileSync(join(log, name), 'utf8')) as T
}

const byEntry = (a: UnionEntry, b: UnionEntry) => a.run.localeCompare(b.run) || a.subtask - b.subtask

test('keyed, split list and union list state survive rescaling 2 -> 3 -> 1 through savepoints', { timeout: TEST_TIMEOUT_MS }, async () => {
  const log = join(root, 'log')
  const savepoints = join(root, 'savepoints')
  mkdirSync(log, { recursive: true })
  const runs = [
    { run: '1', p: 2, budget: 60, emitted: 120 },
    { run: '2', p: 3, budget: 100, emitted: 300 },
    { run: '3', p: 1, budget: 0, emitted: 180 },
  ]
  const outputs: Line[][] = []
  const metas: CheckpointMetadata[] = []
  let restoreFrom: string | undefined
  for (const r of runs) {
    const out = join(root, `out-${r.run}`)
    const started = await startJob(artifact, {
      args: ['--out', out, '--log', log, '--run', r.run, '--keys', String(KEYS), '--n', String(N), '--budget', String(r.budget)],
      config: { 'parallelism.default': r.p },
      ...(restoreFrom ? { restoreFrom } : {}),
    })
    const { execution } = started
    if (r.budget > 0) {
      const path = await guarded(started, async () => {
        await waitForRecordsIn(execution, r.emitted)
        return execution.stopWithSavepoint(savepoints)
      })
      const result = await execution.result
      assert.equal(result.status, 'FINISHED', `run ${r.run}: ${result.error?.message}`)
      metas.push(await readMetadata(join(path, '_metadata')))
      restoreFrom = path
    } else {
      const result = await execution.result
      assert.equal(result.status, 'FINISHED', `run ${r.run}: ${result.error?.message}`)
      assert.equal(result.recordsIn, r.emitted, `run ${r.run} should read exactly what was left`)
    }
    if (r.run !== '1') assert.ok(started.logs.some((l) => /Restoring job 'Rescaling' from savepoint \d+/.test(l)), started.logs.join('\n'))
    outputs.push(parse(committedLines(out)))
  }

  // Every record was counted once, in the run that read it.
  runs.forEach((r, i) => assert.equal(outputs[i]!.length, r.emitted, `run ${r.run}: committed lines`))

  // Each key went to the subtask its key group says at that run's parallelism.
  runs.forEach((r, i) => {
    const wrong = outputs[i]!.filter((l) => l.subtask !== assignKeyToOperator(l.key, MAX_PARALLELISM, r.p))
    assert.deepEqual(wrong.slice(0, 5), [], `run ${r.run} (-p ${r.p}): keys processed by the wrong subtask`)
    if (r.p > 1) assert.equal(new Set(outputs[i]!.map((l) => l.subtask)).size, r.p, `run ${r.run}: every subtask should count some key`)
  })

  // Counts are exact: per key 1..N over the three runs, each run continuing where the last stopped.
  for (let k = 0; k < KEYS; k++) {
    const key = `k${k}`
    const perRun = outputs.map((o) => o.filter((l) => l.key === key).map((l) => l.count))
    assert.deepEqual(perRun.flat(), Array.from({ length: N }, (_, i) => i + 1), `counts of ${key} over the runs: ${JSON.stringify(perRun)}`)
  }

  // Split list state: the first savepoint holds the ids of run 1; run 2's three subtasks split them.
  const ids1 = splitIds(metas[0]!)
  assert.equal(ids1.length, 2)
  const run1Ids = outputs[0]!.map((l) => `${l.key}#${l.count}`)
  assert.deepEqual(sorted(ids1.flat()), sorted(run1Ids), 'savepoint 1 split state = the records of run 1')
  const shares2 = [0, 1, 2].map((s) => readLog<{ parallelism: number; isRestored: boolean; restored: string[] }>(log, `split-r2-s${s}.json`))
  for (const s of shares2) {
    assert.equal(s.parallelism, 3)
    assert.equal(s.isRestored, true)
  }
  assert.deepEqual(sorted(shares2.flatMap((s) => s.restored)), sorted(ids1.flat()), 'the shares of run 2 together hold every element once')
  const sizes = shares2.map((s) => s.restored.length)
  assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `split state divided evenly: ${sizes}`)

  const ids2 = splitIds(metas[1]!)
  assert.equal(ids2.length, 3)
  const run12Ids = [...run1Ids, ...outputs[1]!.map((l) => `${l.key}#${l.count}`)]
  assert.equal(new Set(ids2.flat()).size, ids2.flat().length, 'no element twice in savepoint 2')
  assert.deepEqual(sorted(ids2.flat()), sorted(run12Ids), 'savepoint 2 split state = the records of runs 1 and 2')
  const share3 = readLog<{ restored: string[] }>(log, 'split-r3-s0.json')
  assert.deepEqual(sorted(share3.restored), sorted(ids2.flat()), 'at -p 1 the one subtask gets every element')

  // Union list state: every new subtask gets every old subtask's element.
  const union1 = unionEntries(metas[0]!).flat().sort(byEntry)
  assert.equal(union1.length, 2)
  assert.equal(union1.reduce((a, e) => a + e.count, 0), 120, JSON.stringify(union1))
  for (let s = 0; s < 3; s++) {
    const got = readLog<{ restored: UnionEntry[] }>(log, `union-r2-s${s}.json`).restored.sort(byEntry)
    assert.deepEqual(got, union1, `run 2 subtask ${s} union state`)
  }
  const union2 = unionEntries(metas[1]!).flat().sort(byEntry)
  assert.deepEqual(union2.map((e) => [e.run, e.subtask]), [['2', 0], ['2', 1], ['2', 2]])
  assert.equal(union2.reduce((a, e) => a + e.count, 0), 300)
  assert.deepEqual(readLog<{ restored: UnionEntry[] }>(log, 'union-r3-s0.json').restored.sort(byEntry), union2)
})
