// Event time end to end: timestamps through operators and channels, watermarks from sources
// and from assignTimestampsAndWatermarks, event-time timers, side outputs, the final maximum
// watermark of a bounded input, and idle inputs.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { fileURLToPath } from 'node:url'
import { runJob } from '../helpers/run-job.ts'
import { startJob } from './live-job.ts'
import { TEST_TIMEOUT_MS } from '../helpers/deadlines.ts'

const T = { timeout: TEST_TIMEOUT_MS }
const fixture = fileURLToPath(new URL('../fixtures/jobs/event-time.ts', import.meta.url))
const sorted = (xs: string[]) => [...xs].sort()

for (const mode of ['timers', 'assign']) {
  test(`${mode}: every event-time timer fires by the end of a bounded input, with timestamps carried to the next operator`, T, async () => {
    const { result, lines } = await runJob(fixture, { args: ['--mode', mode], config: { 'parallelism.default': 2 } })
    assert.equal(result.status, 'FINISHED')
    const text = lines.map((l) => l.replace(/^\d+> /, ''))
    const fired = text.filter((l) => l.startsWith('fired'))
    const seen = text.filter((l) => l.startsWith('seen'))
    const lateLines = text.filter((l) => l.startsWith('late'))
    // Every event is either seen (and has a timer at ts + 10) or late (side output).
    assert.equal(seen.length + lateLines.length, 8)
    for (const l of seen) {
      const [, , ts, stamp] = l.split(' ')
      assert.equal(stamp, `ts=${ts}`, `a record keeps its timestamp through the keyed operator: ${l}`)
    }
    for (const l of lateLines) assert.match(l, /^late [ab] \d+ ts=\d+$/)
    const timersSet = new Set(seen.map((l) => { const [, key, ts] = l.split(' '); return `${key} ${Number(ts) + 10}` }))
    assert.deepEqual(sorted(fired.map((l) => l.split(' ').slice(1, 3).join(' '))), sorted([...timersSet]))
    for (const l of fired) {
      const [, , time, , stamp] = l.split(' ')
      assert.equal(stamp, `ts=${time}`, `a timer's output carries the timer's time: ${l}`)
    }
    // 'c' has one event: its count at its timer is 1.
    assert.ok(fired.some((l) => l.startsWith('fired c 210 1')))
  })
}

test('an idle source does not hold the watermark back', T, async () => {
  const job = await startJob(fixture, { args: ['--mode', 'idle'], config: { 'parallelism.default': 1 } })
  try {
    await job.waitFor((lines) => lines.some((l) => l.includes('fired 5000')), 30_000, 'the timer at 5000 to fire')
  } finally {
    await job.stop()
  }
})

test('periodic watermarks of a chained assigner go on after the chain registers processing-time timers', T, async () => {
  // A wake-up for a processing-time timer used to stop the task's periodic watermark emission.
  const job = await startJob(fixture, { args: ['--mode', 'timers-then-assign'], config: { 'parallelism.default': 1 } })
  try {
    const lines = await job.waitFor((ls) => ls.some((l) => l.includes('fired 5000')), 30_000, 'the event-time timer at 5000 to fire')
    assert.ok(lines.some((l) => l.includes('tick 5000')), 'the timer fires on a watermark from the ticks, while the job runs')
  } finally {
    await job.stop()
  }
})

test('a source that is not idle holds the watermark back', T, async () => {
  const job = await startJob(fixture, { args: ['--mode', 'busy'], config: { 'parallelism.default': 1 } })
  try {
    // Ticks far past 5000 (and many watermark intervals) arrive; the quiet source's watermark stays at -6.
    const lines = await job.waitFor((ls) => ls.some((l) => l.includes('tick 40000')), 30_000, 'ticks up to 40000')
    assert.ok(!lines.some((l) => l.includes('fired')), 'the timer must not fire while the quiet source holds the watermark at -6')
    const v = job.execution.job.graph.vertices.find((x) => x.name.includes('Process'))!
    assert.deepEqual(job.execution.watermarks(v.id), [-6])
  } finally {
    await job.stop()
  }
})
