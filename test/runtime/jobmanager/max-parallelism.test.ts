// Max parallelism as in Flink: an operator whose max parallelism the job does not set takes the
// one of its state in the savepoint it resumes from (so a savepoint taken with
// pipeline.max-parallelism 256 resumes without that key, where the derived default would be
// 128), and a parallelism above the max parallelism is refused naming both numbers.
// The job is test/fixtures/state/rescaling-job.ts.

import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { bundleJob, committedLines, guarded, startJob, waitForRecordsIn, type JobArtifact } from '../../fixtures/state/harness.ts'
import { readMetadata } from '../../../src/checkpoint/metadata.ts'
import { JobExecution } from '../../../src/runtime/jobmanager/mini-cluster.ts'
import { UserError } from '../../../src/errors.ts'
import { TEST_TIMEOUT_MS } from '../../helpers/deadlines.ts'

const job = fileURLToPath(new URL('../../fixtures/state/rescaling-job.ts', import.meta.url))
const root = mkdtempSync(join(tmpdir(), 'weir-max-parallelism-test-'))
let artifact: JobArtifact
before(async () => {
  mkdirSync(join(root, 'log'))
  artifact = await bundleJob(job)
})
after(() => {
  artifact?.dispose()
  rmSync(root, { recursive: true, force: true })
})

const args = (run: string, budget: number) => ['--out', join(root, `out-${run}`), '--log', join(root, 'log'), '--run', run, '--keys', '4', '--n', '10', '--budget', String(budget)]

/** Runs at parallelism 2 until the sources hold after `budget` records each, and stops with a savepoint. */
async function savepointAt(run: string, config: Record<string, string | number>): Promise<string> {
  const started = await startJob(artifact, { args: args(run, 5), config: { 'parallelism.default': 2, ...config } })
  const path = await guarded(started, async () => {
    await waitForRecordsIn(started.execution, 10)
    return started.execution.stopWithSavepoint(join(root, 'savepoints'))
  })
  const result = await started.execution.result
  assert.equal(result.status, 'FINISHED', result.error?.message)
  return path
}

test('a savepoint taken with max parallelism 256 resumes at parallelism 1 without setting it: the job takes 256 from the savepoint', { timeout: TEST_TIMEOUT_MS }, async () => {
  const path = await savepointAt('a', { 'pipeline.max-parallelism': 256 })
  assert.ok((await readMetadata(join(path, '_metadata'))).vertices.every((v) => v.maxParallelism === 256))
  const resumed = await startJob(artifact, { args: args('a2', 0), config: { 'parallelism.default': 1 }, restoreFrom: path })
  assert.ok(resumed.execution.job.graph.vertices.every((v) => v.maxParallelism === 256), JSON.stringify(resumed.execution.job.graph.vertices.map((v) => v.maxParallelism)))
  const result = await resumed.execution.result
  assert.equal(result.status, 'FINISHED', result.error?.message)
  assert.equal(result.recordsIn, 30, 'the rest of the 40 records')
  assert.equal(committedLines(join(root, 'out-a2')).length, 30)
})

test('resuming a savepoint of max parallelism 128 at parallelism 130 is refused, naming 130 and 128', { timeout: TEST_TIMEOUT_MS }, async () => {
  const path = await savepointAt('b', {})
  await assert.rejects(
    JobExecution.start({ artifactUrl: artifact.url, args: args('b2', 0), config: { 'parallelism.default': 130 }, restoreFrom: path }),
    (e: unknown) => e instanceof UserError && /parallelism 130, above its max parallelism 128 \(the max parallelism of its state in the checkpoint or savepoint\)/.test(e.message),
  )
})

test('a parallelism above pipeline.max-parallelism is refused naming both', async () => {
  await assert.rejects(
    JobExecution.start({ artifactUrl: artifact.url, args: args('c', 0), config: { 'parallelism.default': 20, 'pipeline.max-parallelism': 16 } }),
    (e: unknown) => e instanceof UserError && /parallelism 20, above its max parallelism 16 \(pipeline\.max-parallelism\)/.test(e.message),
  )
})
