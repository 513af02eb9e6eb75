// The source's output: records and the watermarks generated for them reach the chain in Flink's
// order (the record, then what the generator emitted on it), per split, as the minimum over splits.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { SourceOutputs } from '../../../src/runtime/taskmanager/source-output.ts'
import { WatermarkStrategy } from '../../../src/api/watermark.ts'
import type { Output } from '../../../src/operators/operator.ts'
import { NO_TIMESTAMP } from '../../../src/runtime/network/events.ts'

/** A chain that writes down what reaches it, records with the timestamp they carry. */
function recordingChain(time: { value: number }): { chain: Output<unknown>; seen: string[] } {
  const seen: string[] = []
  const chain: Output<unknown> = {
    collect: (r) => void seen.push(`record ${String(r)}@${time.value}`),
    emitWatermark: (t) => void seen.push(`watermark ${t}`),
    emitWatermarkStatus: (idle) => void seen.push(idle ? 'idle' : 'active'),
    collectSide() {},
  }
  return { chain, seen }
}

/** Punctuated: every event says that nothing at or before its time follows. */
const punctuated = WatermarkStrategy.forGenerator<number>(() => ({
  onEvent: (_e, ts, out) => out.emitWatermark(ts),
  onPeriodicEmit() {},
}))

test('a watermark a generator emits on an event goes out after that event, never ahead of it', () => {
  const time = { value: NO_TIMESTAMP }
  const { chain, seen } = recordingChain(time)
  const out = new SourceOutputs(chain, time, punctuated as WatermarkStrategy<unknown>, 0)
  out.collect(1, 10)
  out.collect(2, 20)
  assert.deepEqual(seen, ['record 1@10', 'watermark 10', 'record 2@20', 'watermark 20'])
})

test('with split outputs the watermark is the minimum over the splits, each after the event that moved it', () => {
  const time = { value: NO_TIMESTAMP }
  const { chain, seen } = recordingChain(time)
  const out = new SourceOutputs(chain, time, punctuated as WatermarkStrategy<unknown>, 0)
  const a = out.createOutputForSplit('a')
  const b = out.createOutputForSplit('b')
  a.collect(1, 10)
  b.collect(2, 5)
  a.collect(3, 30)
  b.collect(4, 25)
  assert.deepEqual(seen, ['record 1@10', 'record 2@5', 'watermark 5', 'record 3@30', 'record 4@25', 'watermark 25'])
})
