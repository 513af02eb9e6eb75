// One dispatcher, two TaskManagers with one slot each, in this process: every record of a
// keyed exchange between the two slots crosses the TCP data plane (one connection between the
// slots, opened after both reported their data ports). The exactly-once sequence job must
// commit every key's sequence exactly once, also when an attempt fails and restarts.

import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { bundleJob } from '../../../src/cli/bundle.ts'
import { Dispatcher } from '../../../src/runtime/jobmanager/dispatcher.ts'
import { MemoryHaServices } from '../../../src/runtime/jobmanager/ha/memory-ha-services.ts'
import { TaskManager } from '../../../src/runtime/taskmanager/task-manager.ts'
import { checkSequences } from '../../helpers/sequence-check.ts'
import { TEST_TIMEOUT_MS } from '../../helpers/deadlines.ts'

const job = fileURLToPath(new URL('../../fixtures/recovery/sequence-job.ts', import.meta.url))
const root = mkdtempSync(join(tmpdir(), 'weir-two-tm-test-'))
after(() => rmSync(root, { recursive: true, force: true }))

async function runOnTwoTaskManagers(name: string, faults: string, extra: Record<string, string | number | boolean> = {}) {
  const dir = join(root, name)
  const artifact = await bundleJob(job)
  const dispatcher = new Dispatcher({ ha: new MemoryHaServices() })
  const tms = [new TaskManager('tm-a', 1), new TaskManager('tm-b', 1)]
  for (const tm of tms) dispatcher.slotPool.register(tm)
  try {
    const master = await dispatcher.submit({
      artifactUrl: artifact.url,
      args: ['--out', join(dir, 'out'), '--keys', '6', '--n', '400', '--faults', faults, '--gate', 'true'],
      config: {
        'parallelism.default': 2, 'execution.checkpointing.interval': '50ms', 'state.checkpoints.dir': join(dir, 'checkpoints'),
        'restart-strategy.type': 'fixed-delay', 'restart-strategy.fixed-delay.attempts': 3, 'restart-strategy.fixed-delay.delay': '50ms', ...extra,
      },
      onStdout: () => {},
    })
    const result = await master.result
    return { result, out: join(dir, 'out') }
  } finally {
    await Promise.all(tms.map((t) => t.shutdown()))
    artifact.dispose()
  }
}

test('a keyed job at parallelism 2 over two TaskManagers commits every sequence exactly once', { timeout: TEST_TIMEOUT_MS }, async () => {
  const { result, out } = await runOnTwoTaskManagers('clean', '')
  assert.equal(result.status, 'FINISHED', result.error?.message)
  const check = checkSequences(out, { keys: 6, n: 400 })
  assert.ok(check.ok, check.report)
})

test('across two TaskManagers a failed attempt restarts from its checkpoint and the output stays exactly once', { timeout: TEST_TIMEOUT_MS }, async () => {
  const { result, out } = await runOnTwoTaskManagers('fault', 'processing@0:150/1')
  assert.equal(result.status, 'FINISHED', result.error?.message)
  assert.equal(result.restarts, 1)
  const check = checkSequences(out, { keys: 6, n: 400 })
  assert.ok(check.ok, check.report)
})

test('unaligned checkpoints across two TaskManagers: barriers overtake records in flight over TCP, and a restart stays exactly once', { timeout: TEST_TIMEOUT_MS }, async () => {
  const { result, out } = await runOnTwoTaskManagers('unaligned', 'processing@0:150/1', { 'execution.checkpointing.unaligned': true })
  assert.equal(result.status, 'FINISHED', result.error?.message)
  assert.equal(result.restarts, 1)
  const check = checkSequences(out, { keys: 6, n: 400 })
  assert.ok(check.ok, check.report)
})

const slowSink = fileURLToPath(new URL('../../fixtures/jobs/slow-sink.ts', import.meta.url))

test('back-pressure across TCP: a slow sink on the other TaskManager holds the source to the credit window', { timeout: TEST_TIMEOUT_MS }, async () => {
  // One source subtask on tm-a; the rebalance sends half its records to the slow sink on tm-b.
  // Records in flight (emitted, not yet at a sink) stay within credits x batch per channel
  // (4 x 1024 on each of the 2 channels of the source), plus one partly filled batch and one
  // source poll (1024) per channel, with 2x slack for the two TaskManagers' metrics, which are
  // sampled apart. The sink is slow (2,000 records/s) so that even seconds between the two
  // samples on a loaded machine stay within that slack.
  const artifact = await bundleJob(slowSink)
  const dispatcher = new Dispatcher({ ha: new MemoryHaServices() })
  const tms = [new TaskManager('tm-a', 1), new TaskManager('tm-b', 1)]
  for (const tm of tms) dispatcher.slotPool.register(tm)
  try {
    const master = await dispatcher.submit({
      artifactUrl: artifact.url, args: ['--micros', '500', '--source-parallelism', '1', '--slow-subtask', '1'], config: { 'parallelism.default': 2 }, onStdout: () => {},
    })
    while (master.metrics.recordsOut < 5_000) {
      assert.equal(master.endTime, null, 'the job ended early')
      await new Promise((r) => setTimeout(r, 20))
    }
    let maxInFlight = 0
    const until = master.metrics.recordsOut + 6_000
    while (master.metrics.recordsOut < until) {
      const m = master.metrics
      maxInFlight = Math.max(maxInFlight, m.recordsIn - m.recordsOut)
      await new Promise((r) => setTimeout(r, 50))
    }
    const limit = 2 * (4 * 1024 * 2 + 2 * 1024 + 1024)
    assert.ok(maxInFlight <= limit, `${maxInFlight} records in flight, more than ${limit}`)
    await master.cancel()
    assert.equal((await master.result).status, 'CANCELED')
  } finally {
    await Promise.all(tms.map((t) => t.shutdown()))
    artifact.dispose()
  }
})
