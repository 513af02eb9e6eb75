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

test('a slice that would start right behind another activity\'s waits; the activity that ended last never does', async () => {
  const { behindAnotherSlice, sliceEnded } = await import('../../src/state/task-slices.ts')
  const checkpoint = {}
  const fold = {}
  sliceEnded(checkpoint, 1000)
  assert.equal(behindAnotherSlice(fold, 1000.05), true, 'right behind the checkpoint\'s slice: the fold waits')
  assert.equal(behindAnotherSlice(checkpoint, 1000.05), false, 'the checkpoint goes on')
  assert.equal(behindAnotherSlice(fold, 1001), false, 'after a turn of the task (time passed), the fold goes')
  sliceEnded(fold, 1001)
  assert.equal(behindAnotherSlice(checkpoint, 1001.05), true)
})

test('activities in slices at the same time all finish, one at a time between the turns of a task', async () => {
  let turns = 0
  let done = 0
  const tick = () => {
    turns++
    if (done < 3) setImmediate(tick)
  }
  setImmediate(tick)
  const activity = async () => {
    const slices = new TaskSlices(0, 1)
    for (let i = 0; i < 20; i++) if (slices.due()) await slices.yield()
    done++
  }
  await Promise.all([activity(), activity(), activity()])
  assert.equal(done, 3)
  assert.ok(turns > 0)
})
