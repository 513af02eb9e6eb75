// Exactly-once end to end, in the shape of Flink's exactly-once ITCases: a paced, rewindable
// source of per-key sequence numbers, keyed state that verifies every sequence as it goes, a
// transactional FileSink, and faults injected while processing, while snapshotting and while
// restoring. The committed output must hold every sequence number of every key exactly once,
// and equal a clean run's. See test/fixtures/recovery/sequence-job.ts.

import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { runJob } from '../../helpers/run-job.ts'
import { checkSequences, readCommitted } from '../../helpers/sequence-check.ts'
import type { RawConfig } from '../../../src/config/configuration.ts'
import type { JobResult } from '../../../src/runtime/jobmanager/mini-cluster.ts'

const job = fileURLToPath(new URL('../../fixtures/recovery/sequence-job.ts', import.meta.url))
const root = mkdtempSync(join(tmpdir(), 'weir-exactly-once-test-'))
after(() => rmSync(root, { recursive: true, force: true }))

const KEYS = 8
const N = 1000

let runNo = 0
interface SequenceRun {
  readonly result: JobResult
  readonly out: string
  /** Violations the keyed-state check found (it writes them before it throws), or null. */
  readonly violations: string | null
}

/**
 * Runs the sequence job with the test configuration; `config` entries override it (null removes
 * one). By default each attempt's sources wait for a first completed checkpoint (--gate), so
 * that every processing fault fires after a checkpoint however slowly the slots start.
 */
async function runSequenceJob(options: { p: number; faults?: string; gate?: boolean; args?: string[]; config?: Record<string, string | number | null> }): Promise<SequenceRun> {
  const dir = join(root, `run-${runNo++}`)
  const out = join(dir, 'out')
  const violations = join(dir, 'violations.txt')
  const config: Record<string, string | number | null> = {
    'parallelism.default': options.p,
    'execution.checkpointing.interval': '50ms',
    'state.checkpoints.dir': join(dir, 'checkpoints'),
    'restart-strategy.type': 'fixed-delay',
    'restart-strategy.fixed-delay.attempts': 5,
    'restart-strategy.fixed-delay.delay': '50ms',
    ...options.config,
  }
  const raw: RawConfig = {}
  for (const [k, v] of Object.entries(config)) if (v !== null) raw[k] = v
  const { result } = await runJob(job, {
    args: ['--out', out, '--keys', String(KEYS), '--n', String(N), '--violations', violations, '--faults', options.faults ?? '', '--gate', String(options.gate ?? true), ...(options.args ?? [])],
    config: raw,
  })
  return { result, out, violations: existsSync(violations) ? readFileSync(violations, 'utf8') : null }
}

function assertFinished(run: SequenceRun): void {
  assert.equal(run.result.status, 'FINISHED', `the job did not finish: ${run.result.error?.message}`)
  assert.equal(run.violations, null, `the keyed-state sequence check threw:\n${run.violations}`)
}

function assertExactlyOnce(run: SequenceRun): void {
  const check = checkSequences(run.out, { keys: KEYS, n: N })
  assert.ok(check.ok, check.report)
  assert.equal(check.output.lines.length, KEYS * N)
}

const FAULTS = {
  processing: { faults: 'processing@0:400', restarts: 1 },
  snapshotting: { faults: 'snapshotting@0:2', restarts: 1 },
  // The processing fault makes attempt 1 a restore; that restore fails in initializeState.
  restoring: { faults: 'processing@0:400,restoring@1', restarts: 2 },
} as const

for (const p of [1, 2, 4]) {
  for (const [kind, { faults, restarts }] of Object.entries(FAULTS)) {
    test(`at parallelism ${p} a failure while ${kind} is recovered and every key's sequence is committed exactly once`, async () => {
      // At p > 1 the fault hits the last subtask, so that it is not always subtask 0.
      const spec = p > 1 ? faults.replace(/(processing@0:\d+|snapshotting@0:\d+)/, `$1/${p - 1}`) : faults
      const run = await runSequenceJob({ p, faults: spec })
      assertFinished(run)
      assert.ok(run.result.restarts >= restarts, `expected at least ${restarts} restart(s), got ${run.result.restarts}`)
      assert.ok(run.result.checkpoints.completed >= 2, `expected several checkpoints, got ${JSON.stringify(run.result.checkpoints)}`)
      assertExactlyOnce(run)
    })
  }
}

test('a clean run and runs with different fault schedules commit the same output, per key in the same order', async () => {
  const clean = await runSequenceJob({ p: 2 })
  assertFinished(clean)
  assertExactlyOnce(clean)
  const expected = readCommitted(clean.out)

  const schedules = [
    // Before any checkpoint completed: the restart begins from scratch, the sink discards everything.
    { faults: 'processing@0:150/1', gate: false, args: ['--min-checkpoints', '0'], restarts: 1 },
    // Three failures in a row, each in another attempt and place.
    { faults: 'processing@0:300,processing@1:200/1,snapshotting@2:1', gate: true, args: [], restarts: 3 },
    // A failure while processing, then a failed restore, then a failed snapshot.
    { faults: 'processing@0:300/1,restoring@1,snapshotting@2:2', gate: true, args: [], restarts: 3 },
  ]
  for (const s of schedules) {
    const run = await runSequenceJob({ p: 2, faults: s.faults, gate: s.gate, args: s.args })
    assertFinished(run)
    assert.ok(run.result.restarts >= s.restarts, `${s.faults}: expected at least ${s.restarts} restart(s), got ${run.result.restarts}`)
    const actual = readCommitted(run.out)
    assert.deepEqual([...actual.lines].sort(), [...expected.lines].sort(), `${s.faults}: the committed lines differ from the clean run's`)
    assert.deepEqual(new Map([...actual.perKey].sort()), new Map([...expected.perKey].sort()), `${s.faults}: a key's sequence differs from the clean run's`)
  }
})

test('in AT_LEAST_ONCE mode a recovered job loses no sequence number of any key (duplicates allowed)', async () => {
  const run = await runSequenceJob({
    p: 4,
    faults: 'processing@0:500,processing@1:300/2',
    args: ['--check', 'false'],
    config: { 'execution.checkpointing.mode': 'AT_LEAST_ONCE' },
  })
  assertFinished(run)
  assert.ok(run.result.restarts >= 2, `expected at least 2 restarts, got ${run.result.restarts}`)
  const check = checkSequences(run.out, { keys: KEYS, n: N, mode: 'at-least-once' })
  assert.ok(check.ok, check.report)
})

test('without checkpointing a failure fails the job with the user\'s error, without a restart and without committed output', async () => {
  const run = await runSequenceJob({
    p: 2,
    faults: 'processing@0:100',
    gate: false,
    args: ['--min-checkpoints', '0'],
    config: { 'execution.checkpointing.interval': null, 'state.checkpoints.dir': null, 'restart-strategy.type': null, 'restart-strategy.fixed-delay.attempts': null, 'restart-strategy.fixed-delay.delay': null },
  })
  assert.equal(run.result.status, 'FAILED')
  assert.equal(run.result.restarts, 0)
  assert.equal(run.result.error?.code, 'WEIR_USER_FUNCTION_FAILED')
  assert.match(run.result.error!.message, /injected fault: processing on attempt 0/)
  assert.deepEqual(readdirSync(run.out).filter((n) => n.startsWith('part-')), [])
})

test('with restart-strategy none a failure fails a checkpointed job with the user\'s error, without a restart', async () => {
  const run = await runSequenceJob({ p: 2, faults: 'processing@0:100', gate: false, args: ['--min-checkpoints', '0'], config: { 'restart-strategy.type': 'none' } })
  assert.equal(run.result.status, 'FAILED')
  assert.equal(run.result.restarts, 0)
  assert.equal(run.result.error?.code, 'WEIR_USER_FUNCTION_FAILED')
  assert.match(run.result.error!.message, /injected fault: processing on attempt 0/)
})
