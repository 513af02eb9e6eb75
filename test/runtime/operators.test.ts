// The operators and partitionings of the DataStream API, end to end on the mini cluster, each
// through a small fixture job in test/fixtures/jobs.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { fileURLToPath } from 'node:url'
import { runJob } from '../helpers/run-job.ts'
import { startJob } from './live-job.ts'
import { TEST_TIMEOUT_MS, WAIT_MS } from '../helpers/deadlines.ts'

/** A hung job fails its test instead of blocking the run. */
const T = { timeout: TEST_TIMEOUT_MS }
const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/jobs/${name}.ts`, import.meta.url))

/** Splits a print() line into the subtask prefix (1-based, 0 without prefix) and the record text. */
function parseLine(line: string): { subtask: number; text: string } {
  const m = /^(\d+)> (.*)$/.exec(line)
  return m ? { subtask: Number(m[1]), text: m[2]! } : { subtask: 0, text: line }
}

const texts = (lines: string[]) => lines.map((l) => parseLine(l).text)
const sorted = (xs: string[]) => [...xs].sort()

test('union merges every record of its inputs exactly once', T, async () => {
  const { result, lines } = await runJob(fixture('union'), { config: { 'parallelism.default': 2 } })
  assert.equal(result.status, 'FINISHED')
  assert.deepEqual(sorted(texts(lines)), sorted(['1', '2', '3', '10', '11', '12', '13', '14', '100', '200']))
})

test('connect with a CoMap applies map1 to the first input and map2 to the second', T, async () => {
  const { result, lines } = await runJob(fixture('co-functions'), { args: ['--mode', 'map'], config: { 'parallelism.default': 2 } })
  assert.equal(result.status, 'FINISHED')
  assert.deepEqual(sorted(texts(lines)), sorted(['word:to be', 'word:or not', 'number:10', 'number:20', 'number:30']))
})

test('connect with a CoFlatMap emits what flatMap1 and flatMap2 collect', T, async () => {
  const { result, lines } = await runJob(fixture('co-functions'), { args: ['--mode', 'flatMap'], config: { 'parallelism.default': 2 } })
  assert.equal(result.status, 'FINISHED')
  assert.deepEqual(sorted(texts(lines)), sorted([
    'word:to', 'word:be', 'word:or', 'word:not',
    'number:1.1', 'number:2.1', 'number:2.2', 'number:3.1', 'number:3.2', 'number:3.3',
  ]))
})

test('a keyed KeyedCoProcessFunction shares one ValueState per key across both inputs', T, async () => {
  const { result, lines } = await runJob(fixture('keyed-co-process'), { config: { 'parallelism.default': 2 } })
  assert.equal(result.status, 'FINISHED')
  // Lines are key:total:input. Per key, totals grow with every element of either input.
  const byKey = new Map<string, { totals: number[]; inputs: Set<string>; subtasks: Set<number> }>()
  for (const line of lines) {
    const { subtask, text } = parseLine(line)
    const [key, total, input] = text.split(':')
    const entry = byKey.get(key!) ?? { totals: [], inputs: new Set(), subtasks: new Set() }
    entry.totals.push(Number(total))
    entry.inputs.add(input!)
    entry.subtasks.add(subtask)
    byKey.set(key!, entry)
  }
  assert.deepEqual([...byKey.keys()].sort(), ['a', 'b', 'c'])
  // a: 1 and 3 from input 1, 10 and 100 from input 2; b: 2 and 20; c: 5.
  assert.equal(Math.max(...byKey.get('a')!.totals), 114)
  assert.equal(Math.max(...byKey.get('b')!.totals), 22)
  assert.deepEqual(byKey.get('c')!.totals, [5])
  assert.equal(byKey.get('a')!.totals.length, 4)
  assert.equal(byKey.get('b')!.totals.length, 2)
  assert.deepEqual([...byKey.get('a')!.inputs].sort(), ['1', '2'])
  for (const [key, { totals, subtasks }] of byKey) {
    assert.deepEqual(totals, [...totals].sort((x, y) => x - y), `totals of ${key} must only grow: ${totals}`)
    assert.equal(subtasks.size, 1, `key ${key} must be handled by one subtask`)
  }
})

test('broadcast() delivers every record to every downstream subtask', T, async () => {
  const { result, lines } = await runJob(fixture('partitioning'), { args: ['--mode', 'broadcast', '--n', '50'], config: { 'parallelism.default': 2 } })
  assert.equal(result.status, 'FINISHED')
  assert.equal(lines.length, 100)
  const expected = Array.from({ length: 50 }, (_, i) => String(i + 1)).sort()
  for (const subtask of [1, 2]) {
    const got = lines.map(parseLine).filter((l) => l.subtask === subtask).map((l) => l.text)
    assert.deepEqual(sorted(got), expected, `subtask ${subtask} must see every record once`)
  }
})

test('global() sends every record to the first downstream subtask', T, async () => {
  const { result, lines } = await runJob(fixture('partitioning'), { args: ['--mode', 'global', '--source', 'sequence', '--n', '1000'], config: { 'parallelism.default': 2 } })
  assert.equal(result.status, 'FINISHED')
  assert.equal(lines.length, 1000)
  const parsed = lines.map(parseLine)
  assert.deepEqual([...new Set(parsed.map((l) => l.subtask))], [1])
  assert.equal(new Set(parsed.map((l) => l.text)).size, 1000)
})

test('rebalance() spreads records evenly over the downstream subtasks, within one record', T, async () => {
  const { result, lines } = await runJob(fixture('partitioning'), { args: ['--mode', 'rebalance', '--n', '1000'], config: { 'parallelism.default': 3 } })
  assert.equal(result.status, 'FINISHED')
  assert.equal(lines.length, 1000)
  const perSubtask = new Map<number, number>()
  for (const { subtask } of lines.map(parseLine)) perSubtask.set(subtask, (perSubtask.get(subtask) ?? 0) + 1)
  assert.deepEqual([...perSubtask.keys()].sort(), [1, 2, 3])
  const counts = [...perSubtask.values()]
  assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, `uneven: ${JSON.stringify([...perSubtask])}`)
})

test('filter keeps exactly the records its predicate accepts', T, async () => {
  const { result, lines } = await runJob(fixture('filter'), { config: { 'parallelism.default': 2 } })
  assert.equal(result.status, 'FINISHED')
  const expected = Array.from({ length: 142 }, (_, i) => String(7 * (i + 1)))
  assert.deepEqual(sorted(texts(lines)), sorted(expected))
})

interface Reading {
  sensor: string
  value: number
  seq: number
}

async function aggregate(op: string, p: number): Promise<Map<string, Reading[]>> {
  const { result, lines } = await runJob(fixture('aggregations'), { args: ['--op', op], config: { 'parallelism.default': p } })
  assert.equal(result.status, 'FINISHED', result.error?.message)
  const bySensor = new Map<string, Reading[]>()
  for (const line of lines) {
    const r = JSON.parse(parseLine(line).text) as Reading
    bySensor.set(r.sensor, [...(bySensor.get(r.sensor) ?? []), r])
  }
  return bySensor
}

// Input: a 5 (seq 1), b 7 (2), a 3 (3), a 9 (4), b 1 (5), a 4 (6). Field aggregations keep the
// other fields of the key's first record, as in Flink; reduce does what the function says.
test('sum("value") emits the running sum per key, other fields from the first record', T, async () => {
  const out = await aggregate('sum', 2)
  assert.deepEqual(out.get('a'), [5, 8, 17, 21].map((value) => ({ sensor: 'a', value, seq: 1 })))
  assert.deepEqual(out.get('b'), [7, 8].map((value) => ({ sensor: 'b', value, seq: 2 })))
})

test('min("value") emits the running minimum per key', T, async () => {
  const out = await aggregate('min', 1)
  assert.deepEqual(out.get('a')!.map((r) => r.value), [5, 3, 3, 3])
  assert.deepEqual(out.get('b')!.map((r) => r.value), [7, 1])
})

test('max("value") emits the running maximum per key', T, async () => {
  const out = await aggregate('max', 2)
  assert.deepEqual(out.get('a')!.map((r) => r.value), [5, 5, 9, 9])
  assert.deepEqual(out.get('b')!.map((r) => r.value), [7, 7])
})

test('reduce emits the rolling result of the function per key', T, async () => {
  const out = await aggregate('reduce', 2)
  assert.deepEqual(out.get('a'), [
    { sensor: 'a', value: 5, seq: 1 },
    { sensor: 'a', value: 15, seq: 3 },
    { sensor: 'a', value: 135, seq: 4 },
    { sensor: 'a', value: 540, seq: 6 },
  ])
  assert.deepEqual(out.get('b'), [{ sensor: 'b', value: 7, seq: 2 }, { sensor: 'b', value: 7, seq: 5 }])
})

test('a processing-time timer of a KeyedProcessFunction fires with its key current and its state visible', T, async () => {
  // The source stays open: a bounded job would drop pending processing-time timers at its end.
  const job = await startJob(fixture('timer'), { args: ['--delay', '300'], config: { 'parallelism.default': 2 } })
  try {
    const lines = await job.waitFor((ls) => ls.filter((l) => l.includes('timer ')).length >= 3, WAIT_MS, 'three timer firings')
    const registered = new Map<string, number>()
    const fired = new Map<string, { total: number; timestamp: number; firedAt: number }>()
    for (const { text } of lines.map(parseLine)) {
      const parts = text.split(' ')
      if (parts[0] === 'registered') registered.set(parts[1]!, Number(parts[2]))
      if (parts[0] === 'timer') fired.set(parts[1]!, { total: Number(parts[2]), timestamp: Number(parts[3]), firedAt: Number(parts[4]) })
    }
    assert.deepEqual([...fired.keys()].sort(), ['a', 'b', 'c'], 'getCurrentKey() in onTimer must name the timer key')
    assert.equal(fired.get('a')!.total, 9)
    assert.equal(fired.get('b')!.total, 2)
    assert.equal(fired.get('c')!.total, 4)
    for (const [key, f] of fired) {
      assert.equal(f.timestamp, registered.get(key), `timer of ${key} reports the time it was registered for`)
      assert.ok(f.firedAt >= f.timestamp, `timer of ${key} fired ${f.timestamp - f.firedAt} ms early`)
    }
  } finally {
    const result = await job.stop()
    assert.equal(result.status, 'CANCELED')
  }
})

test('the RuntimeContext in open() reports the subtask, the parallelism and attempt 0', T, async () => {
  const { result, lines } = await runJob(fixture('runtime-context'), { config: { 'parallelism.default': 2 } })
  assert.equal(result.status, 'FINISHED')
  const reports = lines.map((l) => JSON.parse(parseLine(l).text) as Record<string, unknown>)
  reports.sort((a, b) => (a.subtaskIndex as number) - (b.subtaskIndex as number))
  assert.deepEqual(reports, [0, 1].map((subtaskIndex) => ({
    jobName: 'ContextReport', operatorName: 'Inspector', subtaskIndex, parallelism: 2, maxParallelism: 128, attemptNumber: 0,
  })))
})

test('getState on a stream that is not keyed fails the job saying keyBy is needed', T, async () => {
  const { result } = await runJob(fixture('state-unkeyed'), { config: { 'parallelism.default': 1 } })
  assert.equal(result.status, 'FAILED')
  assert.match(result.error!.message, /keyBy/)
  assert.match(result.error!.message, /'seen'/)
  assert.match(result.error!.message, /Stateful Map/)
})

for (const mode of ['elements', 'collection']) {
  test(`from${mode === 'elements' ? 'Elements' : 'Collection'} at parallelism 1 keeps the order of its records`, T, async () => {
    const { result, lines } = await runJob(fixture('order'), { args: ['--mode', mode], config: { 'parallelism.default': 1 } })
    assert.equal(result.status, 'FINISHED')
    assert.deepEqual(lines, Array.from({ length: 3000 }, (_, i) => `item-${i}`))
  })
}
