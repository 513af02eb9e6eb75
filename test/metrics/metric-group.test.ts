// The user metrics API: counters, gauges, histograms and meters, and their samples.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { OperatorMetricGroup } from '../../src/metrics/metric-group.ts'
import type { UserMetricSample } from '../../src/metrics/task-metrics-sample.ts'

test('each kind of metric reports its value; registering a name twice returns the first metric', () => {
  const g = new OperatorMetricGroup('Map')
  const c = g.counter('seen')
  c.inc()
  c.inc(4)
  c.dec()
  assert.equal(g.counter('seen'), c)
  let value = 7
  g.gauge('last', () => value)
  g.gauge('fixed', { getValue: () => 3 })
  const h = g.histogram('latency', 4)
  for (const v of [10, 1, 2, 3, 4]) h.update(v) // the window keeps the last 4
  const m = g.meter('rate')
  m.markEvent(10)
  const out: UserMetricSample[] = []
  g.sample(0, out)
  m.markEvent(20)
  value = 9
  const later: UserMetricSample[] = []
  g.sample(2000, later)
  const byName = new Map(later.map((s) => [s.name, s]))
  assert.deepEqual(byName.get('seen'), { kind: 'counter', operator: 'Map', name: 'seen', count: 4 })
  assert.equal((byName.get('last') as { value: number }).value, 9)
  assert.equal((byName.get('fixed') as { value: number }).value, 3)
  const stats = (byName.get('latency') as { stats: { count: number; min: number; max: number; p50: number } }).stats
  assert.equal(stats.count, 5)
  assert.equal(stats.min, 1)
  assert.equal(stats.max, 4)
  assert.equal(stats.p50, 2)
  const meter = byName.get('rate') as { count: number; rate: number }
  assert.equal(meter.count, 30)
  assert.equal(meter.rate, 10, '20 events in 2 s')
})

test('bad names and a name reused for another kind are refused with the operator named', () => {
  const g = new OperatorMetricGroup('Map')
  assert.throws(() => g.counter('has space'), /metric name 'has space' in 'Map' is not valid/)
  g.counter('x')
  assert.throws(() => g.meter('x'), /metric 'x' in 'Map' is already a counter/)
  assert.throws(() => g.gauge('y', 5 as never), /gauge 'y' in 'Map': pass a function/)
})
