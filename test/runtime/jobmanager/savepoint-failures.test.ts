// A savepoint that cannot be taken is declined with the real reason, and the job carries on: its
// periodic checkpoints go on and it finishes with every record committed exactly once. A stop
// with savepoint that fails, at whichever step, resumes the sources (Flink resumes the job):
// the target directory cannot be created, a task cannot write its state, the metadata cannot
// be written, the savepoint expires. Job: test/fixtures/recovery/sequence-job.ts (bounded, so a
// source left halted would keep the job from ever finishing).

import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { bundleJob, startJob, waitFor, guarded, type JobArtifact, type Started } from '../../fixtures/state/harness.ts'
import { checkSequences } from '../../helpers/sequence-check.ts'
import type { CheckpointCoordinator } from '../../../src/checkpoint/coordinator.ts'
import type { TaskAck } from '../../../src/checkpoint/state-handle.ts'
import type { WeirError } from '../../../src/errors.ts'

const root = mkdtempSync(join(tmpdir(), 'weir-savepoint-failures-test-'))
let job: JobArtifact
before(async () => {
  job = await bundleJob(fileURLToPath(new URL('../../fixtures/recovery/sequence-job.ts', import.meta.url)))
})
after(() => {
  job?.dispose()
  rmSync(root, { recursive: true, force: true })
})

const KEYS = 4
let runNo = 0

/** A slow bounded sequence job at -p 2: long enough for several savepoint attempts. */
async function startSequence(n: number, config: Record<string, string> = {}): Promise<{ started: Started; out: string }> {
  const dir = join(root, `run-${runNo++}`)
  const out = join(dir, 'out')
  const started = await startJob(job, {
    args: ['--out', out, '--keys', String(KEYS), '--n', String(n), '--batch', '10', '--pause', '10'],
    config: { 'parallelism.default': 2, 'execution.checkpointing.interval': '100ms', 'state.checkpoints.dir': join(dir, 'checkpoints'), ...config },
  })
  return { started, out }
}

async function assertFinishedExactlyOnce(started: Started, out: string, n: number): Promise<void> {
  const result = await started.execution.result
  assert.equal(result.status, 'FINISHED', result.error?.message)
  const check = checkSequences(out, { keys: KEYS, n })
  assert.ok(check.ok, check.report)
}

/** Waits until the sources emitted `more` records beyond what they had: they are reading. */
async function sourcesRead(started: Started, more: number, what: string): Promise<void> {
  const from = started.execution.metrics.recordsIn
  await waitFor(`the sources to read on ${what}`, () => (started.execution.metrics.recordsIn >= from + more ? true : undefined), started.execution, 120_000)
}

async function checkpointsGoOn(started: Started): Promise<void> {
  const from = started.execution.coordinator.counts.completed
  await waitFor('two more periodic checkpoints', () => (started.execution.coordinator.counts.completed >= from + 2 ? true : undefined), started.execution, 120_000)
}

function savepointIds(coordinator: CheckpointCoordinator): Set<number> {
  return new Set(coordinator.history.filter((h) => h.isSavepoint).map((h) => h.id))
}

test('a savepoint into a directory that cannot be created is declined with the reason, and the job carries on', { timeout: 300_000 }, async () => {
  const n = 1500
  const { started, out } = await startSequence(n)
  const file = join(root, 'a-file')
  writeFileSync(file, 'not a directory')
  await guarded(started, async () => {
    await waitFor('a first checkpoint', () => (started.execution.coordinator.counts.completed >= 1 ? true : undefined), started.execution, 120_000)
    await assert.rejects(started.execution.triggerSavepoint('/proc/weir-x'), (e: WeirError) => {
      assert.equal(e.code, 'WEIR_CHECKPOINT_FAILED')
      assert.equal(e.domain, 'external')
      assert.match(e.message, /cannot create directory \/proc\/weir-x: .*\(ENOENT\)/)
      return true
    })
    await checkpointsGoOn(started)
    await assert.rejects(started.execution.triggerSavepoint(join(file, 'savepoints')), /a-file exists and is not a directory \(ENOTDIR\)/)
    await checkpointsGoOn(started)
  })
  assert.equal((await started.execution.result).restarts, 0)
  await assertFinishedExactlyOnce(started, out, n)
})

type Step = 'target directory' | 'task state' | 'metadata' | 'timeout'

/**
 * Makes the next savepoint of `coordinator` fail at `step`: a real storage failure for the first
 * three (the savepoint's directory is replaced by a file just before the tasks write, or once
 * every task wrote and before the metadata is written), dropped acknowledgements for the last.
 */
function breakNextSavepoint(coordinator: CheckpointCoordinator, step: Step): () => void {
  const c = coordinator as unknown as { trigger: (kind: { savepoint?: { target: { localDir: string } } }) => number | null; onAck: (id: number, ack: TaskAck) => void }
  const trigger = c.trigger
  const onAck = c.onAck
  const known = savepointIds(coordinator)
  const held: TaskAck[] = []
  let dir: string | null = null
  c.trigger = function (kind) {
    if (kind.savepoint && step === 'task state') {
      rmSync(kind.savepoint.target.localDir, { recursive: true, force: true })
      writeFileSync(kind.savepoint.target.localDir, 'in the way')
    }
    if (kind.savepoint) dir = kind.savepoint.target.localDir
    return trigger.call(this, kind)
  }
  c.onAck = function (id, ack) {
    const isNewSavepoint = !known.has(id) && savepointIds(coordinator).has(id)
    if (!isNewSavepoint || (step !== 'metadata' && step !== 'timeout')) return onAck.call(this, id, ack)
    if (step === 'timeout') return
    held.push(ack)
    const total = coordinator.history.find((h) => h.id === id)!.total
    if (held.length < total) return
    rmSync(dir!, { recursive: true, force: true })
    writeFileSync(dir!, 'in the way')
    for (const a of held) onAck.call(this, id, a)
  }
  return () => {
    c.trigger = trigger
    c.onAck = onAck
    if (dir) rmSync(dir, { recursive: true, force: true })
  }
}

const STEPS: Array<{ step: Step; target: (root: string) => string; reason: RegExp }> = [
  { step: 'target directory', target: () => '/proc/weir-x', reason: /cannot create directory \/proc\/weir-x: .*\(ENOENT\)/ },
  { step: 'task state', target: (r) => join(r, 'savepoints'), reason: /writing the checkpoint to storage failed: task \d+\/\d+: cannot create directory .*savepoint-[0-9a-f-]+.*\(ENOTDIR\)/ },
  { step: 'metadata', target: (r) => join(r, 'savepoints'), reason: /writing the checkpoint metadata failed: cannot create directory .*savepoint-[0-9a-f-]+.*\(ENOTDIR\)/ },
  { step: 'timeout', target: (r) => join(r, 'savepoints'), reason: /expired before it completed/ },
]

test('a stop with savepoint that fails at any step resumes the sources, and the job finishes exactly once', { timeout: 300_000 }, async () => {
  const n = 3000
  // A short checkpoint timeout, for the savepoint that expires.
  const { started, out } = await startSequence(n, { 'execution.checkpointing.timeout': '1500ms' })
  await guarded(started, async () => {
    await waitFor('a first checkpoint', () => (started.execution.coordinator.counts.completed >= 1 ? true : undefined), started.execution, 120_000)
    for (const { step, target, reason } of STEPS) {
      const restore = breakNextSavepoint(started.execution.coordinator, step)
      try {
        await assert.rejects(started.execution.stopWithSavepoint(target(root)), (e: WeirError) => {
          assert.equal(e.code, 'WEIR_CHECKPOINT_FAILED', `${step}: ${e.message}`)
          assert.match(e.message, reason, step)
          return true
        })
      } finally {
        restore()
      }
      assert.equal(started.execution.status, 'RUNNING', `after a stop failing at the ${step}`)
      assert.equal(started.execution.attemptCount, 0, `the job did not restart after a stop failing at the ${step}: ${started.logs.join('\n')}`)
      // Checkpoints first: by then the metrics no longer count records read before the barrier.
      // (A source left halted would also keep this bounded job from ever finishing, checked below.)
      await checkpointsGoOn(started)
      await sourcesRead(started, 100, `after a stop that failed at the ${step}`)
    }
  })
  assert.equal((await started.execution.result).restarts, 0)
  await assertFinishedExactlyOnce(started, out, n)
})
