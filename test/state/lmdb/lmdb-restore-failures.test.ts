// Restores of incremental LMDB checkpoints that go wrong end, and say why: a damaged or deleted
// shared file fails the restore naming the file, within a deadline (it used to hang in 9 of 17
// trials: the TaskManager terminated a slot that was still restoring, inside a native LMDB
// write transaction, and the thread never finished); a slot is stopped between two pieces of
// work, not in the middle of one; and a moved checkpoint restores, since its shared files are
// found beside it. Job: test/fixtures/recovery/sequence-job.ts.

import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { bundleJob, startJob, waitFor, guarded, type JobArtifact } from '../../fixtures/state/harness.ts'
import { checkSequences } from '../../helpers/sequence-check.ts'
import type { JobResult } from '../../../src/runtime/jobmanager/job-types.ts'

const root = mkdtempSync(join(tmpdir(), 'weir-lmdb-restore-failures-'))
const KEYS = 40
const N = 300
const ARGS = ['--keys', String(KEYS), '--n', String(N), '--batch', '20', '--pause', '5']
const CONFIG = {
  'parallelism.default': 2, 'execution.checkpointing.interval': '100ms', 'state.backend.type': 'lmdb', 'state.backend.incremental': 'true',
  'execution.checkpointing.externalized-checkpoint-retention': 'RETAIN_ON_CANCELLATION', 'restart-strategy.type': 'none',
}
let job: JobArtifact
/** A retained incremental checkpoint directory tree (base/<job-id>/...) and the sink output at that point. */
let original = ''

before(async () => {
  job = await bundleJob(fileURLToPath(new URL('../../fixtures/recovery/sequence-job.ts', import.meta.url)))
  original = join(root, 'original')
  const started = await startJob(job, { args: ['--out', join(original, 'out'), ...ARGS], config: { ...CONFIG, 'state.checkpoints.dir': join(original, 'checkpoints') } })
  await guarded(started, async () => {
    await waitFor('three checkpoints', () => (started.execution.coordinator.counts.completed >= 3 ? true : undefined), started.execution)
  })
  await started.execution.cancel()
  await started.execution.result
})
after(() => {
  job?.dispose()
  rmSync(root, { recursive: true, force: true })
})

let copyNo = 0
/** A copy of the retained checkpoints and output, as if moved elsewhere; the latest chk dir. */
function copy(): { base: string; out: string; chk: string; shared: string } {
  const base = join(root, `copy-${copyNo++}`)
  cpSync(original, base, { recursive: true })
  const checkpoints = join(base, 'checkpoints')
  const jobDir = join(checkpoints, readdirSync(checkpoints)[0]!)
  // The newest completed one: the cancel can come while a checkpoint is being written, and that
  // one's directory stays without _metadata (this failed the tests now and then).
  const chk = readdirSync(jobDir).filter((n) => n.startsWith('chk-') && existsSync(join(jobDir, n, '_metadata'))).sort((a, b) => Number(a.slice(4)) - Number(b.slice(4))).at(-1)!
  return { base, out: join(base, 'out'), chk: join(jobDir, chk), shared: join(jobDir, 'shared') }
}

/** The job's result, or a failure if it takes longer than the deadline (a hang fails the test instead of stalling it). */
async function resultWithin(promise: Promise<JobResult>, ms: number, what: string): Promise<JobResult> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not end within ${ms} ms`)), ms)))])
  } finally {
    clearTimeout(timer)
  }
}

for (const damage of ['flipped byte', 'deleted'] as const) {
  test(`a ${damage} shared file fails the restore within a deadline, naming the file; the other slot is stopped between two pieces of work`, { timeout: 300_000 }, async () => {
    const c = copy()
    const segments = readdirSync(c.shared).filter((n) => n.endsWith('.lmdbseg') && /-0-[0-9a-f]+-chk/.test(n))
    assert.ok(segments.length > 0, 'subtask 0 wrote shared files')
    const victim = join(c.shared, segments[0]!)
    if (damage === 'deleted') rmSync(victim)
    else {
      const bytes = readFileSync(victim)
      bytes[bytes.length >> 1]! ^= 0xff
      writeFileSync(victim, bytes)
    }
    const openLog = join(c.base, 'open.log')
    // Subtask 1 restores fine and is still in its (slow) open() when subtask 0 fails.
    const started = await startJob(job, { args: ['--out', c.out, ...ARGS, '--open-delay', '2000', '--open-log', openLog], config: { ...CONFIG, 'state.checkpoints.dir': join(c.base, 'resumed') }, restoreFrom: c.chk })
    const result = await resultWithin(started.execution.result, 120_000, 'the restore of a damaged checkpoint')
    assert.equal(result.status, 'FAILED')
    assert.equal(result.error?.code, 'WEIR_CHECKPOINT_CORRUPT')
    assert.ok(result.error!.message.includes(victim), `the error names the file: ${result.error!.message}`)
    assert.match(result.error!.message, damage === 'deleted' ? /is missing/ : /is damaged/)
    // Subtask 1 is usually inside its slow open() when subtask 0 fails; on a loaded machine it may
    // not have begun it yet. Either way it is never cut off in the middle of one.
    const opens = existsSync(openLog) ? readFileSync(openLog, 'utf8') : ''
    if (opens.includes('opening 1')) assert.ok(opens.includes('opened 1'), 'subtask 1 finished its open() before its slot was stopped')
  })
}

// Last: it moves the original checkpoints (the sink's state names its files in the original output directory).
test('a moved incremental checkpoint restores: its shared files are found beside it, not at the old path', { timeout: 300_000 }, async () => {
  const checkpoints = join(original, 'checkpoints')
  const jobId = readdirSync(checkpoints)[0]!
  const movedTo = join(root, 'moved-checkpoints')
  renameSync(checkpoints, movedTo)
  const jobDir = join(movedTo, jobId)
  // The newest completed one: the cancel can come while a checkpoint is being written, and that
  // one's directory stays without _metadata (this failed the tests now and then).
  const chk = readdirSync(jobDir).filter((n) => n.startsWith('chk-') && existsSync(join(jobDir, n, '_metadata'))).sort((a, b) => Number(a.slice(4)) - Number(b.slice(4))).at(-1)!
  const out = join(original, 'out')
  const started = await startJob(job, { args: ['--out', out, ...ARGS], config: { ...CONFIG, 'state.checkpoints.dir': join(root, 'resumed') }, restoreFrom: join(jobDir, chk) })
  const result = await resultWithin(started.execution.result, 180_000, 'the resumed job')
  assert.equal(result.status, 'FINISHED', result.error?.message)
  const check = checkSequences(out, { keys: KEYS, n: N })
  assert.ok(check.ok, check.report)
})
