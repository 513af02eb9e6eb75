// Window join, coGroup and interval join end to end (test/fixtures/jobs/joins.ts), at
// parallelism 2, against what the inputs imply.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { fileURLToPath } from 'node:url'
import { runJob } from '../helpers/run-job.ts'
import { TEST_TIMEOUT_MS } from '../helpers/deadlines.ts'

const T = { timeout: TEST_TIMEOUT_MS }
const fixture = fileURLToPath(new URL('../fixtures/jobs/joins.ts', import.meta.url))
const run = async (mode: string) => {
  const { result, lines } = await runJob(fixture, { args: ['--mode', mode], config: { 'parallelism.default': 2 } })
  assert.equal(result.status, 'FINISHED', result.error?.message)
  return lines.map((l) => l.replace(/^\d+> /, '')).sort()
}

test('a window join pairs the elements of equal keys in the same window', T, async () => {
  // Window [0, 10): a orders 1, 8 x a payments 0, 3; b order 4 x b payment 9. [10, 20): a 12 x a 11; b 18 has no b order there.
  assert.deepEqual(await run('join'), ['join a 1 0', 'join a 1 3', 'join a 12 11', 'join a 8 0', 'join a 8 3', 'join b 4 9'].sort())
})

test('a coGroup gets both sides of every key and window, also when one side is empty', T, async () => {
  assert.deepEqual(await run('cogroup'), ['cogroup a 0 2 2', 'cogroup a 10 1 1', 'cogroup b 0 1 1', 'cogroup b 10 0 1', 'cogroup b 20 1 0', 'cogroup c 10 1 0', 'cogroup c 30 0 1'].sort())
})

test('an interval join pairs each order with the payments from 2 ms before to 3 ms after it, stamped with the later time', T, async () => {
  // a: order 1 -> payments 0 and 3 ([-1, 4]); order 8 -> 11 ([6, 11]); order 12 -> 11 ([10, 15]). b: order 4 -> none ([2, 7]), order 21 -> none ([19, 24]).
  assert.deepEqual(await run('interval'), ['interval a 1 0 ts=1', 'interval a 1 3 ts=3', 'interval a 8 11 ts=11', 'interval a 12 11 ts=12'].sort())
})
