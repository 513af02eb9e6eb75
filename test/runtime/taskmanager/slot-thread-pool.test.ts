// Spare slot threads: started ahead of need with the runtime loaded, handed out to deployments,
// never reused after their slots stopped (a restart gets a fresh thread), refilled once the new
// slots run, and all gone when the TaskManager shuts down.

import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { bundleJob } from '../../../src/cli/bundle.ts'
import { Dispatcher } from '../../../src/runtime/jobmanager/dispatcher.ts'
import { MemoryHaServices } from '../../../src/runtime/jobmanager/ha/memory-ha-services.ts'
import { defaultSlotThreads, spareSlotThreads, TaskManager } from '../../../src/runtime/taskmanager/task-manager.ts'
import { SlotThreadPool } from '../../../src/runtime/taskmanager/slot-thread-pool.ts'
import { checkSequences } from '../../helpers/sequence-check.ts'

const sequenceJob = fileURLToPath(new URL('../../fixtures/recovery/sequence-job.ts', import.meta.url))
const root = mkdtempSync(join(tmpdir(), 'weir-slot-thread-pool-test-'))
after(() => rmSync(root, { recursive: true, force: true }))

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 120_000
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

test('spares: as many as the slots use for a standalone TaskManager, none for the embedded one unless configured, never more than the slots use', () => {
  assert.equal(spareSlotThreads(-1, 4, 0, true), 4)
  assert.equal(spareSlotThreads(-1, 4, 0, false), 0)
  assert.equal(spareSlotThreads(-1, 200, 0, true), defaultSlotThreads(200))
  assert.equal(spareSlotThreads(-1, 8, 2, true), 2)
  assert.equal(spareSlotThreads(1, 4, 0, false), 1)
  assert.equal(spareSlotThreads(16, 2, 0, true), 2)
  assert.equal(spareSlotThreads(0, 4, 0, true), 0)
})

test('a pool starts its spares, hands them out once each, refills on request and terminates its spares on close', { timeout: 120_000 }, async () => {
  const none = new SlotThreadPool(0)
  assert.equal(none.spareCount, 0)
  assert.equal(none.started, 0, 'a pool of size 0 starts threads only on demand')
  const pool = new SlotThreadPool(2)
  assert.equal(pool.spareCount, 2)
  await pool.whenReady()
  assert.equal(pool.readySpares, 2)
  const a = pool.take('test-a')
  const b = pool.take('test-b')
  assert.notEqual(a.threadId, b.threadId)
  assert.equal(pool.handedOutSpares, 2)
  assert.equal(pool.spareCount, 0)
  pool.refill()
  assert.equal(pool.spareCount, 2)
  assert.equal(pool.started, 4)
  await pool.close()
  // The spares are gone; the two handed out are their users' to stop.
  await until(() => pool.live === 2, 'the spares to exit')
  pool.refill()
  assert.equal(pool.spareCount, 0, 'a closed pool starts nothing')
  // (Both had loaded the runtime and sit idle: terminating them is safe.)
  await Promise.all([a, b].map((w) => w.terminate()))
  await until(() => pool.live === 0, 'every thread to exit')
})

test('refilling next to running slots starts one spare at a time until the pool is full', { timeout: 120_000 }, async () => {
  const pool = new SlotThreadPool(3)
  await pool.whenReady()
  const taken = [pool.take('test-a'), pool.take('test-b'), pool.take('test-c')]
  assert.equal(pool.spareCount, 0)
  pool.refillGradually()
  assert.equal(pool.spareCount, 1)
  let mostLoading = 0
  await until(() => {
    mostLoading = Math.max(mostLoading, pool.spareCount - pool.readySpares)
    return pool.readySpares === 3
  }, 'three ready spares')
  assert.equal(mostLoading, 1, 'more than one spare loaded at once')
  assert.equal(pool.started, 6)
  await pool.close()
  await Promise.all(taken.map((w) => w.terminate()))
  await until(() => pool.live === 0, 'every thread to exit')
})

test('a restart after a failure runs on a fresh spare thread, never the one the failed attempt used; the pool refills, and nothing is left after shutdown', { timeout: 300_000 }, async () => {
  const tm = new TaskManager('tm', 2, undefined, 0, 2)
  await tm.threads.whenReady()
  const used: number[] = []
  const take = tm.threads.take.bind(tm.threads)
  tm.threads.take = (name) => {
    const w = take(name)
    used.push(w.threadId)
    return w
  }
  const out = join(root, 'restart', 'out')
  const artifact = await bundleJob(sequenceJob)
  const dispatcher = new Dispatcher({ ha: new MemoryHaServices(), slotsFor: () => 2 })
  dispatcher.slotPool.register(tm)
  try {
    const master = await dispatcher.submit({
      artifactUrl: artifact.url,
      args: ['--out', out, '--keys', '4', '--n', '300', '--faults', 'processing@0:100/1', '--gate', 'true'],
      config: {
        'parallelism.default': 2, 'execution.checkpointing.interval': '50ms', 'state.checkpoints.dir': join(root, 'restart', 'checkpoints'),
        'restart-strategy.type': 'fixed-delay', 'restart-strategy.fixed-delay.attempts': 3, 'restart-strategy.fixed-delay.delay': '0ms',
      },
    })
    const result = await master.result
    assert.equal(result.status, 'FINISHED', result.error?.message)
    assert.equal(result.restarts, 1)
    // Two attempts of two slots, each in a thread of its own: four distinct threads. The first
    // attempt took the two spares; once its slots ran, the pool began to refill (one spare at a
    // time), so the restart found at least one spare.
    assert.equal(used.length, 4)
    assert.equal(new Set(used).size, 4, `threads reused: ${used.join(', ')}`)
    assert.ok(tm.threads.handedOutSpares >= 3, `${tm.threads.handedOutSpares} spares handed out`)
    const check = checkSequences(out, { keys: 4, n: 300 })
    assert.ok(check.ok, check.report)
    // Refilled after the second attempt's slots ran.
    await until(() => tm.threads.spareCount === 2, 'the pool to refill')
  } finally {
    await tm.shutdown()
    artifact.dispose()
  }
  await until(() => tm.threads.live === 0, 'every thread of the TaskManager to exit')
  assert.equal(tm.threads.spareCount, 0)
})
