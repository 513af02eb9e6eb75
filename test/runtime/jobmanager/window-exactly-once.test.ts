// Exactly-once of windowed output: the sequence job with --window counts each key's records in
// tumbling event-time windows (record seq at time seq * 10) behind the sequence verifier, and
// commits 'key,windowStart,count' through the transactional FileSink. Under the failure
// schedules of exactly-once.test.ts, on both backends, every window of every key must be
// committed exactly once with its full count. See test/fixtures/recovery/sequence-job.ts.

import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { runJob } from '../../helpers/run-job.ts'
import { readCommitted } from '../../helpers/sequence-check.ts'
import { TEST_TIMEOUT_MS } from '../../helpers/deadlines.ts'

const job = fileURLToPath(new URL('../../fixtures/recovery/sequence-job.ts', import.meta.url))
const root = mkdtempSync(join(tmpdir(), 'weir-window-eo-'))
after(() => rmSync(root, { recursive: true, force: true }))

const KEYS = 6
const N = 600
const WINDOW = 500 // 50 sequence numbers per window
let runNo = 0

// twoPhase: the count has merge, so partial counts per key and slice cross the exchange
// (flushed before every barrier) instead of every record.
const SCHEDULES: Array<[string, string, 'hashmap' | 'lmdb', twoPhase: boolean]> = [
  ['a failure while processing', 'processing@0:300/1', 'hashmap', true],
  ['a failure while snapshotting', 'snapshotting@0:2/1', 'lmdb', true],
  ['a failure while processing, then a failed restore', 'processing@0:300/1,restoring@1', 'lmdb', false],
]

for (const [what, faults, backend, twoPhase] of SCHEDULES) {
  test(`windowed output is committed exactly once after ${what} (${backend}${twoPhase ? ', two-phase aggregation' : ''})`, { timeout: TEST_TIMEOUT_MS }, async () => {
    const dir = join(root, `run-${runNo++}`)
    const out = join(dir, 'out')
    const { result } = await runJob(job, {
      args: ['--out', out, '--keys', String(KEYS), '--n', String(N), '--window', String(WINDOW), '--faults', faults, '--gate', 'true', '--splits', '2', '--window-merge', String(twoPhase)],
      config: {
        'parallelism.default': 2,
        'execution.checkpointing.interval': '50ms',
        'state.checkpoints.dir': join(dir, 'checkpoints'),
        'state.backend.type': backend,
        'restart-strategy.type': 'fixed-delay',
        'restart-strategy.fixed-delay.attempts': 5,
        'restart-strategy.fixed-delay.delay': '50ms',
      },
    })
    assert.equal(result.status, 'FINISHED', result.error?.message)
    assert.ok(result.restarts >= 1, 'the fault caused a restart')
    const lines = readCommitted(out).lines
    const seen = new Map<string, number>()
    for (const line of lines) {
      const [key, start, count] = line.split(',')
      const id = `${key},${start}`
      assert.ok(!seen.has(id), `window ${id} committed twice`)
      seen.set(id, Number(count))
    }
    for (let k = 0; k < KEYS; k++) {
      for (let start = 0; start <= N * 10; start += WINDOW) {
        // seq s (1..N) is at 10 s: window [start, start + 500) holds the seqs with 10 s in it.
        let expected = 0
        for (let s = 1; s <= N; s++) if (s * 10 >= start && s * 10 < start + WINDOW) expected++
        if (expected === 0) continue
        assert.equal(seen.get(`k${k},${start}`), expected, `key k${k} window ${start}`)
      }
    }
    assert.equal([...seen.values()].reduce((a, b) => a + b, 0), KEYS * N)
  })
}
