// `weir run` logs: JSON lines when stderr is not a terminal (or --log-format json), with the job id
// on job lines and the attempt and subtask on task lines (--log-level debug); the outcome too.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { WAIT_MS } from '../helpers/deadlines.ts'

const root = fileURLToPath(new URL('../..', import.meta.url))
const bin = join(root, 'bin', 'weir.js')

function run(args: string[]) {
  // `npm test` builds dist/ first; bin/weir.js runs the built CLI. The deadline only turns a hang
  // into a failure: on a busy machine one run took over a minute (a 60 s timeout killed it).
  // --no-typecheck: these tests are about logs; the type check has its own tests and costs seconds.
  const [command, ...rest] = args
  const r = spawnSync(process.execPath, [bin, command!, '--no-typecheck', ...rest], { cwd: root, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' }, timeout: WAIT_MS })
  assert.equal(r.signal, null, `weir ${args.join(' ')} was killed (${r.signal}) after the ${WAIT_MS} ms deadline:\n${r.stderr}`)
  return r
}

test('JSON lines with jobId, attempt and subtask; the outcome is a log record with the same message', () => {
  const r = run(['run', '-D', 'rest.port=0', '-p', '2', '--log-level', 'debug', 'test/fixtures/jobs/sequence-sum.ts'])
  assert.equal(r.status, 0, r.stderr)
  const records = r.stderr.trim().split('\n').map((l) => JSON.parse(l))
  const jobId = /\(([0-9a-f]{32})\) running/.exec(records[0].msg)?.[1]
  assert.ok(jobId, records[0].msg)
  for (const o of records) assert.equal(o.jobId, jobId, JSON.stringify(o))
  const tasks = records.filter((o) => / switched from /.test(o.msg))
  assert.equal(tasks.length, 8, 'two tasks at parallelism 2, each RUNNING then FINISHED')
  for (const t of tasks) {
    assert.equal(t.level, 20)
    assert.equal(t.attempt, 0)
    assert.ok(t.subtask === 0 || t.subtask === 1)
    assert.match(t.msg, /\((1|2)\/2\)#0 switched from (INITIALIZING to RUNNING|RUNNING to FINISHED)$/)
  }
  const outcome = records.at(-1)
  assert.match(outcome.msg, /^Job 'SequenceSum' finished in [\d.]+s: 1000 record\(s\) in, 1000 out\.$/)
  assert.equal(outcome.status, 'FINISHED')
})

test('--log-format human keeps the plain lines; --log-level warn hides the info lines', () => {
  const human = run(['run', '-D', 'rest.port=0', '-p', '1', '--log-format', 'human', 'test/fixtures/jobs/sequence-sum.ts'])
  assert.equal(human.status, 0, human.stderr)
  assert.match(human.stderr, /^Job 'SequenceSum' \([0-9a-f]{32}\) running on 1 slot\(s\)$/m)
  assert.match(human.stderr, /^REST API at http:\/\/127\.0\.0\.1:\d+$/m)
  const quiet = run(['run', '-D', 'rest.port=0', '-p', '1', '--log-level', 'warn', 'test/fixtures/jobs/sequence-sum.ts'])
  assert.equal(quiet.status, 0, quiet.stderr)
  assert.doesNotMatch(quiet.stderr, /running on/)
  const bad = run(['run', '--log-format', 'xml', 'test/fixtures/jobs/sequence-sum.ts'])
  assert.equal(bad.status, 2)
  assert.match(bad.stderr, /--log-format expects json or human, got 'xml'/)
})
