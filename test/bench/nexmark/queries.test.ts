// Each Nexmark query (bench/nexmark/q*.ts) on a small run, against a plain single-threaded
// reference computation of the same query over the same generated events. 20,000 events at
// 1,000 events/s of event time span 20 s, so windowed queries see several windows.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { fileURLToPath } from 'node:url'
import { runJob } from '../../helpers/run-job.ts'
import { SOURCE_EXTENSION } from '../../helpers/runtime.ts'
import { startJob } from '../../runtime/live-job.ts'
import { NexmarkSource } from '../../../src/connectors/nexmark/nexmark-source.ts'
import type { NexmarkEvent } from '../../../src/connectors/nexmark/model.ts'

const EVENTS = 20_000
const RATE = 1_000
const T = { timeout: 120_000 }
const strip = (lines: string[]) => lines.map((l) => l.replace(/^\d+> /, ''))
const file = (q: string) => fileURLToPath(new URL(`../../../bench/nexmark/${q}.ts`, import.meta.url))
/** The query's module to import here: its .js beside it when the suite runs compiled (scripts/build-tests.mjs). */
const moduleFile = (q: string) => file(q).replace(/\.ts$/, SOURCE_EXTENSION)

interface QueryModule {
  reference(events: Iterable<NexmarkEvent>, ...rest: unknown[]): string[]
  finalValues?(lines: string[]): string[]
  totals?(lines: string[]): string[]
}

async function check(q: string, p: number, extraArgs: string[] = [], post: (m: QueryModule, lines: string[]) => string[] = (_m, l) => l, refArgs: unknown[] = [], config: Record<string, string | number> = {}): Promise<void> {
  const mod = (await import(moduleFile(q))) as QueryModule
  const { result, lines } = await runJob(file(q), { args: ['--events', String(EVENTS), '--rate', String(RATE), '--sink', 'print', ...extraArgs], config: { 'parallelism.default': p, ...config } })
  assert.equal(result.status, 'FINISHED', result.error?.message)
  const actual = post(mod, lines.map((l) => l.replace(/^\d+> /, ''))).sort()
  const events = [...new NexmarkSource({ events: EVENTS, firstEventRate: RATE }).allEvents(p)]
  const expected = mod.reference(events, ...refArgs).sort()
  assert.ok(expected.length > 0, `${q}: the reference has results`)
  assert.equal(actual.length, expected.length, `${q}: ${actual.length} results, the reference has ${expected.length}`)
  assert.deepEqual(actual, expected)
}

test('q0 passes every bid through', T, () => check('q0', 2))
test('q1 converts every bid\'s price', T, () => check('q1', 1))
test('q2 selects the bids of auctions whose id is a multiple of 123', T, () => check('q2', 2))
test('q3 joins category-10 auctions with their sellers in OR, ID or CA', T, () => check('q3', 2))
test('q4 averages the winning bids per category', T, () => check('q4', 2, [], (m, l) => m.finalValues!(l)))
test('q4 gives the same averages when both slots share one thread (and the job module)', T, () => check('q4', 2, [], (m, l) => m.finalValues!(l), [], { 'taskmanager.slot-threads': 1 }))
test('q5 finds the hottest auctions of every sliding window', T, () => check('q5', 2))
test('q5 --tumbling finds them for tumbling windows', T, () => check('q5', 1, ['--tumbling', 'true'], undefined, [true]))
test('q7 finds the highest bids of every window', T, () => check('q7', 2))
test('q8 finds the people who opened an auction in the window they registered in', T, () => check('q8', 2))
test('q11 counts the bids of every bidder session', T, () => check('q11', 2))
// Processing-time windows do not fire at the end of input (as in Flink), and how long after its
// last event a window fires depends on how busy the machine is. So the source never ends
// (--linger forever) and the test waits until the windows have counted every bid, then cancels.
test('q12 counts every bid of every bidder in processing-time windows', T, async () => {
  const mod = (await import(moduleFile('q12'))) as QueryModule
  const events = [...new NexmarkSource({ events: EVENTS, firstEventRate: RATE }).allEvents(2)]
  const expected = mod.reference(events).sort()
  const bids = events.filter((e) => e.type === 2).length
  assert.ok(bids > 0 && expected.length > 0, 'q12: the reference has results')
  const counted = (lines: string[]) => lines.reduce((n, l) => n + Number(l.split(',')[1]), 0)
  const job = await startJob(file('q12'), { args: ['--events', String(EVENTS), '--rate', String(RATE), '--sink', 'print', '--size', '100', '--linger', 'forever'], config: { 'parallelism.default': 2 } })
  try {
    const lines = strip(await job.waitFor((ls) => counted(strip(ls)) >= bids, T.timeout - 10_000, `windows counting all ${bids} bids`))
    assert.equal(counted(lines), bids, 'no bid is counted twice')
    assert.deepEqual(mod.totals!(lines).sort(), expected)
  } finally {
    await job.stop()
  }
})
