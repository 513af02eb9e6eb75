// A slot's runtime in this thread (no worker): what it reports to the JobManager.

import { test, mock } from 'node:test'
import { MessageChannel } from 'node:worker_threads'
import assert from 'node:assert/strict'
import { defineJob, DiscardingSink } from '../../../src/index.ts'
import { compileJob } from '../../../src/runtime/compile.ts'
import { TaskExecutor } from '../../../src/runtime/taskmanager/task-executor.ts'
import { MessagePortTransport } from '../../../src/runtime/network/message-port-link.ts'
import { SourceCoordinator } from '../../../src/runtime/jobmanager/source-coordinator.ts'
import type { FromWorker } from '../../../src/runtime/messages.ts'

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 60_000
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setImmediate(r))
  }
}

test('a slot reports its first records as soon as a source emitted them, without waiting for the metrics tick', { timeout: 120_000 }, async () => {
  // The periodic metrics tick (a setInterval) never fires here: only the early report can say so.
  mock.timers.enable({ apis: ['setInterval'] })
  try {
    const job = compileJob(defineJob('early metrics', (env) => {
      env.fromSequence(0, 1e12).map((n) => n + 1).sinkTo(new DiscardingSink())
    }), [], { 'parallelism.default': 1 })
    const messages: FromWorker[] = []
    let coordinator: SourceCoordinator | null = null
    const executor = new TaskExecutor(job, 0, 1, new MessagePortTransport(new Map()), (m) => {
      messages.push(m)
      if (m.type === 'split-request') coordinator!.handleSplitRequest(m.subtask)
    }, 0, 'a'.repeat(32), { periodic: false, exactlyOnce: true, unaligned: false, alignedTimeoutMs: 0, storage: { type: 'jobmanager', maxStateBytes: 1 << 20 } }, null)
    const source = job.graph.vertices[0]!
    const head = source.operators[0]!
    assert.equal(head.kind, 'source')
    coordinator = new SourceCoordinator(source.id, source.parallelism, (head as { source: ConstructorParameters<typeof SourceCoordinator>[2] }).source, (_subtask, m) => executor.onControl(m))
    coordinator.start()
    executor.start()
    await until(() => messages.some((m) => m.type === 'metrics' && m.recordsIn > 0), 'a metrics report with records')
    // Once: later reports are the tick's.
    const early = messages.filter((m) => m.type === 'metrics')
    assert.equal(early.length, 1)
    executor.onControl({ type: 'cancel' })
    await until(() => messages.some((m) => m.type === 'canceled'), 'the cancel to be answered')
    coordinator.close()
  } finally {
    mock.timers.reset()
  }
})

test('a batch that cannot be decoded fails the slot with WEIR_NETWORK_FRAME_INVALID instead of crashing the thread', { timeout: 120_000 }, async () => {
  const job = compileJob(defineJob('malformed batch', (env) => {
    env.fromSequence(0, 1e12).keyBy((n) => n % 10).map((n) => n).sinkTo(new DiscardingSink())
  }), [], { 'parallelism.default': 2 })
  const messages: FromWorker[] = []
  // Slot 0 of 2, linked to slot 1 over a MessageChannel whose other end this test holds.
  const { port1, port2 } = new MessageChannel()
  const executor = new TaskExecutor(job, 0, 2, new MessagePortTransport(new Map([[1, port1]])), (m) => messages.push(m), 0, 'b'.repeat(32),
    { periodic: false, exactlyOnce: true, unaligned: false, alignedTimeoutMs: 0, storage: { type: 'jobmanager', maxStateBytes: 1 << 20 } }, null)
  try {
    // The keyed map's input channel from subtask 1's source, which lives in slot 1.
    const remoteInputs = [...(executor as unknown as { inputChannels: Map<number, unknown> }).inputChannels.keys()]
    assert.ok(remoteInputs.length > 0, 'slot 0 has an input channel from slot 1')
    port2.postMessage({ c: remoteInputs[0], b: Uint8Array.from([0x42, 1, 2, 3]) })
    await until(() => messages.some((m) => m.type === 'failed'), 'the slot to report the failure')
    const failed = messages.find((m) => m.type === 'failed') as Extract<FromWorker, { type: 'failed' }>
    assert.equal(failed.error.code, 'WEIR_NETWORK_FRAME_INVALID')
    assert.match(failed.error.message, /input channel \d+ received 4 bytes that are not a batch of records/)
  } finally {
    port1.close()
    port2.close()
  }
})

test('a batch, an event or a credit for a channel the slot does not have fails the slot with WEIR_NETWORK_FRAME_INVALID instead of crashing the thread', { timeout: 120_000 }, async () => {
  const job = compileJob(defineJob('unknown channel', (env) => {
    env.fromSequence(0, 1e12).keyBy((n) => n % 10).map((n) => n).sinkTo(new DiscardingSink())
  }), [], { 'parallelism.default': 2 })
  for (const message of [{ c: 99_999, b: Uint8Array.from([1, 2, 3]) }, { c: 99_999, e: { type: 'end-of-partition' } }, { c: 99_999, k: 4 }]) {
    const messages: FromWorker[] = []
    const { port1, port2 } = new MessageChannel()
    const executor = new TaskExecutor(job, 0, 2, new MessagePortTransport(new Map([[1, port1]])), (m) => messages.push(m), 0, 'c'.repeat(32),
      { periodic: false, exactlyOnce: true, unaligned: false, alignedTimeoutMs: 0, storage: { type: 'jobmanager', maxStateBytes: 1 << 20 } }, null)
    try {
      assert.ok(!(executor as unknown as { inputChannels: Map<number, unknown> }).inputChannels.has(99_999))
      port2.postMessage(message)
      await until(() => messages.some((m) => m.type === 'failed'), 'the slot to report the failure')
      const failed = messages.find((m) => m.type === 'failed') as Extract<FromWorker, { type: 'failed' }>
      assert.equal(failed.error.code, 'WEIR_NETWORK_FRAME_INVALID')
      assert.match(failed.error.message, /for channel 99999, which no task of this slot has: refused/)
    } finally {
      port1.close()
      port2.close()
    }
  }
})
