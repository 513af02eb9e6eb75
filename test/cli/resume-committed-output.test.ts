// Issue 13, item 3, as an operator meets it: `weir run` of a file sink job is killed, the newest
// checkpoint's _metadata is lost (deleted here), and `--from-checkpoint latest` falls back to an
// older checkpoint. The file sink already committed the newer checkpoint's output, so the resume
// is refused, naming both checkpoints, and commits nothing; with --allow-duplicate-output it runs
// to the end, with the records after the older checkpoint written twice and none lost.
// Uses the built CLI (bin/weir.js -> dist/).

import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readdirSync, readFileSync, unlinkSync } from 'node:fs'
import { join } from 'node:path'
import { WeirProcesses, checkpointedRun, completedCheckpoints, repo, waitUntil } from '../helpers/weir-process.ts'
import { checkSequences } from '../helpers/sequence-check.ts'
import { WAIT_MS, TEST_TIMEOUT_MS } from '../helpers/deadlines.ts'

const processes = new WeirProcesses()
before(() => processes.ensureBuilt())
after(() => processes.stopAll())

const job = join(repo, 'test/fixtures/recovery/sequence-job.ts')
const KEYS = 4
const N = 3000

/** The newest checkpoint each file sink subtask recorded as committed (its .weir-committed-<i> marker). */
function committedMarkers(out: string): number[] {
  if (!existsSync(out)) return []
  const ids: number[] = []
  for (const name of readdirSync(out)) {
    if (!/^\.weir-committed-\d+$/.test(name)) continue
    // The framed file's header is 20 bytes (src/checkpoint/file-format.ts); the payload is JSON.
    const marker = JSON.parse(readFileSync(join(out, name)).subarray(20).toString('utf8')) as { checkpointId: number }
    ids.push(marker.checkpointId)
  }
  return ids
}

function partFiles(out: string): string[] {
  return readdirSync(out).filter((n) => n.startsWith('part-')).sort()
}

test('a lost newest _metadata: resuming with latest is refused naming both checkpoints; --allow-duplicate-output runs, duplicating and losing nothing', { timeout: TEST_TIMEOUT_MS }, async () => {
  const dir = join(processes.root, 'lost-metadata')
  const checkpoints = join(dir, 'checkpoints')
  const out = join(dir, 'out')
  const flags = [...checkpointedRun(checkpoints, 2), '-D', 'execution.checkpointing.num-retained=20', '-D', 'restart-strategy.type=none']
  const args = [job, '--out', out, '--keys', String(KEYS), '--n', String(N), '--batch', '5', '--pause', '2']

  // Run until the sink has committed a checkpoint that has an older completed one before it; kill.
  const first = processes.start([...flags, ...args])
  await waitUntil('a committed checkpoint with an older completed one', () => {
    const newest = Math.max(-1, ...committedMarkers(out))
    return completedCheckpoints(checkpoints).some((c) => c.id < newest) ? true : undefined
  }, first, WAIT_MS)
  const killed = await processes.kill(first)
  assert.equal(killed.signal, 'SIGKILL', `the job ended before it was killed:\n${killed.stderr}`)

  // Lose the _metadata of the newest committed checkpoint and of everything after it.
  const committed = Math.max(...committedMarkers(out))
  const [{ jobId }] = completedCheckpoints(checkpoints)
  for (const c of completedCheckpoints(checkpoints)) if (c.id >= committed) unlinkSync(join(checkpoints, c.jobId, `chk-${c.id}`, '_metadata'))
  const older = Math.max(...completedCheckpoints(checkpoints).map((c) => c.id))
  assert.ok(older < committed, `checkpoint ${older} is older than the committed ${committed}`)
  const filesBefore = partFiles(out)

  const refused = await processes.start([...flags, '--from-checkpoint', 'latest', ...args]).exit
  assert.notEqual(refused.code, 0, `the resume from checkpoint ${older} went on:\n${refused.stderr}`)
  const warning = refused.stderr.split('\n').find((l) => l.includes('Warning: skipping ')) ?? ''
  assert.ok(warning.includes(join(checkpoints, jobId!, `chk-${committed}`)), `latest warns about the skipped chk-${committed}:\n${refused.stderr}`)
  assert.match(refused.stderr, new RegExp(`cannot restore checkpoint ${older} into job 'SequenceRecovery', operator 'File Sink' \\(uid file-sink\\), subtask \\d/2: this sink already committed the output of checkpoint ${committed}`))
  assert.match(refused.stderr, /--allow-duplicate-output/)
  assert.doesNotMatch(refused.stderr, /finished in/)
  assert.deepEqual(partFiles(out), filesBefore, 'a refused resume commits no file')

  const forced = await processes.start([...flags, '--from-checkpoint', 'latest', '--allow-duplicate-output', ...args]).exit
  assert.equal(forced.code, 0, forced.stderr)
  assert.match(forced.stderr, new RegExp(`Warning: restoring checkpoint ${older} into .* although this sink already committed the output of checkpoint ${committed}`))
  assert.match(forced.stderr, /finished in/)
  const check = checkSequences(out, { keys: KEYS, n: N })
  assert.match(check.report, / 0 missing, [1-9]\d* duplicated/, 'every record is there, and the ones after the older checkpoint twice')
})
