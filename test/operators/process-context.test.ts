// The context of a ProcessFunction on a non-keyed stream: the record's timestamp, side outputs,
// the clocks (currentWatermark follows the operator's input watermark), and timers refused with
// advice, as in Flink.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ProcessOperator } from '../../src/operators/process.ts'
import type { OperatorContext, Output } from '../../src/operators/operator.ts'
import { OutputTag } from '../../src/api/output-tag.ts'
import { isWeirError } from '../../src/errors.ts'

test('a non-keyed ProcessFunction sees timestamps, side outputs and the watermark, and cannot set timers', () => {
  const tag = new OutputTag<string>('side')
  const seen: string[] = []
  const op = new ProcessOperator<number, string>({
    processElement(v, ctx, out) {
      seen.push(`${v} ts=${ctx.timestamp()} wm=${ctx.timerService().currentWatermark()}`)
      ctx.output(tag, `side ${v}`)
      out.collect(`main ${v}`)
      if (v === 3) ctx.timerService().registerEventTimeTimer(10)
    },
  })
  const time = { value: -Infinity }
  const emitted: string[] = []
  const output: Output<string> = {
    collect: (r) => emitted.push(r),
    emitWatermark: (t) => emitted.push(`wm ${t}`),
    emitWatermarkStatus: () => {},
    collectSide: (id, r) => emitted.push(`${id}:${String(r)}`),
  }
  const ctx = {
    location: { jobName: 'j', operatorName: 'p', uid: 'u', subtaskIndex: 0, parallelism: 1, attempt: 0 },
    checkpointing: false, runtimeContext: {} as OperatorContext['runtimeContext'], keyedBackend: null, timerService: null, internalTimers: null,
    time, autoWatermarkInterval: 0, post: (action: () => void) => action(),
  } satisfies OperatorContext
  op.setup(ctx, output)
  op.open()
  op.processElement(1)
  time.value = 42
  op.processWatermark(40)
  op.processElement(2)
  assert.deepEqual(seen, ['1 ts=null wm=-Infinity', '2 ts=42 wm=40'])
  assert.deepEqual(emitted, ['side:side 1', 'main 1', 'wm 40', 'side:side 2', 'main 2'])
  assert.throws(() => op.processElement(3), (e) => isWeirError(e) && /timers are only available on keyed streams: call keyBy/.test(e.message))
})
