import { test } from 'node:test'
import assert from 'node:assert/strict'
import { deleteOnTermination, onCompletion, type RetentionPolicy, type TerminalStatus } from '../../../src/checkpoint/protocol/retention.ts'

test('a completion within num-retained drops nothing', () => {
  assert.deepEqual(onCompletion([], [], 1, 1), { dropCompleted: [], subsumePending: [] })
  assert.deepEqual(onCompletion([1, 2], [], 3, 3), { dropCompleted: [], subsumePending: [] })
})

test('a completion beyond num-retained drops the oldest completed checkpoints, oldest first', () => {
  assert.deepEqual(onCompletion([1], [], 2, 1).dropCompleted, [1])
  assert.deepEqual(onCompletion([3, 1, 2], [], 5, 2).dropCompleted, [1, 2])
})

test('a completion subsumes every pending checkpoint older than it and keeps the newer ones', () => {
  assert.deepEqual(onCompletion([], [2, 3, 5, 6], 4, 1).subsumePending, [2, 3])
  assert.deepEqual(onCompletion([], [5, 6], 4, 1).subsumePending, [])
})

test('a completion older than the newest retained one is itself the one dropped', () => {
  // Out-of-order completion: 3 completed before 2 finished finalizing.
  assert.deepEqual(onCompletion([3], [], 2, 1).dropCompleted, [2])
})

// Flink's CheckpointProperties: NEVER_RETAIN deletes always; RETAIN_ON_FAILURE (Weir's
// DELETE_ON_CANCELLATION) keeps only on failure; RETAIN_ON_CANCELLATION keeps on failure,
// cancellation and suspension.
const MATRIX: Record<RetentionPolicy, Record<TerminalStatus, boolean>> = {
  NO_EXTERNALIZED_CHECKPOINTS: { FINISHED: true, FAILED: true, CANCELED: true, SUSPENDED: true },
  DELETE_ON_CANCELLATION: { FINISHED: true, FAILED: false, CANCELED: true, SUSPENDED: true },
  RETAIN_ON_CANCELLATION: { FINISHED: true, FAILED: false, CANCELED: false, SUSPENDED: false },
}

for (const [policy, row] of Object.entries(MATRIX) as [RetentionPolicy, Record<TerminalStatus, boolean>][]) {
  test(`with ${policy} the checkpoints are ${Object.entries(row).map(([s, d]) => `${d ? 'deleted' : 'kept'} when ${s}`).join(', ')}`, () => {
    for (const [status, expected] of Object.entries(row) as [TerminalStatus, boolean][]) {
      assert.equal(deleteOnTermination(policy, status), expected, `${policy} x ${status}`)
    }
  })
}
