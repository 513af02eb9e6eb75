// A real job on the LMDB backend: the exactly-once sequence job (keyed state checks every key's
// sequence) with a failure while processing, so that the restart restores LMDB state from a
// checkpoint; the failed attempt's working directories are removed.

import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, rmSync, existsSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { runJob } from '../../helpers/run-job.ts'
import { checkSequences } from '../../helpers/sequence-check.ts'
import { removeJobWorkingDirs } from '../../../src/state/lmdb/working-dir.ts'

const job = fileURLToPath(new URL('../../fixtures/recovery/sequence-job.ts', import.meta.url))
const root = mkdtempSync(join(tmpdir(), 'weir-lmdb-job-test-'))
after(() => rmSync(root, { recursive: true, force: true }))

test("a job on the lmdb backend recovers from a failure with every sequence exactly once; a new attempt removes the old attempt's working files", async () => {
  const out = join(root, 'out')
  const local = join(root, 'lmdb')
  const violations = join(root, 'violations.txt')
  const { result } = await runJob(job, {
    args: ['--out', out, '--keys', '8', '--n', '1000', '--violations', violations, '--faults', 'processing@0:400', '--gate', 'true'],
    config: {
      'parallelism.default': 2,
      'execution.checkpointing.interval': '50ms',
      'state.checkpoints.dir': join(root, 'checkpoints'),
      'restart-strategy.type': 'fixed-delay',
      'restart-strategy.fixed-delay.attempts': 5,
      'restart-strategy.fixed-delay.delay': '50ms',
      'state.backend.type': 'lmdb',
      'state.backend.incremental': true,
      'state.backend.lmdb.localdir': local,
    },
  })
  assert.equal(result.status, 'FINISHED', `the job did not finish: ${result.error?.message}`)
  assert.equal(existsSync(violations) ? readFileSync(violations, 'utf8') : null, null)
  const check = checkSequences(out, { keys: 8, n: 1000 })
  assert.ok(check.ok, check.report)
  assert.equal(result.restarts, 1)
  // The failed attempt's workers were terminated (no dispose()); the next attempt removed their
  // directories. (The last attempt's go when the task disposes its backends, or with
  // removeJobWorkingDirs at the end of the job.)
  const left = existsSync(local) ? readdirSync(local) : []
  assert.ok(left.every((name) => name.endsWith('-1')), `only the last attempt's directories remain: ${left}`)
  assert.ok(removeJobWorkingDirs(local, result.jobId).length === left.length)
  assert.deepEqual(readdirSync(local), [])
})
