// Back-pressure: a slow sink slows the source down, so the records in flight (emitted by the
// sources, not yet received by the sinks) stay within the credit window of the network, and
// memory stays bounded, however fast the source could go.
//
// In-flight records sit in channels: at most credits-per-channel batches of batch-records each
// per channel, plus the partly filled batch, plus what one source poll emits before the task
// notices that its writer is blocked. The metrics come from each slot every 200 ms, so a sum
// mixes snapshots apart in time; the bounds leave 2x slack for that, and the slow sinks are slow
// enough (a few thousand records/s) that even seconds between snapshots on a loaded machine stay
// within it. Each run lasts
// until the sinks received a number of records (not for a fixed time), so a loaded machine
// makes it slower, never wrong.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { fileURLToPath } from 'node:url'
import { startJob } from './live-job.ts'
import type { RawConfig } from '../../src/config/configuration.ts'
import { TEST_TIMEOUT_MS, WAIT_MS } from '../helpers/deadlines.ts'

/** A hung job fails its test instead of blocking the run. */
const T = { timeout: TEST_TIMEOUT_MS }
const job = fileURLToPath(new URL('../fixtures/jobs/slow-sink.ts', import.meta.url))

const CREDITS = 4 // taskmanager.network.credits-per-channel (default)
const BATCH = 1024 // taskmanager.network.batch-records (default)
const SOURCE_POLL = 1024 // numbers a sequence reader emits per poll

interface Samples {
  maxInFlight: number
  maxHeapUsed: number
  rssGrowth: number
  recordsOut: number
}

/**
 * Runs the slow-sink job until its sinks received `records` records after records started to
 * flow, sampling every 100 ms; then cancels it.
 */
async function sample(args: string[], config: RawConfig, records: number): Promise<Samples> {
  const live = await startJob(job, { args, config })
  let samples: Samples | null = null
  try {
    const startDeadline = Date.now() + WAIT_MS
    while (live.execution.metrics.recordsOut === 0) {
      assert.ok(Date.now() < startDeadline, `no records reached the sink within ${WAIT_MS} ms`)
      await new Promise((r) => setTimeout(r, 20))
    }
    const rssAtStart = process.memoryUsage().rss
    const s: Samples = { maxInFlight: 0, maxHeapUsed: 0, rssGrowth: 0, recordsOut: 0 }
    const deadline = Date.now() + WAIT_MS
    while (s.recordsOut < records) {
      assert.ok(Date.now() < deadline, `the sinks received only ${s.recordsOut} of ${records} records within ${WAIT_MS} ms`)
      await new Promise((r) => setTimeout(r, 100))
      const m = live.execution.metrics
      const mem = process.memoryUsage()
      s.maxInFlight = Math.max(s.maxInFlight, m.recordsIn - m.recordsOut)
      s.maxHeapUsed = Math.max(s.maxHeapUsed, mem.heapUsed)
      s.rssGrowth = Math.max(s.rssGrowth, mem.rss - rssAtStart)
      s.recordsOut = m.recordsOut
    }
    samples = s
  } finally {
    const result = await live.stop()
    assert.equal(result.status, 'CANCELED', `the job should still be running when canceled, but it ended ${result.status}: ${result.error?.message ?? ''}`)
  }
  return samples
}

function bound(channels: number, sourceSubtasks: number, credits = CREDITS): number {
  return 2 * (credits * BATCH * channels + SOURCE_POLL * sourceSubtasks)
}

const MiB = 1024 * 1024

test('a sink that busy-waits 200 µs per record holds the records in flight within the credit window', T, async () => {
  // Parallelism 2: two source subtasks, each with a channel to each of two sink subtasks.
  const s = await sample(['--micros', '200'], { 'parallelism.default': 2 }, 20_000)
  const limit = bound(2 * 2, 2)
  assert.ok(s.maxInFlight <= limit, `${s.maxInFlight} records in flight, more than ${limit}`)
  // Workers' heaps are not in process.memoryUsage().heapUsed, but rss covers the whole process.
  assert.ok(s.maxHeapUsed < 200 * MiB, `main heap grew to ${(s.maxHeapUsed / MiB).toFixed(0)} MiB`)
  assert.ok(s.rssGrowth < 200 * MiB, `rss grew by ${(s.rssGrowth / MiB).toFixed(0)} MiB while running`)
})

// A sharper setup: one source subtask in slot 0, a fast sink subtask next to it and a slow one
// in slot 1. Nothing but the credits of the channel to slot 1 can hold the source back: the
// scheduler of slot 0 always has the source to run.
const crossSlot = ['--source-parallelism', '1', '--slow-subtask', '1', '--micros', '500']

test('a slow sink in another slot slows the source down through the credits of its channel', T, async () => {
  const s = await sample(crossSlot, { 'parallelism.default': 2 }, 10_000)
  const limit = bound(2, 1)
  assert.ok(s.maxInFlight <= limit, `${s.maxInFlight} records in flight, more than ${limit}`)
  assert.ok(s.rssGrowth < 200 * MiB, `rss grew by ${(s.rssGrowth / MiB).toFixed(0)} MiB while running`)
})

test('with a larger credit window the same job holds more records in flight, so the bound above is the credits', T, async () => {
  const credits = 256
  const s = await sample(crossSlot, { 'parallelism.default': 2, 'taskmanager.network.credits-per-channel': credits }, 40_000)
  assert.ok(s.maxInFlight > bound(2, 1), `only ${s.maxInFlight} records in flight with ${credits} credits per channel`)
  assert.ok(s.maxInFlight <= bound(2, 1, credits), `${s.maxInFlight} records in flight, more than ${credits} credits allow`)
})
