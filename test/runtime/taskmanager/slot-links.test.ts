import { test } from 'node:test'
import assert from 'node:assert/strict'
import { StreamEnvironment } from '../../../src/api/environment.ts'
import { Configuration } from '../../../src/config/configuration.ts'
import { buildJobGraph } from '../../../src/graph/job-graph.ts'
import { describeGraph } from '../../../src/graph/graph-fingerprint.ts'
import { linkedSlotPairs, slotPeers } from '../../../src/runtime/taskmanager/slot-links.ts'

function shape(parallelism: number, define: (env: StreamEnvironment) => void) {
  const env = new StreamEnvironment([], new Configuration({ 'parallelism.default': parallelism }))
  define(env)
  return describeGraph(buildJobGraph(env.transformations, { defaultParallelism: parallelism, maxParallelism: -1, chaining: true }))
}

test('a job fanning out from one source at parallelism 200 links slot 0 with each other slot: 199 pairs, not 19,900', () => {
  const g = shape(200, (env) => env.fromElements(1, 2, 3).rebalance().map((n) => n + 1).print())
  const pairs = linkedSlotPairs(g, 200)
  assert.equal(pairs.length, 199)
  assert.deepEqual(pairs.slice(0, 2), [[0, 1], [0, 2]])
  assert.ok(pairs.every(([a]) => a === 0))
  const peers = slotPeers(g, 200)
  assert.equal(peers[0]!.size, 199)
  assert.deepEqual([...peers[7]!], [0])
})

test('a keyBy between two vertices of parallelism 4 links every pair of slots; forward edges only link none', () => {
  const keyed = shape(4, (env) => env.fromSequence(1, 10).keyBy((n) => n % 3).reduce((a, b) => a + b).print())
  assert.deepEqual(linkedSlotPairs(keyed, 4), [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]])
  const forward = shape(4, (env) => env.fromSequence(1, 10).map((n) => n * 2).filter((n) => n > 2).print())
  assert.deepEqual(linkedSlotPairs(forward, 4), [])
})

test('with fewer slots than subtasks, pairs are between the slots the subtasks share', () => {
  const g = shape(4, (env) => env.fromSequence(1, 10).keyBy((n) => n % 3).reduce((a, b) => a + b).print())
  assert.deepEqual(linkedSlotPairs(g, 2), [[0, 1]])
})
