// The windows example (examples/windows.ts) as a user runs it: on a small CSV with out-of-order
// and late lines, at parallelism 1 (one channel, so the order of records and watermarks is the
// file's) and 2 (on-time results must not depend on the parallelism).

import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { runJob } from '../helpers/run-job.ts'
import { TEST_TIMEOUT_MS } from '../helpers/deadlines.ts'

const T = { timeout: TEST_TIMEOUT_MS }
const job = fileURLToPath(new URL('../../examples/windows.ts', import.meta.url))
let dir: string
let input: string

// Watermark = highest timestamp - 1000. Window [0, 10000) fires when a line at >= 11000 arrives;
// lines for it up to 3 s of watermark later (< 14000 highest) are late firings, then late output.
const LINES = [
  'a,1000,1', 'b,2000,1', 'a,9000,1', 'a,3000,1', // out of order, all on time
  'b,11500,1', // watermark 10500: [0, 10000) fires: a 3, b 1
  'a,9500,1', // late but within 3 s: a fires again with 4
  'c,14500,1', // watermark 13500: lateness of [0, 10000) ends at 9999 + 3000 = 12999
  'a,4000,1', // too late: side output
  'c,25000,1',
]

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'weir-windows-'))
  input = join(dir, 'events.csv')
  writeFileSync(input, LINES.join('\n') + '\n')
})
after(() => rmSync(dir, { recursive: true, force: true }))

test('the windows example counts per key and window, fires late updates within 3 s and sends later lines to the side output', T, async () => {
  const { result, lines } = await runJob(job, { args: ['--input', input], config: { 'parallelism.default': 1 } })
  assert.equal(result.status, 'FINISHED', result.error?.message)
  const sorted = [...lines].sort()
  assert.deepEqual(sorted, ['a 0 10000 3', 'a 0 10000 4', 'b 0 10000 1', 'b 10000 20000 1', 'c 10000 20000 1', 'c 20000 30000 1', 'late a 4000'])
  assert.ok(lines.indexOf('a 0 10000 3') < lines.indexOf('a 0 10000 4'), 'the late firing comes after the first one')
})

test('at parallelism 2 (file split between two readers, so watermarks differ) every line is counted once: in its window\'s last firing or as late', T, async () => {
  const { result, lines } = await runJob(job, { args: ['--input', input], config: { 'parallelism.default': 2 } })
  assert.equal(result.status, 'FINISHED', result.error?.message)
  const text = lines.map((l) => l.replace(/^\d+> /, ''))
  const lastCount = new Map<string, number>()
  let late = 0
  for (const l of text) {
    if (l.startsWith('late ')) late++
    else {
      const [key, start, , n] = l.split(' ')
      lastCount.set(`${key} ${start}`, Math.max(lastCount.get(`${key} ${start}`) ?? 0, Number(n)))
    }
  }
  assert.equal([...lastCount.values()].reduce((a, b) => a + b, 0) + late, LINES.length, JSON.stringify(text))
  assert.deepEqual([...lastCount.keys()].sort(), ['a 0', 'b 0', 'b 10000', 'c 10000', 'c 20000'])
})
