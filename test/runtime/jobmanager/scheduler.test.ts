// The slot pool: allocation from registered TaskManagers, waiting for slots that arrive late,
// failing after slot.request.timeout with what it has and needs, and TaskManager loss.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { SlotPool } from '../../../src/runtime/jobmanager/scheduler.ts'
import type { TaskManagerGateway } from '../../../src/runtime/taskmanager/task-manager.ts'
import { WeirError } from '../../../src/errors.ts'

function fakeTaskManager(id: string, numSlots: number): TaskManagerGateway {
  return { id, numSlots, deploy() {}, send() {}, release: async () => {} }
}

test('slots are taken TaskManager by TaskManager in registration order', async () => {
  const pool = new SlotPool()
  pool.register(fakeTaskManager('a', 1))
  pool.register(fakeTaskManager('b', 2))
  const slots = await pool.allocate(3, 1000)
  assert.deepEqual(slots.map((s) => `${s.taskManager.id}:${s.localIndex}`), ['a:0', 'b:0', 'b:1'])
  assert.equal(pool.freeSlots, 0)
  pool.release(slots)
  assert.equal(pool.freeSlots, 3)
})

test('a request for more slots than registered waits until a TaskManager registers', async () => {
  const pool = new SlotPool()
  pool.register(fakeTaskManager('a', 1))
  const pending = pool.allocate(2, 60_000)
  let served = false
  void pending.then(() => (served = true))
  await new Promise((r) => setImmediate(r))
  assert.equal(served, false)
  pool.register(fakeTaskManager('late', 1))
  const slots = await pending
  assert.deepEqual(slots.map((s) => s.taskManager.id), ['a', 'late'])
})

test('a request not served within slot.request.timeout fails saying how many slots there are and are needed', async () => {
  const pool = new SlotPool()
  pool.register(fakeTaskManager('a', 1))
  await assert.rejects(pool.allocate(4, 1), (e: WeirError) => {
    assert.equal(e.code, 'WEIR_NOT_ENOUGH_SLOTS')
    assert.match(e.message, /could not get 4 slot\(s\)/)
    assert.match(e.message, /1 free of 1 slot\(s\) on 1 TaskManager/)
    return true
  })
  // The failed request took nothing.
  assert.equal(pool.freeSlots, 1)
})

test('an aborted request ends at once and takes nothing', async () => {
  const pool = new SlotPool()
  const abort = new AbortController()
  const pending = pool.allocate(2, 60_000, abort.signal)
  abort.abort(new WeirError('WEIR_JOB_CANCELED', 'canceled'))
  await assert.rejects(pending, /canceled/)
  pool.register(fakeTaskManager('a', 2))
  assert.equal(pool.freeSlots, 2)
})

test('a lost TaskManager is removed with its slots and its listeners hear of it', async () => {
  const pool = new SlotPool()
  pool.register(fakeTaskManager('a', 2))
  pool.register(fakeTaskManager('b', 1))
  const lost: string[] = []
  pool.onTaskManagerLost((id, e) => lost.push(`${id}: ${e.code}`))
  pool.unregister('a', new WeirError('WEIR_TASKMANAGER_LOST', 'gone'))
  pool.unregister('a', new WeirError('WEIR_TASKMANAGER_LOST', 'gone again'))
  assert.deepEqual(lost, ['a: WEIR_TASKMANAGER_LOST'])
  assert.equal(pool.totalSlots, 1)
})
