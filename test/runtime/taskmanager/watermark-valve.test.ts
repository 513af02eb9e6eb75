import { test } from 'node:test'
import assert from 'node:assert/strict'
import { WatermarkValve } from '../../../src/runtime/taskmanager/watermark-valve.ts'

function valve(channels: number) {
  const events: string[] = []
  const v = new WatermarkValve(channels, {
    emitWatermark: (t) => events.push(`wm ${t}`),
    emitWatermarkStatus: (idle) => events.push(idle ? 'idle' : 'active'),
  })
  return { v, events }
}

test('the task watermark is the minimum over its channels and never goes back', () => {
  const { v, events } = valve(2)
  v.onWatermark(0, 10)
  assert.deepEqual(events, [], 'channel 1 has no watermark yet')
  v.onWatermark(1, 5)
  v.onWatermark(1, 20)
  v.onWatermark(0, 8) // older than channel 0's own: ignored
  v.onWatermark(0, 30)
  assert.deepEqual(events, ['wm 5', 'wm 10', 'wm 20'])
  assert.equal(v.current, 20)
})

test('an idle channel does not hold the watermark back; all idle makes the task idle at the highest watermark', () => {
  const { v, events } = valve(3)
  v.onWatermark(0, 100)
  v.onWatermark(1, 50)
  v.onStatus(2, true)
  assert.deepEqual(events, ['wm 50'])
  v.onStatus(1, true)
  assert.deepEqual(events, ['wm 50', 'wm 100'])
  v.onStatus(0, true)
  assert.deepEqual(events, ['wm 50', 'wm 100', 'idle'])
  v.onWatermark(2, 120)
  assert.deepEqual(events, ['wm 50', 'wm 100', 'idle', 'active', 'wm 120'])
})

test('a channel that comes back behind the task watermark counts again only once it caught up', () => {
  const { v, events } = valve(2)
  v.onWatermark(0, 10)
  v.onWatermark(1, 10)
  v.onStatus(1, true)
  v.onWatermark(0, 40)
  assert.deepEqual(events, ['wm 10', 'wm 40'])
  v.onStatus(1, false)
  v.onWatermark(1, 20) // behind 40: does not pull the task back, does not block it
  v.onWatermark(0, 60)
  assert.deepEqual(events, ['wm 10', 'wm 40', 'wm 60'])
  v.onWatermark(1, 70) // caught up: counts again
  v.onWatermark(0, 90)
  assert.deepEqual(events, ['wm 10', 'wm 40', 'wm 60', 'wm 70'])
})

test('an ended channel counts as the maximum watermark', () => {
  const { v, events } = valve(2)
  v.onWatermark(0, 7)
  v.onEnd(1)
  assert.deepEqual(events, ['wm 7'])
  v.onEnd(0)
  assert.deepEqual(events, ['wm 7', 'wm Infinity'])
})
