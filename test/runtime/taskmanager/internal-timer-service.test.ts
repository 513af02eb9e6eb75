// Event-time and processing-time timers of a KeyedProcessFunction, stored in the keyed state
// backend: firing order, deletion, the watermark the function sees, and restore / rescale by
// key group through snapshots, on both backends.

import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { KeyedProcessOperator } from '../../../src/operators/keyed-process.ts'
import { KeyedOperatorHarness, type HarnessSnapshot } from '../../../src/testing/operator-harness.ts'
import type { KeyedProcessFunction } from '../../../src/api/functions.ts'
import { OutputTag } from '../../../src/api/output-tag.ts'
import { assignToKeyGroup, operatorIndexForKeyGroup } from '../../../src/state/key-groups.ts'

type Ev = { key: string; ts: number }
const late = new OutputTag<string>('late')

/** Registers an event-time timer at ts + 10 for each event; emits key@time on firing; `cancel` events delete theirs. */
function timerFunction(): KeyedProcessFunction<string, Ev & { cancel?: boolean }, string> {
  return {
    processElement(e, ctx, out) {
      const ts = ctx.timestamp()!
      if (ts <= ctx.timerService().currentWatermark()) ctx.output(late, `${e.key}@${ts}`)
      if (e.cancel) ctx.timerService().deleteEventTimeTimer(ts + 10)
      else ctx.timerService().registerEventTimeTimer(ts + 10)
      out.collect(`in ${e.key} ${ts}`)
    },
    onTimer(time, ctx, out) {
      out.collect(`${ctx.getCurrentKey()}@${time} ${ctx.timeDomain()} ts=${ctx.timestamp()} wm=${ctx.timerService().currentWatermark()}`)
    },
  }
}

const harness = (backend: 'hashmap' | 'lmdb', p = 1, i = 0) =>
  new KeyedOperatorHarness(new KeyedProcessOperator(timerFunction(), (e: Ev) => e.key), (e: Ev) => e.key, { backend, parallelism: p, subtaskIndex: i, maxParallelism: 16 })

for (const backend of ['hashmap', 'lmdb'] as const) {
  describe(`event-time timers (${backend})`, () => {
    test('fire in time order when the watermark passes them, with the timer time as timestamp, then the watermark goes on', () => {
      const h = harness(backend).open()
      h.processElement({ key: 'a', ts: 5 }, 5)
      h.processElement({ key: 'b', ts: 1 }, 1)
      h.processElement({ key: 'a', ts: 5 }, 5) // same timer again: one firing
      h.clearOutput()
      h.processWatermark(14)
      assert.deepEqual(h.records(), ['b@11 EVENT_TIME ts=11 wm=14'])
      h.processWatermark(100)
      assert.deepEqual(h.records(), ['b@11 EVENT_TIME ts=11 wm=14', 'a@15 EVENT_TIME ts=15 wm=100'])
      assert.deepEqual(h.watermarks(), [14, 100])
      assert.equal(h.timers.numEventTimeTimers(), 0)
      h.close()
    })

    test('a deleted timer does not fire; a late record is seen as late through currentWatermark', () => {
      const h = harness(backend).open()
      h.processElement({ key: 'a', ts: 5 }, 5)
      h.processElement({ key: 'a', ts: 5, cancel: true }, 5)
      h.processWatermark(50)
      h.processElement({ key: 'a', ts: 20 }, 20)
      assert.deepEqual(h.sideOutput('late'), ['a@20'])
      assert.deepEqual(h.records().filter((r) => r.includes('@')), [])
      h.close()
    })

    test('timers are restored from a snapshot and split by key group on rescale 1 -> 2', async () => {
      const h = harness(backend).open()
      const keys = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']
      keys.forEach((k, i) => h.processElement({ key: k, ts: i }, i))
      const snap: HarnessSnapshot = await h.snapshot()
      h.close()
      const fired: string[][] = []
      for (let i = 0; i < 2; i++) {
        const r = harness(backend, 2, i).open([snap])
        r.processWatermark(1000)
        fired.push(r.records().map((s) => s.split(' ')[0]!))
        r.close()
      }
      assert.deepEqual([...fired[0]!, ...fired[1]!].sort(), keys.map((k, i) => `${k}@${i + 10}`).sort())
      for (let i = 0; i < 2; i++) {
        for (const f of fired[i]!) assert.equal(operatorIndexForKeyGroup(16, 2, assignToKeyGroup(f.split('@')[0], 16)), i, `${f} fired on its key group's owner`)
      }
    })
  })
}

test('processing-time timers live in the backend too and fire with no timestamp', async () => {
  const fn: KeyedProcessFunction<string, Ev, string> = {
    processElement(_e, ctx) {
      ctx.timerService().registerProcessingTimeTimer(ctx.timerService().currentProcessingTime() + 100)
    },
    onTimer(time, ctx, out) {
      out.collect(`${ctx.getCurrentKey()}@${time} ${ctx.timeDomain()} ts=${ctx.timestamp()}`)
    },
  }
  const h = new KeyedOperatorHarness(new KeyedProcessOperator(fn, (e: Ev) => e.key), (e: Ev) => e.key, { processingTime: 1000 }).open()
  h.processElement({ key: 'x', ts: 1 }, 1)
  const snap = await h.snapshot()
  h.close()
  const r = new KeyedOperatorHarness(new KeyedProcessOperator(fn, (e: Ev) => e.key), (e: Ev) => e.key, { processingTime: 1000 }).open([snap])
  r.setProcessingTime(1099)
  assert.deepEqual(r.records(), [])
  r.setProcessingTime(1100)
  assert.deepEqual(r.records(), ['x@1100 PROCESSING_TIME ts=null'])
  r.close()
})
