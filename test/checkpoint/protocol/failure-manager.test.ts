import { test } from 'node:test'
import assert from 'node:assert/strict'
import { CheckpointFailureManager } from '../../../src/checkpoint/protocol/failure-manager.ts'
import { CHECKPOINT_FAILURE_REASONS, describeFailureReason, type CheckpointFailureReason } from '../../../src/checkpoint/protocol/failure-reason.ts'

const counting = (Object.keys(CHECKPOINT_FAILURE_REASONS) as CheckpointFailureReason[]).filter((r) => CHECKPOINT_FAILURE_REASONS[r].counts)
const notCounting = (Object.keys(CHECKPOINT_FAILURE_REASONS) as CheckpointFailureReason[]).filter((r) => !CHECKPOINT_FAILURE_REASONS[r].counts)

test('the counting reasons are the checkpoint\'s own failures and the others are not', () => {
  assert.deepEqual(counting.sort(), ['DECLINED', 'EXPIRED', 'FINALIZE_FAILED', 'STATE_TOO_LARGE', 'STORAGE_FAILURE'])
  assert.deepEqual(notCounting.sort(), ['COORDINATOR_SHUTDOWN', 'JOB_REACHED_END', 'SUBSUMED', 'TASKS_NOT_RUNNING', 'TASK_FAILURE', 'TOO_MANY_CONCURRENT'])
  for (const r of ['TASKS_NOT_RUNNING', 'TOO_MANY_CONCURRENT'] as const) assert.equal(CHECKPOINT_FAILURE_REASONS[r].preFlight, true)
})

test('with zero tolerable failures the first counted failure fails the job', () => {
  const m = new CheckpointFailureManager(0)
  assert.equal(m.onFailure('EXPIRED'), 'fail-job')
  assert.equal(m.consecutiveFailures, 1)
})

test('the job fails only when consecutive counted failures exceed the tolerable number', () => {
  const m = new CheckpointFailureManager(2)
  assert.equal(m.onFailure('DECLINED'), 'tolerate')
  assert.equal(m.onFailure('STORAGE_FAILURE'), 'tolerate')
  assert.equal(m.consecutiveFailures, 2)
  assert.equal(m.onFailure('EXPIRED'), 'fail-job')
  assert.equal(m.consecutiveFailures, 3)
})

test('failures that are not the checkpoint\'s fault are tolerated and not counted', () => {
  const m = new CheckpointFailureManager(0)
  for (const r of notCounting) assert.equal(m.onFailure(r), 'tolerate', r)
  assert.equal(m.consecutiveFailures, 0)
  for (const r of counting) assert.equal(new CheckpointFailureManager(0).onFailure(r), 'fail-job', r)
})

test('a completed checkpoint resets the count', () => {
  const m = new CheckpointFailureManager(1)
  assert.equal(m.onFailure('EXPIRED'), 'tolerate')
  m.onSuccess()
  assert.equal(m.consecutiveFailures, 0)
  assert.equal(m.onFailure('EXPIRED'), 'tolerate')
  assert.equal(m.onFailure('EXPIRED'), 'fail-job')
})

test('a failure reason is described with its message and the detail', () => {
  assert.equal(describeFailureReason('DECLINED'), 'a task declined the checkpoint')
  assert.equal(describeFailureReason('DECLINED', 'task 0/1: disk full'), 'a task declined the checkpoint: task 0/1: disk full')
})
