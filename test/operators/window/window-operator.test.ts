// The window operator in the shape of Flink's WindowOperatorTest: elements with timestamps and
// watermarks go in by hand, the emitted results (with their timestamps) are checked. Tumbling
// and sliding windows run both on the sliced path and on the general one (forced), on both
// keyed state backends.

import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { windowHarness, emitted, sumPairs, type Pair } from './window-harness.ts'
import { TumblingEventTimeWindows, SlidingEventTimeWindows, EventTimeSessionWindows, TumblingProcessingTimeWindows, GlobalWindows } from '../../../src/api/windowing/assigners.ts'
import { CountTrigger, PurgingTrigger, ContinuousEventTimeTrigger, EventTimeTrigger } from '../../../src/api/windowing/triggers.ts'
import { CountEvictor, TimeEvictor } from '../../../src/api/windowing/evictors.ts'
import { ValueStateDescriptor } from '../../../src/api/state.ts'
import type { ProcessWindowFunction } from '../../../src/api/windowing/window-functions.ts'
import type { TimeWindow, Window } from '../../../src/api/windowing/windows.ts'

const reduce = { kind: 'reduce' as const, reduce: sumPairs as (a: unknown, b: unknown) => unknown }
const countAgg = { kind: 'aggregate' as const, aggregate: { createAccumulator: () => 0, add: (_v: unknown, a: unknown) => (a as number) + 1, getResult: (a: unknown) => a, merge: (a: unknown, b: unknown) => (a as number) + (b as number) } }
const listAll = { kind: 'list' as const }

/** A ProcessWindowFunction that prints key, window and the elements' values. */
const describeWindow: ProcessWindowFunction<unknown, string, unknown, Window> = (key, ctx, elements, out) => {
  const w = ctx.window() as TimeWindow
  const values = [...elements].map((e) => (Array.isArray(e) ? e[1] : e)).sort()
  out.collect(`${String(key)} [${w.start},${w.end}) ${values.join('+')}`)
}

for (const backend of ['hashmap', 'lmdb'] as const) {
  for (const general of [false, true]) {
    describe(`tumbling and sliding windows (${backend}, ${general ? 'general' : 'sliced'} path)`, () => {
      test('tumbling event-time windows: out-of-order elements, results at the watermark with maxTimestamp', () => {
        const h = windowHarness({ assigner: TumblingEventTimeWindows.of(3000), contents: reduce }, { backend }, general).open()
        h.processElement(['k2', 1], 3999)
        h.processElement(['k2', 1], 3000)
        h.processElement(['k1', 1], 20)
        h.processElement(['k1', 1], 0)
        h.processElement(['k1', 1], 999)
        h.processElement(['k2', 1], 1998)
        h.processElement(['k2', 1], 1999)
        h.processElement(['k2', 1], 1000)
        h.processWatermark(999)
        assert.deepEqual(emitted(h), [])
        h.processWatermark(2999)
        assert.deepEqual(emitted(h), ['["k1",3]@2999', '["k2",3]@2999'])
        h.clearOutput()
        h.processWatermark(5999)
        assert.deepEqual(emitted(h), ['["k2",2]@5999'])
        assert.deepEqual(h.watermarks(), [5999])
        h.close()
      })

      test('sliding event-time windows (size 3 s, slide 1 s) count each element in every window it belongs to', () => {
        const h = windowHarness({ assigner: SlidingEventTimeWindows.of(3000, 1000), contents: countAgg }, { backend }, general).open()
        for (const ts of [3999, 3000, 20, 0, 999, 1998, 1999, 1000]) h.processElement(['k', 1], ts)
        h.processWatermark(999)
        assert.deepEqual(emitted(h), ['3@999'], 'window [-2000, 1000) has 0, 20, 999')
        h.clearOutput()
        h.processWatermark(1999)
        assert.deepEqual(emitted(h), ['6@1999'])
        h.clearOutput()
        h.processWatermark(2999)
        assert.deepEqual(emitted(h), ['6@2999'])
        h.clearOutput()
        h.processWatermark(3999)
        assert.deepEqual(emitted(h), ['5@3999'], '[1000, 4000): 1000, 1998, 1999, 3000, 3999')
        h.clearOutput()
        h.processWatermark(10_000)
        assert.deepEqual(emitted(h), ['2@4999', '2@5999'])
        h.close()
      })

      if (!general) {
        test('sliced event-time windows keep no timer per key and window, and fire each window once per key', () => {
          const h = windowHarness({ assigner: SlidingEventTimeWindows.of(3000, 1000), contents: countAgg, allowedLateness: 1000 }, { backend }).open()
          for (const k of ['a', 'b', 'c']) for (const ts of [100, 1100, 2100]) h.processElement([k, 1], ts)
          assert.equal(h.timers.numEventTimeTimers(), 0)
          h.processWatermark(1999)
          assert.deepEqual(emitted(h), ['1@999', '1@999', '1@999', '2@1999', '2@1999', '2@1999'])
          h.clearOutput()
          // The same watermark again, and a late element: only its window within the lateness fires
          // again ([-2000, 1000) is past it: 999 + 1000 <= 1999).
          h.processWatermark(1999)
          h.processElement(['a', 1], 900)
          assert.deepEqual(emitted(h), ['3@1999'])
          h.clearOutput()
          h.processWatermark(100_000)
          assert.deepEqual(emitted(h), ['1@4999', '1@4999', '1@4999', '2@3999', '2@3999', '2@3999', '3@2999', '3@2999', '4@2999'])
          h.close()
        })
      }

      test('late elements: dropped without lateness, or to the late-data side output', () => {
        const h = windowHarness({ assigner: TumblingEventTimeWindows.of(2000), contents: reduce, lateDataTag: 'late' }, { backend }, general).open()
        h.processElement(['k', 1], 500)
        h.processWatermark(1999)
        h.processElement(['k', 7], 1500)
        assert.deepEqual(emitted(h), ['["k",1]@1999'])
        assert.deepEqual(h.sideOutput('late'), [['k', 7]])
        h.close()
      })

      test('allowed lateness: a late element updates the fired window; after the lateness it is late data', () => {
        const h = windowHarness({ assigner: TumblingEventTimeWindows.of(2000), contents: reduce, allowedLateness: 1000, lateDataTag: 'late' }, { backend }, general).open()
        h.processElement(['k', 1], 500)
        h.processWatermark(1999)
        assert.deepEqual(emitted(h), ['["k",1]@1999'])
        h.clearOutput()
        h.processElement(['k', 2], 1000) // within lateness: fires again with the update
        assert.deepEqual(emitted(h), ['["k",3]@1999'])
        h.clearOutput()
        h.processWatermark(2999) // lateness over: window state cleaned up
        h.processElement(['k', 5], 1200)
        assert.deepEqual(emitted(h), [])
        assert.deepEqual(h.sideOutput('late'), [['k', 5]])
        h.close()
      })
    })
  }

  describe(`session, count, evictor and continuous windows (${backend})`, () => {
    test('session windows merge when a new element bridges them; the merged session fires once', () => {
      const h = windowHarness({ assigner: EventTimeSessionWindows.withGap(3000), contents: listAll, windowFunction: describeWindow as never }, { backend }).open()
      h.processElement(['a', 1], 0)
      h.processElement(['a', 2], 1000)
      h.processElement(['a', 3], 6000) // a new session [6000, 9000)
      h.processElement(['b', 1], 2500)
      h.processWatermark(3500)
      assert.deepEqual(h.records(true), [], 'b [2500, 5500) is still open')
      h.processElement(['a', 4], 3500) // [3500, 6500) bridges [0, 4000) and [6000, 9000)
      h.processWatermark(20_000)
      assert.deepEqual(h.records().sort(), ['a [0,9000) 1+2+3+4', 'b [2500,5500) 1'].sort())
      h.close()
    })

    test('session windows with allowed lateness: a late element merges into a fired session and fires it again', () => {
      const h = windowHarness({ assigner: EventTimeSessionWindows.withGap(1000), contents: countAgg, allowedLateness: 5000 }, { backend }).open()
      h.processElement(['a', 1], 0)
      h.processWatermark(1500)
      assert.deepEqual(emitted(h), ['1@999'])
      h.clearOutput()
      h.processElement(['a', 1], 500) // late but within lateness: session [0, 1500)
      assert.deepEqual(emitted(h), ['2@1499'])
      h.close()
    })

    test('dynamic gaps decide each element\'s session length', () => {
      const h = windowHarness({ assigner: EventTimeSessionWindows.withDynamicGap((p: Pair) => p[1] * 1000) as never, contents: countAgg }, { backend }).open()
      h.processElement(['a', 1], 0) // [0, 1000)
      h.processElement(['a', 5], 1500) // [1500, 6500)
      h.processWatermark(10_000)
      assert.deepEqual(emitted(h), ['1@6499', '1@999'])
      h.close()
    })

    test('count windows: PurgingTrigger(CountTrigger(3)) fires every 3 elements per key and purges', () => {
      const h = windowHarness({ assigner: GlobalWindows.create() as never, trigger: PurgingTrigger.of(CountTrigger.of(3)) as never, contents: reduce }, { backend }).open()
      for (let i = 1; i <= 7; i++) h.processElement(['k', i])
      assert.deepEqual(h.records(), [['k', 6], ['k', 15]])
      h.close()
    })

    test('CountTrigger without purging fires every 2 elements over everything so far', () => {
      const h = windowHarness({ assigner: GlobalWindows.create() as never, trigger: CountTrigger.of(2) as never, contents: reduce }, { backend }).open()
      for (let i = 1; i <= 5; i++) h.processElement(['k', i])
      assert.deepEqual(h.records(), [['k', 3], ['k', 10]])
      h.close()
    })

    test('countWindow(3, 1): CountEvictor keeps the last 3 elements, CountTrigger fires on each', () => {
      const h = windowHarness({ assigner: GlobalWindows.create() as never, trigger: CountTrigger.of(1) as never, evictor: CountEvictor.of(3) as never, contents: reduce }, { backend }).open()
      for (let i = 1; i <= 5; i++) h.processElement(['k', i])
      assert.deepEqual(h.records().map((r) => (r as Pair)[1]), [1, 3, 6, 9, 12])
      h.close()
    })

    test('TimeEvictor keeps the elements within 1 s of the newest', () => {
      const h = windowHarness({ assigner: TumblingEventTimeWindows.of(10_000), evictor: TimeEvictor.of(1000) as never, contents: listAll, windowFunction: describeWindow as never }, { backend }).open()
      for (const [v, ts] of [[1, 100], [2, 2000], [3, 2500], [4, 3000]]) h.processElement(['k', v!], ts)
      h.processWatermark(9999)
      assert.deepEqual(h.records(), ['k [0,10000) 3+4'])
      h.close()
    })

    test('ContinuousEventTimeTrigger fires every second of event time and at the end of the window', () => {
      const h = windowHarness({ assigner: TumblingEventTimeWindows.of(5000), trigger: ContinuousEventTimeTrigger.of(1000) as never, contents: countAgg }, { backend }).open()
      h.processElement(['k', 1], 100)
      h.processElement(['k', 1], 1500)
      h.processWatermark(1000)
      assert.deepEqual(h.records(true), [2])
      h.processElement(['k', 1], 2100)
      h.processWatermark(2000)
      assert.deepEqual(h.records(true), [3])
      h.processWatermark(5000)
      assert.deepEqual(h.records(true), [3, 3, 3], 'at 3000, 4000 and the end of the window (4999)')
      h.close()
    })

    test('reduce with a ProcessWindowFunction: windowState is per window, globalState per key', () => {
      const counter = new ValueStateDescriptor<number>('firings', 0)
      const fn: ProcessWindowFunction<Pair, string, string, TimeWindow> = {
        process(key, ctx, elements, out) {
          const ws = ctx.windowState().getState(counter)
          const gs = ctx.globalState().getState(counter)
          ws.update(ws.value() + 1)
          gs.update(gs.value() + 1)
          out.collect(`${key} ${ctx.window().start} sum=${[...elements][0]![1]} window-firings=${ws.value()} key-firings=${gs.value()}`)
        },
      }
      const h = windowHarness({ assigner: TumblingEventTimeWindows.of(1000), contents: reduce, allowedLateness: 5000, windowFunction: fn as never }, { backend }).open()
      h.processElement(['k', 1], 10)
      h.processWatermark(999)
      h.processElement(['k', 1], 20) // late firing of [0, 1000)
      h.processElement(['k', 1], 1500)
      h.processWatermark(1999)
      assert.deepEqual(h.records(), [
        'k 0 sum=1 window-firings=1 key-firings=1',
        'k 0 sum=2 window-firings=2 key-firings=2',
        'k 1000 sum=1 window-firings=1 key-firings=3',
      ])
      h.close()
    })

    test('processing-time tumbling windows fire when processing time passes their end', () => {
      const h = windowHarness({ assigner: TumblingProcessingTimeWindows.of(1000), contents: reduce }, { backend, processingTime: 100 }).open()
      h.processElement(['k', 1])
      h.processElement(['k', 2])
      h.setProcessingTime(998)
      assert.deepEqual(h.records(), [])
      h.setProcessingTime(999)
      assert.deepEqual(h.records(), [['k', 3]])
      h.close()
    })
  })
}

test('a record without a timestamp in an event-time window is refused with advice', () => {
  const h = windowHarness({ assigner: TumblingEventTimeWindows.of(1000), contents: reduce }).open()
  assert.throws(() => h.processElement(['k', 1]), /no timestamp.*assignTimestampsAndWatermarks/)
  const g = windowHarness({ assigner: TumblingEventTimeWindows.of(1000), trigger: EventTimeTrigger.create() as never, contents: reduce }).open()
  assert.throws(() => g.processElement(['k', 1]), /no timestamp/)
})

// The final watermark is Infinity; once every slice was dropped, the index's first slice is
// Infinity as well, and was taken for one more slice past its lateness (a TypeError at the end
// of every bounded job with a sliced window and allowed lateness).
test('a sliced window with allowed lateness ends at the final watermark after its slices are dropped', () => {
  const h = windowHarness({ assigner: SlidingEventTimeWindows.of(1000, 500), allowedLateness: 300, contents: reduce }).open()
  h.processElement(['a', 1], 100)
  h.processWatermark(2000)
  h.processElement(['a', 2], 1800)
  h.processWatermark(Infinity)
  assert.deepEqual(emitted(h), ['["a",1]@499', '["a",1]@999', '["a",2]@1999', '["a",2]@2499'])
})
