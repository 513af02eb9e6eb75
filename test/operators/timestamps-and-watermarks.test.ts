// assignTimestampsAndWatermarks: each record leaves with the assigner's timestamp, and a watermark
// the generator emits on a record follows that record (Flink's order), never overtaking it.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { TimestampsAndWatermarksOperator } from '../../src/operators/timestamps-and-watermarks.ts'
import { WatermarkStrategy } from '../../src/api/watermark.ts'
import type { OperatorContext, Output } from '../../src/operators/operator.ts'
import { MAX_WATERMARK, NO_TIMESTAMP } from '../../src/runtime/network/events.ts'

type Ev = { id: string; ts: number }

function operatorWith(strategy: WatermarkStrategy<Ev>) {
  const time = { value: NO_TIMESTAMP }
  const seen: string[] = []
  const output: Output<Ev> = {
    collect: (e) => void seen.push(`record ${e.id}@${time.value}`),
    emitWatermark: (t) => void seen.push(`watermark ${t}`),
    emitWatermarkStatus: (idle) => void seen.push(idle ? 'idle' : 'active'),
    collectSide() {},
  }
  const op = new TimestampsAndWatermarksOperator<Ev>(strategy)
  const ctx = { time, runtimeContext: { subtaskIndex: 0 }, location: { jobName: 'test', operatorName: 'Timestamps/Watermarks', uid: 'tw', subtaskIndex: 0, parallelism: 1, attempt: 0 } } as unknown as OperatorContext
  op.setup(ctx, output)
  op.open()
  const push = (e: Ev) => {
    time.value = NO_TIMESTAMP
    op.processElement(e)
  }
  return { op, seen, push }
}

test('a watermark emitted on an event goes downstream after the event', () => {
  const { seen, push } = operatorWith(WatermarkStrategy.forGenerator<Ev>(() => ({
    onEvent: (_e, ts, out) => out.emitWatermark(ts),
    onPeriodicEmit() {},
  })).withTimestampAssigner((e) => e.ts))
  push({ id: 'a', ts: 9 })
  push({ id: 'b', ts: 19 })
  assert.deepEqual(seen, ['record a@9', 'watermark 9', 'record b@19', 'watermark 19'])
})

test('periodic watermarks replace upstream ones; the final maximum watermark passes', () => {
  const { op, seen, push } = operatorWith(WatermarkStrategy.forBoundedOutOfOrderness<Ev>(5).withTimestampAssigner((e) => e.ts))
  push({ id: 'a', ts: 100 })
  op.processWatermark(50)
  op.onPeriodicWatermark()
  op.processWatermark(MAX_WATERMARK)
  assert.deepEqual(seen, ['record a@100', 'watermark 94', `watermark ${MAX_WATERMARK}`])
})
