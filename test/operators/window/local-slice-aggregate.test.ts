// Two-phase window aggregation: the local phase (LocalSliceAggregateOperator) combines elements
// per key and slice before the exchange and flushes before every watermark, idleness change,
// barrier and the end of input; the window (SlicedWindowOperator with partials) merges the
// partials. The results must be those of the one-phase window on the same input, also out of
// order, with late elements and allowed lateness. The plan: the local phase chains to the
// keyBy's input, and pipeline.window.local-aggregation false (or no merge) keeps one phase.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { KeyedOperatorHarness } from '../../../src/testing/operator-harness.ts'
import { LocalSliceAggregateOperator, partialKey, MAX_ENTRIES, type SlicePartial } from '../../../src/operators/window/local-slice-aggregate.ts'
import { SlicedWindowOperator } from '../../../src/operators/window/sliced-window-operator.ts'
import type { WindowSpec } from '../../../src/operators/window/window-spec.ts'
import { SlidingEventTimeWindows, TumblingEventTimeWindows } from '../../../src/api/windowing/assigners.ts'
import { windowHarness, emitted, byKey, sumPairs, type Pair } from './window-harness.ts'
import { StreamEnvironment } from '../../../src/api/environment.ts'
import { Configuration } from '../../../src/config/configuration.ts'
import { buildJobGraph } from '../../../src/graph/job-graph.ts'
import { WatermarkStrategy } from '../../../src/api/watermark.ts'

const count = { createAccumulator: () => 0, add: (_p: unknown, n: number) => n + 1, getResult: (n: number) => n, merge: (a: number, b: number) => a + b }
const countUnmergeable = { createAccumulator: () => 0, add: (_p: unknown, n: number) => n + 1, getResult: (n: number) => n }

function spec(over: Partial<WindowSpec> & Pick<WindowSpec, 'assigner' | 'contents'>): WindowSpec {
  return { trigger: null, evictor: null, allowedLateness: 0, lateDataTag: null, windowFunction: null, allWindows: false, keySelector: byKey as (v: unknown) => unknown, ...over }
}

type Step = ['e', Pair, number] | ['w', number]

/** The same steps through one phase, and through local -> window; returns both emitted lists and the partials sent. */
function bothWays(s: WindowSpec, steps: Step[]) {
  const one = windowHarness(s).open()
  const local = new KeyedOperatorHarness<Pair, SlicePartial>(new LocalSliceAggregateOperator(s), byKey).open()
  const global = new KeyedOperatorHarness<SlicePartial>(new SlicedWindowOperator(s, { partials: true }), partialKey as (p: SlicePartial) => unknown).open()
  let partials = 0
  const forward = () => {
    for (const e of local.output.splice(0)) {
      if (e.kind === 'record') {
        partials++
        global.processElement(e.value as SlicePartial, e.timestamp!)
      } else if (e.kind === 'watermark') global.processWatermark(e.time)
    }
  }
  for (const step of steps) {
    if (step[0] === 'e') {
      one.processElement(step[1], step[2])
      local.processElement(step[1], step[2])
    } else {
      one.processWatermark(step[1])
      local.processWatermark(step[1])
    }
    forward()
  }
  return { one: emitted(one), two: emitted(global as unknown as KeyedOperatorHarness<Pair>), partials, local, forward }
}

test('sliding counts: partials per key and slice give the one-phase results, with far fewer records crossing', () => {
  const s = spec({ assigner: SlidingEventTimeWindows.of(1000, 250), contents: { kind: 'aggregate', aggregate: count } })
  const steps: Step[] = []
  let elements = 0
  for (let t = 0; t < 5000; t += 7) {
    // Out of order by up to 300 ms, three keys.
    const ts = t - ((t * 13) % 300)
    steps.push(['e', [`k${t % 3}`, 1], ts])
    elements++
    if (t % 700 === 0) steps.push(['w', t - 300])
  }
  steps.push(['w', Infinity])
  const r = bothWays(s, steps)
  assert.ok(r.one.length > 0)
  assert.deepEqual(r.two, r.one)
  assert.ok(r.partials * 5 < elements, `${r.partials} partials for ${elements} elements`)
})

test('late elements are dropped alike, and allowed lateness fires the same late updates', () => {
  for (const lateness of [0, 500]) {
    const s = spec({ assigner: TumblingEventTimeWindows.of(1000), allowedLateness: lateness, contents: { kind: 'reduce', reduce: sumPairs as (a: unknown, b: unknown) => unknown } })
    const r = bothWays(s, [
      ['e', ['a', 1], 100], ['e', ['a', 2], 900], ['e', ['b', 5], 1500],
      ['w', 1200],
      // Late for [0, 1000): dropped without lateness, a late firing with 500 ms of it.
      ['e', ['a', 10], 500], ['e', ['b', 1], 1999],
      ['w', 1600],
      // Past the lateness as well.
      ['e', ['a', 100], 50],
      ['w', Infinity],
    ])
    assert.deepEqual(r.two, r.one, `lateness ${lateness}`)
    assert.ok(r.one.some((l) => l.startsWith('["a",13]')) === (lateness > 0), 'the late element updates the window only within the lateness')
  }
})

test('the buffer goes out before each watermark and barrier, with the slice\'s last millisecond as its timestamp', () => {
  const s = spec({ assigner: SlidingEventTimeWindows.of(1000, 500), contents: { kind: 'aggregate', aggregate: count } })
  const local = new KeyedOperatorHarness<Pair, SlicePartial>(new LocalSliceAggregateOperator(s), byKey).open()
  local.processElement(['a', 1], 10)
  local.processElement(['a', 1], 20)
  local.processElement(['b', 1], 600)
  assert.deepEqual(local.output, [], 'nothing leaves before a watermark, barrier or the end')
  local.processWatermark(5)
  assert.deepEqual(local.output, [
    { kind: 'record', value: ['a', 2], timestamp: 499 },
    { kind: 'record', value: ['b', 1], timestamp: 999 },
    { kind: 'watermark', time: 5 },
  ])
  local.clearOutput()
  local.processElement(['a', 1], 30)
  local.operator.prepareSnapshot!(1, 0)
  assert.deepEqual(local.records(true), [['a', 1]], 'a checkpoint flushes first: its barrier follows the partials')
  local.processElement(['c', 1], 40)
  local.endInput()
  assert.deepEqual(local.records(true), [['c', 1]])
})

test('a full buffer is flushed without waiting for a watermark; keys that are not primitives go on alone', () => {
  const s = spec({ assigner: TumblingEventTimeWindows.of(1000), contents: { kind: 'aggregate', aggregate: count }, keySelector: (p) => (p as Pair)[0] })
  const local = new KeyedOperatorHarness<Pair, SlicePartial>(new LocalSliceAggregateOperator(s), byKey).open()
  for (let i = 0; i < MAX_ENTRIES; i++) local.processElement([`k${i}`, 1], 1)
  assert.equal(local.records().length, MAX_ENTRIES)
  const objects = spec({ assigner: TumblingEventTimeWindows.of(1000), contents: { kind: 'aggregate', aggregate: count }, keySelector: (p) => [(p as Pair)[0]] })
  const byArray = new KeyedOperatorHarness<Pair, SlicePartial>(new LocalSliceAggregateOperator(objects), byKey).open()
  byArray.processElement(['a', 1], 1)
  byArray.processElement(['a', 1], 2)
  assert.deepEqual(byArray.records(), [[['a'], 1], [['a'], 1]])
})

function windowJob(config: Record<string, string | number | boolean>, withMerge = true) {
  const e = new StreamEnvironment([], new Configuration({ 'parallelism.default': 2, ...config } as Record<string, string | number>))
  e.fromSequence(1, 100)
    .assignTimestampsAndWatermarks(WatermarkStrategy.forMonotonousTimestamps<number>().withTimestampAssigner((x) => x))
    .keyBy((x) => x % 3)
    .window(SlidingEventTimeWindows.of(10, 5))
    .aggregate(withMerge ? count : countUnmergeable)
    .print()
  return buildJobGraph(e.transformations, { defaultParallelism: 2, maxParallelism: -1, chaining: true })
}

test('the plan: the local phase chains to the keyBy\'s input, the window takes the partials by hash; off, or without merge, one phase', () => {
  const names = (g: ReturnType<typeof windowJob>) => g.vertices.map((v) => v.operators.map((o) => o.name.replace(/\(.*\)/, '')))
  const on = windowJob({})
  assert.deepEqual(names(on), [['Sequence Source', 'Timestamps/Watermarks', 'LocalWindowAggregate'], ['Window', 'Print to Std. Out']])
  assert.deepEqual(on.edges.map((x) => x.partitioner.type), ['hash'])
  assert.deepEqual(on.vertices.map((v) => v.parallelism), [2, 2])
  const off = windowJob({ 'pipeline.window.local-aggregation': 'false' })
  assert.deepEqual(names(off), [['Sequence Source', 'Timestamps/Watermarks'], ['Window', 'Print to Std. Out']])
  assert.deepEqual(names(windowJob({}, false)), names(off))
})

test('the local phase takes its input\'s parallelism, also when the job\'s default differs', () => {
  const e = new StreamEnvironment([], new Configuration({ 'parallelism.default': 2 }))
  const src = e.fromSequence(1, 100)
  src.map((x) => x).setParallelism(3)
    .assignTimestampsAndWatermarks(WatermarkStrategy.forMonotonousTimestamps<number>().withTimestampAssigner((x) => x)).setParallelism(3)
    .keyBy((x) => x % 3).window(TumblingEventTimeWindows.of(10)).aggregate(count).print()
  const g = buildJobGraph(e.transformations, { defaultParallelism: 2, maxParallelism: -1, chaining: true })
  const local = g.vertices.find((v) => v.operators.some((o) => o.name.startsWith('LocalWindowAggregate')))!
  assert.equal(local.parallelism, 3)
  assert.equal(local.operators[0]!.name, 'Map', 'chained to its input')
})
