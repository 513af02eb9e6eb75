// Where a checkpoint's time went: the slowest subtask's phases and one sentence of advice.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { breakdown } from '../../src/rest/checkpoint-breakdown.ts'
import type { CheckpointStats, SubtaskCheckpointStats } from '../../src/checkpoint/checkpoint-stats.ts'

const vertices = [
  { id: 0, name: 'Source', parallelism: 1, maxParallelism: 128, operators: [{ name: 'Source' }], uids: ['a'], inputs: [] },
  { id: 1, name: 'Window', parallelism: 2, maxParallelism: 128, operators: [{ name: 'Window' }], uids: ['b'], inputs: [{ source: 0, partitioner: { type: 'hash' } }] },
]

function sub(subtask: number, ackAt: number, p: Partial<SubtaskCheckpointStats>): SubtaskCheckpointStats {
  return { subtask, ackAt, stateSize: 1 << 20, checkpointedSize: 1 << 20, syncMs: 1, asyncMs: 1, alignmentMs: 0, startDelayMs: 0, unaligned: false, persistedBytes: 0, ...p }
}

function checkpoint(window: Array<SubtaskCheckpointStats | null>): CheckpointStats {
  return {
    id: 7, status: 'COMPLETED', triggeredAt: 1000, isSavepoint: false, durationMs: 2100, stateSize: 3 << 20, checkpointedSize: 3 << 20, persistedBytes: 0,
    acknowledged: 3, total: 3, failureReason: null, maxSyncMs: 0, maxAsyncMs: 0, maxAlignmentMs: 0, path: null, latestAckAt: 3000,
    tasks: new Map([
      [0, { acknowledged: 1, total: 1, stateSize: 100, checkpointedSize: 100, latestAckAt: 1010, subtasks: [sub(0, 1010, { stateSize: 100 })] }],
      [1, { acknowledged: 2, total: 2, stateSize: 2 << 20, checkpointedSize: 2 << 20, latestAckAt: 3000, subtasks: window }],
    ]),
  }
}

const ctx = { unaligned: false, incremental: false, backend: 'hashmap' }

test('a checkpoint waiting for its barrier under back-pressure names the subtask and suggests unaligned checkpoints', () => {
  const b = breakdown(checkpoint([sub(0, 1200, {}), sub(1, 3000, { startDelayMs: 1800, alignmentMs: 100, asyncMs: 50 })]), vertices, ctx)
  assert.equal(b.dominant, 'start_delay')
  assert.equal(b.vertices[1]!.slowest_subtask, 1)
  assert.deepEqual(b.vertices[1]!.phases, { start_delay: 1800, alignment: 100, sync: 1, async: 50, other: 49 })
  assert.deepEqual(b.critical_path, { start_delay: 1800, alignment: 100, sync: 1, async: 50, other: 149 }, 'other includes finalizing after the last ack')
  assert.match(b.sentence, /^Checkpoint 7 took 2\.10 s, 86% of it waiting for the barrier to reach 'Window' subtask 2/)
  assert.match(b.sentence, /execution\.checkpointing\.unaligned\.enabled: true/)
})

test('a long upload suggests incremental checkpoints; with them on, it blames the storage', () => {
  const slow = checkpoint([sub(0, 1200, {}), sub(1, 3000, { asyncMs: 1900 })])
  const tiny = checkpoint([sub(0, 1200, {}), sub(1, 3000, { asyncMs: 1900 })])
  tiny.tasks.get(1)!.checkpointedSize = 54
  assert.match(breakdown(tiny, vertices, ctx).sentence, /uploading 54 B .*latency per file, not the size/)
  assert.match(breakdown(slow, vertices, ctx).sentence, /uploading 2\.0 MiB of state from 'Window' subtask 2 .*execution\.checkpointing\.incremental: true/)
  assert.match(breakdown(slow, vertices, { ...ctx, backend: 'lmdb', incremental: true }).sentence, /although checkpoints are incremental/)
})

test('alignment and a short checkpoint', () => {
  const aligned = checkpoint([sub(0, 1200, {}), sub(1, 3000, { alignmentMs: 1500, startDelayMs: 100 })])
  assert.equal(breakdown(aligned, vertices, ctx).dominant, 'alignment')
  const quick = checkpoint([sub(0, 1002, {}), sub(1, 1003, {})])
  quick.durationMs = 3
  assert.match(breakdown(quick, vertices, ctx).sentence, /no phase stands out/)
  const none = checkpoint([null, null])
  none.tasks.get(0)!.subtasks[0] = null
  none.status = 'FAILED'
  none.failureReason = 'expired'
  assert.equal(breakdown(none, vertices, ctx).sentence, 'Checkpoint 7: no task acknowledged it (expired).')
})
