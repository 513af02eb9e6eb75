// The status line of `weir run`: the latest checkpoint (id, age, size, duration) and restarts.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { describeJob } from '../../src/cli/progress.ts'

test('the status line shows the latest checkpoint and the restarts', () => {
  const none = { attemptCount: 0, coordinator: { stats: { latestCompleted: null } } }
  assert.equal(describeJob(none, 10_000), '')
  const job = { attemptCount: 2, coordinator: { stats: { latestCompleted: { id: 42, durationMs: 120, stateSize: 3 << 20, triggeredAt: 4_880 } } } }
  assert.equal(describeJob(job, 10_000), ' | checkpoint 42 (5s ago, 3.0 MB, 120 ms) | 2 restarts')
  assert.equal(describeJob({ ...job, attemptCount: 1 }, 10_000).endsWith('| 1 restart'), true)
})
