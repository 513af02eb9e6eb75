import { test } from 'node:test'
import assert from 'node:assert/strict'
import { BarrierHandler, type BarrierHandlerHost } from '../../../src/runtime/taskmanager/barrier-handler.ts'
import type { CheckpointBarrier } from '../../../src/runtime/network/events.ts'

/** A host that records every call as a short string, with a settable clock. */
class RecordingHost implements BarrierHandlerHost {
  readonly calls: string[] = []
  time = 0
  blockChannel(channel: number): void {
    this.calls.push(`block ${channel}`)
  }
  unblockAllChannels(): void {
    this.calls.push('unblock')
  }
  snapshotAndForward(barrier: CheckpointBarrier, alignmentMs: number): void {
    this.calls.push(`snapshot ${barrier.id} after ${alignmentMs}ms`)
  }
  snapshotUnaligned(barrier: CheckpointBarrier): void {
    this.calls.push(`snapshot-unaligned ${barrier.id}`)
  }
  barrierReachedChannel(channel: number, id: number): void {
    this.calls.push(`reached ${channel} ${id}`)
  }
  /** Barriers queued behind records, by channel (set by a test). */
  queued = new Set<number>()
  isBarrierQueued(channel: number): boolean {
    return this.queued.has(channel)
  }
  channelStateComplete(id: number): void {
    this.calls.push(`channel-state ${id}`)
  }
  abortCheckpoint(checkpointId: number, reason: string): void {
    this.calls.push(`abort ${checkpointId}: ${reason}`)
  }
  now(): number {
    return this.time
  }
  /** The calls since the last take. */
  take(): string[] {
    return this.calls.splice(0)
  }
}

const barrier = (id: number): CheckpointBarrier => ({ type: 'barrier', id, timestamp: id * 100, isSavepoint: false, unaligned: false })

function setup(channels: number, exactlyOnce = true): { host: RecordingHost; handler: BarrierHandler } {
  const host = new RecordingHost()
  return { host, handler: new BarrierHandler(host, channels, exactlyOnce) }
}

test('exactly-once blocks each channel that delivered the barrier and snapshots only when all channels did, then unblocks', () => {
  const { host, handler } = setup(3)
  handler.onBarrier(1, barrier(1))
  assert.deepEqual(host.take(), ['block 1'])
  assert.equal(handler.isAligning, true)
  handler.onBarrier(0, barrier(1))
  assert.deepEqual(host.take(), ['block 0'])
  handler.onBarrier(2, barrier(1))
  assert.deepEqual(host.take(), ['block 2', 'snapshot 1 after 0ms', 'unblock'])
  assert.equal(handler.isAligning, false)
})

test('a task with one input channel snapshots on its first barrier', () => {
  const { host, handler } = setup(1)
  handler.onBarrier(0, barrier(4))
  assert.deepEqual(host.take(), ['block 0', 'snapshot 4 after 0ms', 'unblock'])
})

test('the barrier delivered twice on one channel does not count for another channel', () => {
  const { host, handler } = setup(2)
  handler.onBarrier(0, barrier(1))
  handler.onBarrier(0, barrier(1))
  assert.ok(!host.take().some((c) => c.startsWith('snapshot')))
  assert.equal(handler.isAligning, true)
})

test('at-least-once counts barriers the same way but never blocks a channel', () => {
  const { host, handler } = setup(3, false)
  handler.onBarrier(0, barrier(1))
  handler.onBarrier(2, barrier(1))
  assert.deepEqual(host.take(), [])
  handler.onBarrier(1, barrier(1))
  assert.deepEqual(host.take(), ['snapshot 1 after 0ms'])
})

test('the alignment time is measured with host.now() from the first barrier to the last', () => {
  const { host, handler } = setup(2)
  host.time = 1000
  handler.onBarrier(0, barrier(1))
  host.time = 1250
  handler.onBarrier(1, barrier(1))
  assert.ok(host.take().includes('snapshot 1 after 250ms'))
})

test('a channel that ended before the checkpoint counts as aligned', () => {
  const { host, handler } = setup(3)
  handler.onEndOfPartition(2)
  assert.deepEqual(host.take(), [])
  handler.onBarrier(0, barrier(1))
  handler.onBarrier(1, barrier(1))
  assert.deepEqual(host.take(), ['block 0', 'block 1', 'snapshot 1 after 0ms', 'unblock'])
})

test('a channel that ends while aligning completes the alignment when it was the last one missing', () => {
  const { host, handler } = setup(2)
  host.time = 10
  handler.onBarrier(0, barrier(1))
  host.time = 30
  handler.onEndOfPartition(1)
  assert.deepEqual(host.take(), ['block 0', 'snapshot 1 after 20ms', 'unblock'])
  // The next checkpoint needs only the live channel.
  handler.onBarrier(0, barrier(2))
  assert.deepEqual(host.take(), ['block 0', 'snapshot 2 after 0ms', 'unblock'])
})

test('a channel ending while others are still missing does not complete the alignment', () => {
  const { host, handler } = setup(3)
  handler.onBarrier(0, barrier(1))
  handler.onEndOfPartition(1)
  assert.deepEqual(host.take(), ['block 0'])
  handler.onBarrier(2, barrier(1))
  assert.deepEqual(host.take(), ['block 2', 'snapshot 1 after 0ms', 'unblock'])
})

test('a newer barrier while aligning aborts the older checkpoint and starts aligning the new one', () => {
  const { host, handler } = setup(2)
  handler.onBarrier(0, barrier(1))
  host.take()
  handler.onBarrier(1, barrier(2))
  const calls = host.take()
  assert.equal(calls[0], 'unblock')
  assert.match(calls[1]!, /^abort 1: /)
  assert.deepEqual(calls.slice(2), ['block 1'])
  handler.onBarrier(0, barrier(2))
  assert.deepEqual(host.take(), ['block 0', 'snapshot 2 after 0ms', 'unblock'])
})

test('a barrier of the aborted checkpoint arriving late is ignored', () => {
  const { host, handler } = setup(2)
  handler.onBarrier(0, barrier(1))
  handler.onBarrier(1, barrier(2))
  host.take()
  handler.onBarrier(1, barrier(1))
  assert.deepEqual(host.take(), [])
  assert.equal(handler.isAligning, true)
})

test('barriers older than or equal to the last handled checkpoint are ignored', () => {
  const { host, handler } = setup(2)
  handler.onBarrier(0, barrier(3))
  handler.onBarrier(1, barrier(3))
  host.take()
  handler.onBarrier(0, barrier(3))
  handler.onBarrier(1, barrier(2))
  assert.deepEqual(host.take(), [])
  assert.equal(handler.isAligning, false)
})

test('an abort from the coordinator during alignment unblocks the channels and aborts the checkpoint', () => {
  const { host, handler } = setup(2)
  handler.onBarrier(0, barrier(5))
  host.take()
  handler.onAbort(5)
  const calls = host.take()
  assert.equal(calls[0], 'unblock')
  assert.match(calls[1]!, /^abort 5: the checkpoint was aborted/)
  assert.equal(calls.length, 2)
  assert.equal(handler.isAligning, false)
  handler.onBarrier(1, barrier(5))
  assert.deepEqual(host.take(), [], 'the rest of the aborted checkpoint\'s barriers are stale')
})

test('an abort of a newer checkpoint also stops the alignment of an older one', () => {
  const { host, handler } = setup(2)
  handler.onBarrier(0, barrier(5))
  host.take()
  handler.onAbort(6)
  assert.match(host.take().join('\n'), /abort 5/)
  handler.onBarrier(0, barrier(6))
  assert.deepEqual(host.take(), [], 'barrier 6 was aborted before it arrived')
})

test('an abort of an older checkpoint leaves the current alignment alone', () => {
  const { host, handler } = setup(2)
  handler.onBarrier(0, barrier(5))
  host.take()
  handler.onAbort(4)
  assert.deepEqual(host.take(), [])
  assert.equal(handler.isAligning, true)
  handler.onBarrier(1, barrier(5))
  assert.deepEqual(host.take(), ['block 1', 'snapshot 5 after 0ms', 'unblock'])
})

test('an abort while idle makes that checkpoint\'s barriers stale', () => {
  const { host, handler } = setup(1)
  handler.onAbort(2)
  handler.onBarrier(0, barrier(2))
  handler.onBarrier(0, barrier(1))
  assert.deepEqual(host.take(), [])
  handler.onBarrier(0, barrier(3))
  assert.deepEqual(host.take(), ['block 0', 'snapshot 3 after 0ms', 'unblock'])
})

test('at-least-once aborts an older checkpoint on a newer barrier without unblocking anything', () => {
  const { host, handler } = setup(2, false)
  handler.onBarrier(0, barrier(1))
  handler.onBarrier(1, barrier(2))
  const calls = host.take()
  assert.equal(calls.length, 1)
  assert.match(calls[0]!, /^abort 1: /)
})
