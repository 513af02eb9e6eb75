// Windows survive a restore from a snapshot taken mid-window and a rescale 2 -> 3 -> 1 through
// savepoints (canonical snapshots, split by key group), on both backends: contents, trigger
// state, session merging sets and timers are all keyed state. The results equal an
// uninterrupted run's.

import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { windowHarness, emitted, sumPairs, byKey, type Pair } from './window-harness.ts'
import { TumblingEventTimeWindows, SlidingEventTimeWindows, EventTimeSessionWindows, GlobalWindows } from '../../../src/api/windowing/assigners.ts'
import { CountTrigger } from '../../../src/api/windowing/triggers.ts'
import type { HarnessSnapshot } from '../../../src/testing/operator-harness.ts'
import type { WindowSpec } from '../../../src/operators/window/window-spec.ts'
import { assignToKeyGroup, operatorIndexForKeyGroup } from '../../../src/state/key-groups.ts'
import { MapStateDescriptor } from '../../../src/api/state.ts'

const MAX_P = 16
const reduce = { kind: 'reduce' as const, reduce: sumPairs as (a: unknown, b: unknown) => unknown }
const KEYS = Array.from({ length: 12 }, (_, i) => `key${i}`)

type Spec = Partial<WindowSpec> & Pick<WindowSpec, 'assigner' | 'contents'>
const SPECS: Array<[string, Spec]> = [
  ['tumbling (sliced)', { assigner: TumblingEventTimeWindows.of(1000), contents: reduce }],
  ['sliding (sliced)', { assigner: SlidingEventTimeWindows.of(3000, 1000), contents: reduce }],
  ['sliding with allowed lateness (sliced, late firings after a restore)', { assigner: SlidingEventTimeWindows.of(3000, 1000), contents: reduce, allowedLateness: 1000 }],
  ['tumbling with allowed lateness (sliced)', { assigner: TumblingEventTimeWindows.of(1000), contents: reduce, allowedLateness: 1000 }],
  ['sessions (merging set)', { assigner: EventTimeSessionWindows.withGap(700), contents: reduce }],
  ['count trigger (trigger state)', { assigner: GlobalWindows.create() as never, trigger: CountTrigger.of(4) as never, contents: reduce }],
]

/** Element i of phase `phase`: every key gets elements spread over event time. */
function phaseInput(phase: number): Array<[Pair, number]> {
  const out: Array<[Pair, number]> = []
  for (let i = 0; i < 30; i++) {
    const key = KEYS[(i * 7 + phase) % KEYS.length]!
    out.push([[key, 1 + (i % 3)], phase * 1500 + i * 50])
    // Some behind the previous phase's watermark: late, for some windows within the lateness.
    if (phase > 0 && i % 6 === 0) out.push([[key, 10], phase * 1500 - 700 + i * 10])
  }
  return out
}
const WATERMARKS = [1400, 2900, 100_000]

function feed(h: ReturnType<typeof windowHarness>, phase: number): void {
  // A restored job starts without a watermark (as in Flink) until its input sends one again:
  // the previous phase's, so that the windows it passed must not fire a second time.
  if (phase > 0) h.processWatermark(WATERMARKS[phase - 1]!)
  for (const [v, ts] of phaseInput(phase)) {
    const owner = operatorIndexForKeyGroup(MAX_P, (h as unknown as { options: { parallelism?: number } }).options.parallelism ?? 1, assignToKeyGroup(byKey(v), MAX_P))
    if (owner === ((h as unknown as { options: { subtaskIndex?: number } }).options.subtaskIndex ?? 0)) h.processElement(v, ts)
  }
  h.processWatermark(WATERMARKS[phase]!)
}

for (const backend of ['hashmap', 'lmdb'] as const) {
  describe(`window restore and rescale (${backend})`, () => {
    for (const [name, spec] of SPECS) {
      test(`${name}: restored mid-window and rescaled 2 -> 3 -> 1, the results equal an uninterrupted run`, async () => {
        const reference = windowHarness(spec, { backend: 'hashmap', maxParallelism: MAX_P }).open()
        for (let phase = 0; phase < 3; phase++) feed(reference, phase)
        const expected = emitted(reference)
        reference.close()
        assert.ok(expected.length > 5, 'the reference run emits results')

        const results: string[] = []
        let snapshots: HarnessSnapshot[] = []
        const parallelisms = [2, 3, 1]
        for (let phase = 0; phase < 3; phase++) {
          const p = parallelisms[phase]!
          const next: HarnessSnapshot[] = []
          for (let i = 0; i < p; i++) {
            const h = windowHarness(spec, { backend, maxParallelism: MAX_P, parallelism: p, subtaskIndex: i }).open(snapshots)
            feed(h, phase)
            results.push(...emitted(h))
            next.push(await h.snapshot({ savepoint: true }))
            h.close()
          }
          snapshots = next
        }
        assert.deepEqual(results.sort(), expected)
      })
    }

    test('an incremental (non-savepoint) snapshot restores at the same parallelism mid-window', async () => {
      const spec = SPECS.find(([name]) => name.startsWith('sessions'))![1]
      const h = windowHarness(spec, { backend, maxParallelism: MAX_P }).open()
      h.processElement(['a', 1], 0)
      h.processElement(['a', 2], 500)
      const snap = await h.snapshot({ savepoint: false })
      h.close()
      const r = windowHarness(spec, { backend, maxParallelism: MAX_P }).open([snap])
      r.processElement(['a', 4], 1000) // merges into the restored session [0, 1200)
      r.processWatermark(10_000)
      assert.deepEqual(emitted(r), ['["a",7]@1699'])
      r.close()
    })
  })
}

test('sliced windows restore state written with one timer per window (before the slice index): only the pending windows fire', async () => {
  const spec: Spec = { assigner: SlidingEventTimeWindows.of(3000, 1000), contents: { kind: 'aggregate', aggregate: { createAccumulator: () => 0, add: (_v: unknown, n: number) => n + 1, getResult: (n: number) => n, merge: (a: number, b: number) => a + b } as never } }
  // What that version held after two elements in [0, 1000), one in [1000, 2000) and watermark 999:
  // window [-2000, 1000) fired, the timers of windows ending 2000, 3000 and 4000 pending.
  const old = windowHarness(spec).open()
  old.backend.setCurrentKey('a')
  const slices = old.backend.getState(new MapStateDescriptor<number, number>('window-slices'))
  slices.put(1000, 2)
  slices.put(2000, 1)
  for (const end of [2000, 3000, 4000]) old.timers.registerEventTimeTimer(end - 1, String(end))
  const snapshot = await old.snapshot({ savepoint: true })
  old.close()
  const h = windowHarness(spec).open([snapshot])
  h.processWatermark(999)
  assert.deepEqual(emitted(h), [], 'window [-2000, 1000) fired before the snapshot')
  h.processWatermark(100_000)
  assert.deepEqual(emitted(h), ['1@3999', '3@1999', '3@2999'])
  h.close()
})
