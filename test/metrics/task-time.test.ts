// Busy / idle / back-pressured accounting of a task: time goes to the activity the task was in.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { TaskTime } from '../../src/metrics/task-time.ts'

test('time is split by activity at the steps where it changes', () => {
  const t = new TaskTime(0)
  t.observe(false, false, 10) // idle since 0
  t.observe(true, false, 30) // idle 0..30, busy from 30
  t.observe(true, false, 40) // still busy
  t.observe(false, true, 100) // busy 30..100, back-pressured from 100
  t.account(150)
  assert.equal(t.idleMs, 30)
  assert.equal(t.busyMs, 70)
  assert.equal(t.backPressuredMs, 50)
  t.observe(false, false, 170)
  t.account(200)
  assert.equal(t.backPressuredMs, 70)
  assert.equal(t.idleMs, 60)
  assert.equal(t.busyMs + t.idleMs + t.backPressuredMs, 200, 'every millisecond is accounted once')
})
