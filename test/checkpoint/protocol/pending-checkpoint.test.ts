import { test } from 'node:test'
import assert from 'node:assert/strict'
import { PendingCheckpoint } from '../../../src/checkpoint/protocol/pending-checkpoint.ts'

test('acknowledging an expected task succeeds and the checkpoint is complete once every task acknowledged', () => {
  const p = new PendingCheckpoint<string>(7, 1000, ['0/0', '0/1'])
  assert.equal(p.id, 7)
  assert.equal(p.triggeredAt, 1000)
  assert.equal(p.isSavepoint, false)
  assert.deepEqual(p.pendingTasks.sort(), ['0/0', '0/1'])
  assert.equal(p.acknowledge('0/1', 'h1'), 'SUCCESS')
  assert.equal(p.isFullyAcknowledged, false)
  assert.deepEqual(p.pendingTasks, ['0/0'])
  assert.equal(p.acknowledge('0/0', 'h0'), 'SUCCESS')
  assert.equal(p.isFullyAcknowledged, true)
  assert.deepEqual(p.pendingTasks, [])
  assert.deepEqual([...p.acks.entries()], [['0/1', 'h1'], ['0/0', 'h0']])
})

test('a second acknowledgement of the same task is a duplicate and keeps the first handle', () => {
  const p = new PendingCheckpoint<string>(1, 0, ['0/0', '0/1'])
  assert.equal(p.acknowledge('0/0', 'first'), 'SUCCESS')
  assert.equal(p.acknowledge('0/0', 'second'), 'DUPLICATE')
  assert.equal(p.acks.get('0/0'), 'first')
  assert.equal(p.isFullyAcknowledged, false)
})

test('an acknowledgement from a task the checkpoint does not wait for is unknown and changes nothing', () => {
  const p = new PendingCheckpoint<string>(1, 0, ['0/0'])
  assert.equal(p.acknowledge('9/9', 'x'), 'UNKNOWN')
  assert.equal(p.acks.size, 0)
  assert.deepEqual(p.pendingTasks, ['0/0'])
})

test('after an abort every acknowledgement is discarded and the checkpoint never becomes fully acknowledged', () => {
  const p = new PendingCheckpoint<string>(3, 0, ['0/0', '0/1'])
  assert.equal(p.acknowledge('0/0', 'h0'), 'SUCCESS')
  assert.deepEqual(p.abort('EXPIRED'), ['h0'])
  assert.equal(p.isDiscarded, true)
  assert.equal(p.abortReason, 'EXPIRED')
  assert.equal(p.acknowledge('0/1', 'h1'), 'DISCARDED')
  assert.equal(p.acknowledge('0/0', 'h0'), 'DISCARDED')
  assert.equal(p.acknowledge('7/7', 'h'), 'DISCARDED')
  assert.equal(p.isFullyAcknowledged, false)
})

test('aborting twice keeps the first reason and returns the handles only once', () => {
  const p = new PendingCheckpoint<string>(3, 0, ['0/0', '0/1'])
  p.acknowledge('0/0', 'h0')
  assert.deepEqual(p.abort('DECLINED'), ['h0'])
  assert.deepEqual(p.abort('EXPIRED'), [])
  assert.equal(p.abortReason, 'DECLINED')
})

test('a fully acknowledged checkpoint that is then aborted no longer counts as fully acknowledged', () => {
  const p = new PendingCheckpoint<string>(3, 0, ['0/0'])
  p.acknowledge('0/0', 'h0')
  assert.equal(p.isFullyAcknowledged, true)
  p.abort('TASK_FAILURE')
  assert.equal(p.isFullyAcknowledged, false)
  assert.equal(p.abortReason, 'TASK_FAILURE')
})

test('a checkpoint with no tasks is fully acknowledged from the start, and a savepoint says so', () => {
  const p = new PendingCheckpoint<string>(1, 0, [], true)
  assert.equal(p.isFullyAcknowledged, true)
  assert.equal(p.isSavepoint, true)
  assert.equal(p.abortReason, null)
})
