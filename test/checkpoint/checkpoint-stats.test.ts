// Checkpoint statistics: a bounded history, counts and summary over every checkpoint.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { CheckpointStatsTracker, StatsSummary, SUMMARY_WINDOW, type CheckpointStats } from '../../src/checkpoint/checkpoint-stats.ts'

function stats(id: number, durationMs: number, size: number): CheckpointStats {
  return {
    id, status: 'COMPLETED', triggeredAt: id * 1000, isSavepoint: false, durationMs, stateSize: size, checkpointedSize: size, persistedBytes: 0,
    acknowledged: 1, total: 1, failureReason: null, maxSyncMs: 0, maxAsyncMs: 0, maxAlignmentMs: 0, path: null, latestAckAt: null, tasks: new Map(),
  }
}

test('the history keeps the newest web.checkpoints.history checkpoints; the summary covers all of them', () => {
  const t = new CheckpointStatsTracker(3)
  for (let id = 1; id <= 100; id++) {
    const s = stats(id, id, id * 10)
    t.triggered(s)
    t.completed(s)
  }
  assert.deepEqual(t.history.map((s) => s.id), [98, 99, 100])
  assert.equal(t.find(50), null)
  assert.equal(t.find(99)?.id, 99)
  assert.equal(t.latestCompleted?.id, 100)
  const d = t.summary.endToEndDuration.toJson()
  assert.deepEqual(d, { min: 1, max: 100, avg: 51, p50: 50, p90: 90, p95: 95, p99: 99, p999: 100 })
  assert.equal(t.summary.stateSize.toJson().max, 1000)
})

test('percentiles are over the newest SUMMARY_WINDOW values; min, max and average over all', () => {
  const s = new StatsSummary()
  s.add(1_000_000)
  for (let i = 0; i < SUMMARY_WINDOW; i++) s.add(5)
  const j = s.toJson()
  assert.equal(j.max, 1_000_000, 'the maximum is over every value')
  assert.equal(j.p999, 5, 'the old outlier left the percentile window')
  assert.equal(s.toJson(), j, 'computed once until the next value')
})
