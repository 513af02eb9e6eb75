import { test } from 'node:test'
import assert from 'node:assert/strict'
import { WatermarkStrategy, type WatermarkOutput } from '../../src/api/watermark.ts'
import { isWeirError } from '../../src/errors.ts'

function recorder() {
  const events: string[] = []
  const out: WatermarkOutput = { emitWatermark: (t) => events.push(`wm ${t}`), markIdle: () => events.push('idle'), markActive: () => events.push('active') }
  return { events, out }
}

test('forBoundedOutOfOrderness emits the highest timestamp minus the bound minus 1, periodically', () => {
  const g = WatermarkStrategy.forBoundedOutOfOrderness<number>(1000).createWatermarkGenerator({ subtaskIndex: 0 })
  const { events, out } = recorder()
  g.onPeriodicEmit(out)
  assert.deepEqual(events, [], 'nothing before the first event')
  g.onEvent(1, 5000, out)
  g.onEvent(1, 3000, out)
  assert.deepEqual(events, [], 'not on events')
  g.onPeriodicEmit(out)
  assert.deepEqual(events, ['wm 3999'])
})

test('forMonotonousTimestamps trails the highest timestamp by 1 ms', () => {
  const g = WatermarkStrategy.forMonotonousTimestamps<number>().createWatermarkGenerator({ subtaskIndex: 0 })
  const { events, out } = recorder()
  g.onEvent(1, 10, out)
  g.onPeriodicEmit(out)
  assert.deepEqual(events, ['wm 9'])
})

test('withTimestampAssigner takes the event time from the event; without one, the record keeps its own', () => {
  const s = WatermarkStrategy.forMonotonousTimestamps<{ t: number }>()
  assert.equal(s.createTimestampExtractor()({ t: 5 }, 77), 77)
  assert.equal(s.withTimestampAssigner((e) => e.t).createTimestampExtractor()({ t: 5 }, 77), 5)
  assert.equal(s.withTimestampAssigner({ extractTimestamp: (e: { t: number }) => e.t * 2 }).createTimestampExtractor()({ t: 5 }, 77), 10)
})

test('withIdleness marks the output idle after the timeout without events, and active on the next event', () => {
  let now = 0
  const g = WatermarkStrategy.forBoundedOutOfOrderness<number>(0).withIdleness(1000, () => now).createWatermarkGenerator({ subtaskIndex: 0 })
  const { events, out } = recorder()
  g.onEvent(1, 100, out)
  g.onPeriodicEmit(out) // saw an event since the last check
  now = 500
  g.onPeriodicEmit(out) // inactivity starts
  now = 1400
  g.onPeriodicEmit(out)
  assert.deepEqual(events, ['wm 99', 'wm 99', 'wm 99'], 'not idle before the timeout')
  now = 1600
  g.onPeriodicEmit(out)
  assert.deepEqual(events.slice(3), ['idle'])
  g.onEvent(1, 200, out)
  g.onPeriodicEmit(out)
  assert.deepEqual(events.slice(3), ['idle', 'active', 'wm 199'])
})

test('forGenerator passes the generator through; a bad supplier is refused with a clear error', () => {
  const { events, out } = recorder()
  const g = WatermarkStrategy.forGenerator<number>(() => ({ onEvent: (_e, ts, o) => o.emitWatermark(ts - 1), onPeriodicEmit() {} })).createWatermarkGenerator({ subtaskIndex: 0 })
  g.onEvent(1, 10, out)
  assert.deepEqual(events, ['wm 9'])
  assert.throws(() => WatermarkStrategy.forGenerator<number>(() => ({}) as never).createWatermarkGenerator({ subtaskIndex: 0 }), (e) => isWeirError(e) && /onEvent/.test(e.message))
  assert.throws(() => WatermarkStrategy.forBoundedOutOfOrderness(-1), /non-negative/)
})
