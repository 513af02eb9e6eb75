import { test } from 'node:test'
import assert from 'node:assert/strict'
import { TaskSlices } from '../../src/state/task-slices.ts'

test('a slice ends only at a clock check after its time is up, and the next slice starts after the yield', async () => {
  let now = 100
  let resumed = 0
  const slices = new TaskSlices(4, 8, () => resumed++, () => now)
  // Within the slice's time: no step ends it, however many.
  for (let i = 0; i < 64; i++) assert.equal(slices.due(), false)
  now = 105
  // Past the deadline, only every 8th step looks at the clock.
  const due: boolean[] = []
  for (let i = 0; i < 8; i++) due.push(slices.due())
  assert.deepEqual(due, [false, false, false, false, false, false, false, true])
  await slices.yield()
  assert.equal(resumed, 1)
  // A new slice of 4 ms from the time of the yield.
  for (let i = 0; i < 16; i++) assert.equal(slices.due(), false)
  now = 110
  for (let i = 0; i < 7; i++) assert.equal(slices.due(), false)
  assert.equal(slices.due(), true)
})

test('the steps between clock checks must be a power of two', () => {
  assert.throws(() => new TaskSlices(4, 1000), /power of two, got 1000/)
})

test('overdue() reads the clock without counting a step: for one long step, such as a sort', () => {
  let now = 0
  const slices = new TaskSlices(4, 1024, null, () => now)
  assert.equal(slices.overdue(), false)
  now = 5
  assert.equal(slices.overdue(), true)
  assert.equal(slices.due(), false, 'a step that is not a multiple of 1024 does not look at the clock')
})
