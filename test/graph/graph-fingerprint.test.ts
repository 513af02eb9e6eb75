// A builder that is not deterministic is refused at deploy: each slot compares the graph it
// built with the JobManager's (src/graph/graph-fingerprint.ts) and the job fails, saying the
// builder is not deterministic and where the graphs differ. A random uid used to run and then
// restore no state for that operator on a resume. Job: test/fixtures/jobs/nondeterministic.ts.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { fileURLToPath } from 'node:url'
import { runJob } from '../helpers/run-job.ts'
import { describeGraph, describeGraphDifference, graphFingerprint } from '../../src/graph/graph-fingerprint.ts'
import { StreamEnvironment } from '../../src/api/environment.ts'
import { Configuration } from '../../src/config/configuration.ts'
import { buildJobGraph } from '../../src/graph/job-graph.ts'

const job = fileURLToPath(new URL('../fixtures/jobs/nondeterministic.ts', import.meta.url))

const CASES = [
  { vary: 'uid', where: /operator 'Counter' has uid 'count-0\.\d+' on the JobManager and 'count-0\.\d+' here/ },
  { vary: 'parallelism', where: /operator 'Counter' has parallelism 1 on the JobManager, 2 here/ },
  { vary: 'shape', where: /operator 2 is a one-input operator 'Counter' on the JobManager, a one-input operator 'Filter' here/ },
]

for (const { vary, where } of CASES) {
  test(`a builder whose ${vary} differs from process to process fails the job at deploy, saying where the graphs differ`, { timeout: 300_000 }, async () => {
    const { result, lines } = await runJob(job, { args: ['--vary', vary], config: { 'parallelism.default': 2 } })
    assert.equal(result.status, 'FAILED')
    assert.equal(result.error?.code, 'WEIR_INVALID_JOB')
    assert.match(result.error!.message, /the builder of job 'Nondeterministic' is not deterministic: slot \d built a different job graph than the JobManager/)
    assert.match(result.error!.message, where)
    assert.equal(result.restarts, 0, 'not retried: every attempt would build another graph')
    assert.deepEqual(lines, [], 'nothing ran')
  })
}

test('a deterministic builder runs (the control)', { timeout: 300_000 }, async () => {
  const { result, lines } = await runJob(job, { args: ['--vary', 'none'], config: { 'parallelism.default': 2 } })
  assert.equal(result.status, 'FINISHED', result.error?.message)
  assert.equal(lines.length, 200)
})

function graphOf(build: (env: StreamEnvironment) => void) {
  const env = new StreamEnvironment([], new Configuration({}))
  build(env)
  return describeGraph(buildJobGraph(env.transformations, { defaultParallelism: 2, maxParallelism: -1, chaining: true }))
}

test('the fingerprint covers vertices, uids, edges, partitioning and parallelism', () => {
  const base = (env: StreamEnvironment) => env.fromSequence(1, 10).keyBy((x) => x).map((x) => x).uid('m').print()
  const a = graphOf(base)
  assert.equal(graphFingerprint(a), graphFingerprint(graphOf(base)), 'the same builder gives the same fingerprint')
  assert.equal(describeGraphDifference(a, graphOf(base)), null)
  const variants: Array<[string, (env: StreamEnvironment) => void, RegExp]> = [
    ['uid', (env) => env.fromSequence(1, 10).keyBy((x) => x).map((x) => x).uid('other').print(), /uid 'm' on the JobManager and 'other' here/],
    ['partitioning', (env) => env.fromSequence(1, 10).rebalance().map((x) => x).uid('m').print(), /partitioned by hash on the JobManager, by rebalance here/],
    ['parallelism', (env) => env.fromSequence(1, 10).keyBy((x) => x).map((x) => x).uid('m').setParallelism(3).print(), /parallelism 2 on the JobManager, 3 here/],
    ['name', (env) => env.fromSequence(1, 10).keyBy((x) => x).map((x) => x).name('Renamed').uid('m').print(), /operator 'Map' on the JobManager, a one-input operator 'Renamed' here/],
  ]
  for (const [what, build, message] of variants) {
    const b = graphOf(build)
    assert.notEqual(graphFingerprint(a), graphFingerprint(b), `${what} changes the fingerprint`)
    assert.match(describeGraphDifference(a, b) ?? '', message, what)
  }
})
