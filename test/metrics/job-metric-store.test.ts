// The JobManager's metric store: per-second rates over the window of samples, and the busy,
// idle and back-pressured milliseconds per second of the task's own time.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { JobMetricStore } from '../../src/metrics/job-metric-store.ts'
import type { TaskMetricsSample } from '../../src/metrics/task-metrics-sample.ts'

function sample(over: Partial<TaskMetricsSample>): TaskMetricsSample {
  return {
    vertex: 0, subtask: 0, state: 'RUNNING', recordsIn: 0, recordsOut: 0, bytesIn: 0, bytesOut: 0,
    busyMs: 0, idleMs: 0, backPressuredMs: 0, lastCheckpointAlignmentMs: 0, lastCheckpointStartDelayMs: 0,
    watermark: -Infinity, user: [], ...over,
  }
}

test("time ratios are of the task's own time: a report that arrives late does not make them add up to more than a second", () => {
  let now = 0
  const store = new JobMetricStore(() => now)
  store.update([sample({ busyMs: 0, backPressuredMs: 0 })])
  // The task accounted 2,000 ms (1,200 back-pressured, 800 busy) between its reports, but the
  // second one waited in a queue: the reports arrived only 1,000 ms apart.
  now = 1_000
  store.update([sample({ busyMs: 800, backPressuredMs: 1_200, recordsOut: 5_000 })])
  const m = store.subtask(0, 0)!
  assert.equal(m.busyTimeMsPerSecond, 400)
  assert.equal(m.backPressuredTimeMsPerSecond, 600)
  assert.equal(m.idleTimeMsPerSecond, 0)
  assert.equal(m.busyTimeMsPerSecond + m.backPressuredTimeMsPerSecond + m.idleTimeMsPerSecond, 1000)
  // Rates stay per second of the window between the samples.
  assert.equal(m.numRecordsOutPerSecond, 5_000)
  assert.equal(m.accumulatedBackPressuredTime, 1_200)
})

test('before a second sample there is no ratio, and a task that accounted no time has none', () => {
  let now = 0
  const store = new JobMetricStore(() => now)
  assert.equal(store.subtask(0, 0), null)
  store.update([sample({ idleMs: 50 })])
  assert.equal(store.subtask(0, 0)!.idleTimeMsPerSecond, 0)
  now = 200
  store.update([sample({ idleMs: 50 })])
  assert.equal(store.subtask(0, 0)!.idleTimeMsPerSecond, 0)
  now = 400
  store.update([sample({ idleMs: 250 })])
  assert.equal(store.subtask(0, 0)!.idleTimeMsPerSecond, 1000)
})
