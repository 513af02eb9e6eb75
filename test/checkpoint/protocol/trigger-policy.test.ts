import { test } from 'node:test'
import assert from 'node:assert/strict'
import { decideTrigger, type TriggerFacts, type TriggerOptions } from '../../../src/checkpoint/protocol/trigger-policy.ts'

const options = (o: Partial<TriggerOptions> = {}): TriggerOptions => ({ intervalMs: 1000, minPauseMs: 0, maxConcurrent: 1, ...o })
const facts = (f: Partial<TriggerFacts> = {}): TriggerFacts => ({ now: 0, pending: 0, lastTriggerAt: -Infinity, lastEndAt: -Infinity, ...f })

test('the first checkpoint triggers at once when nothing was triggered before', () => {
  assert.deepEqual(decideTrigger(options(), facts({ now: 0 })), { kind: 'trigger' })
  assert.deepEqual(decideTrigger(options({ minPauseMs: 500 }), facts({ now: 0 })), { kind: 'trigger' })
})

test('the next checkpoint waits until one interval after the last trigger', () => {
  assert.deepEqual(decideTrigger(options(), facts({ now: 300, lastTriggerAt: 100, lastEndAt: 200 })), { kind: 'wait-until', at: 1100 })
  assert.deepEqual(decideTrigger(options(), facts({ now: 1099, lastTriggerAt: 100 })), { kind: 'wait-until', at: 1100 })
  assert.deepEqual(decideTrigger(options(), facts({ now: 1100, lastTriggerAt: 100 })), { kind: 'trigger' })
  assert.deepEqual(decideTrigger(options(), facts({ now: 5000, lastTriggerAt: 100 })), { kind: 'trigger' })
})

test('a min pause delays the next trigger past the interval when the last checkpoint ended late', () => {
  const o = options({ minPauseMs: 800 })
  assert.deepEqual(decideTrigger(o, facts({ now: 1100, lastTriggerAt: 100, lastEndAt: 900 })), { kind: 'wait-until', at: 1700 })
  assert.deepEqual(decideTrigger(o, facts({ now: 1700, lastTriggerAt: 100, lastEndAt: 900 })), { kind: 'trigger' })
  // An early end: the interval decides.
  assert.deepEqual(decideTrigger(o, facts({ now: 400, lastTriggerAt: 100, lastEndAt: 200 })), { kind: 'wait-until', at: 1100 })
})

test('a min pause implies one checkpoint at a time, whatever max concurrent says', () => {
  const o = options({ minPauseMs: 1, maxConcurrent: 5 })
  assert.deepEqual(decideTrigger(o, facts({ now: 10_000, pending: 1, lastTriggerAt: 0 })), { kind: 'wait-for-completion' })
  assert.deepEqual(decideTrigger(options({ maxConcurrent: 5 }), facts({ now: 10_000, pending: 1, lastTriggerAt: 0 })), { kind: 'trigger' })
})

test('max concurrent checkpoints in progress makes the next one wait for a completion', () => {
  const o = options({ maxConcurrent: 2 })
  assert.deepEqual(decideTrigger(o, facts({ now: 5000, pending: 2, lastTriggerAt: 0 })), { kind: 'wait-for-completion' })
  assert.deepEqual(decideTrigger(o, facts({ now: 5000, pending: 3, lastTriggerAt: 0 })), { kind: 'wait-for-completion' })
  assert.deepEqual(decideTrigger(o, facts({ now: 5000, pending: 1, lastTriggerAt: 0 })), { kind: 'trigger' })
  assert.deepEqual(decideTrigger(options(), facts({ now: 5000, pending: 1, lastTriggerAt: 0 })), { kind: 'wait-for-completion' })
})
