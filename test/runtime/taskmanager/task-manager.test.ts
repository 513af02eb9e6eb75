// The TaskManager's deployment of an attempt: which slots it links and how many threads it
// starts. A job fanning out from one source gets one link per pair its edges connect
// (at parallelism 64: 63, not the 2,016 pairs of 64 slots) and as many threads as the machine can use;
// slots sharing a thread keep their own checkpoints and restore exactly once after a failure.

import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { bundleJob } from '../../../src/cli/bundle.ts'
import { Dispatcher } from '../../../src/runtime/jobmanager/dispatcher.ts'
import { MemoryHaServices } from '../../../src/runtime/jobmanager/ha/memory-ha-services.ts'
import { defaultSlotThreads, TaskManager } from '../../../src/runtime/taskmanager/task-manager.ts'
import type { RawConfig } from '../../../src/config/configuration.ts'
import { checkSequences } from '../../helpers/sequence-check.ts'

const fanOut = fileURLToPath(new URL('../../fixtures/startup/fan-out-job.ts', import.meta.url))
const sequenceJob = fileURLToPath(new URL('../../fixtures/recovery/sequence-job.ts', import.meta.url))
const root = mkdtempSync(join(tmpdir(), 'weir-task-manager-test-'))
after(() => rmSync(root, { recursive: true, force: true }))

async function runOn(taskManager: TaskManager, jobFile: string, args: string[], config: RawConfig) {
  const artifact = await bundleJob(jobFile)
  const dispatcher = new Dispatcher({ ha: new MemoryHaServices(), slotsFor: () => taskManager.numSlots })
  dispatcher.slotPool.register(taskManager)
  let stdout = ''
  try {
    const master = await dispatcher.submit({ artifactUrl: artifact.url, args, config, onStdout: (text) => (stdout += text) })
    const result = await master.result
    return { result, lines: stdout.split('\n').filter((l) => l !== '') }
  } finally {
    await taskManager.shutdown()
    artifact.dispose()
  }
}

test('slots get one thread each up to twice the cores (at least 4), then share them', () => {
  assert.equal(defaultSlotThreads(1, 2), 1)
  assert.equal(defaultSlotThreads(4, 2), 4)
  assert.equal(defaultSlotThreads(200, 2), 4)
  assert.equal(defaultSlotThreads(200, 16), 32)
})

test('a job fanning out from one source at parallelism 64 links 63 slot pairs (not 2,016) and runs its 64 slots in a few threads', { timeout: 600_000 }, async () => {
  const tm = new TaskManager('tm', 64)
  const { result, lines } = await runOn(tm, fanOut, [], { 'parallelism.default': 64 })
  assert.equal(result.status, 'FINISHED', result.error?.message)
  // Each record went to its own map subtask, printed with that subtask's index.
  assert.deepEqual(lines.map((l) => l.replace(/^\d+> /, '')).sort(), ['2', '4', '6'])
  assert.deepEqual(tm.lastDeployment, { threads: defaultSlotThreads(64), localLinks: 63 })
})

test('slots sharing threads checkpoint and restore on their own: a failed attempt restarts and the output stays exactly once', { timeout: 300_000 }, async () => {
  const tm = new TaskManager('tm', 4, undefined, 2)
  const out = join(root, 'shared-threads', 'out')
  const { result } = await runOn(tm, sequenceJob, ['--out', out, '--keys', '6', '--n', '400', '--faults', 'processing@0:150/1', '--gate', 'true'], {
    'parallelism.default': 4, 'execution.checkpointing.interval': '50ms', 'state.checkpoints.dir': join(root, 'shared-threads', 'checkpoints'),
    'restart-strategy.type': 'fixed-delay', 'restart-strategy.fixed-delay.attempts': 3, 'restart-strategy.fixed-delay.delay': '50ms',
  })
  assert.equal(result.status, 'FINISHED', result.error?.message)
  assert.equal(result.restarts, 1)
  assert.equal(tm.lastDeployment?.threads, 2)
  const check = checkSequences(out, { keys: 6, n: 400 })
  assert.ok(check.ok, check.report)
})
