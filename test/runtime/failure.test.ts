// How failures end a job on the mini cluster: user functions that throw while processing or
// in open(), a source reader that throws, and a job builder that throws.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { fileURLToPath } from 'node:url'
import { runJob } from '../helpers/run-job.ts'
import { TEST_TIMEOUT_MS } from '../helpers/deadlines.ts'

/** A hung job fails its test instead of blocking the run. */
const T = { timeout: TEST_TIMEOUT_MS }
const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/jobs/${name}.ts`, import.meta.url))

test('a map that throws on record 500 fails the job with a user-function error naming job, operator and subtask', T, async () => {
  const { result } = await runJob(fixture('throwing-map'), { args: ['--n', '2000', '--at', '500'], config: { 'parallelism.default': 2 } })
  assert.equal(result.status, 'FAILED')
  const error = result.error as NonNullable<typeof result.error> & { userStack?: string; location?: { subtaskIndex: number; parallelism: number } }
  assert.equal(error.code, 'WEIR_USER_FUNCTION_FAILED')
  assert.equal(error.domain, 'user')
  assert.match(error.message, /job 'Thrower'/)
  assert.match(error.message, /operator 'Exploder'/)
  assert.match(error.message, /subtask [12]\/2/)
  assert.match(error.message, /boom at 500/)
  assert.equal(typeof error.userStack, 'string')
  assert.match(error.userStack!, /boom at 500/)
  assert.match(error.userStack!, /throwing-map\.ts:\d+/, 'the user stack points into the job file')
  assert.equal(error.location?.parallelism, 2)
})

test('a rich function whose open() throws fails the job with the function\'s message', T, async () => {
  const { result } = await runJob(fixture('failing-open'), { config: { 'parallelism.default': 2 } })
  assert.equal(result.status, 'FAILED')
  assert.equal(result.error!.code, 'WEIR_USER_FUNCTION_FAILED')
  assert.match(result.error!.message, /cannot open the lookup table in subtask [01]/)
  assert.match(result.error!.message, /job 'FailingOpen'/)
  assert.equal(result.recordsOut, 0)
})

test('a source whose reader throws fails the job with the reader\'s message', T, async () => {
  const { result } = await runJob(fixture('failing-source'), { config: { 'parallelism.default': 1 } })
  assert.equal(result.status, 'FAILED')
  assert.match(result.error!.message, /the disk caught fire/)
})

test('a job whose builder throws fails JobExecution.start with WEIR_INVALID_JOB naming the job', T, async () => {
  await assert.rejects(runJob(fixture('failing-builder'), { config: { 'parallelism.default': 1 } }), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'WEIR_INVALID_JOB')
    assert.match(e.message, /'BrokenBuilder'/)
    assert.match(e.message, /--url is required/)
    return true
  })
})

test('the builder that failed without its argument runs once the argument is given', T, async () => {
  const { result, lines } = await runJob(fixture('failing-builder'), { args: ['--url', 'http://example.test/'], config: { 'parallelism.default': 1 } })
  assert.equal(result.status, 'FINISHED')
  assert.deepEqual(lines, ['http://example.test/'])
})
