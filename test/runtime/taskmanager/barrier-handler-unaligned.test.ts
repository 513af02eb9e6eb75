// The unaligned states of BarrierHandler, with a fake host that records every call: priority
// barriers, recording channels until their barrier arrives, end of partition, the switch from
// aligned to unaligned on the aligned-checkpoint timeout, newer barriers aborting older
// recordings, and stale barriers.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { BarrierHandler, type BarrierHandlerHost } from '../../../src/runtime/taskmanager/barrier-handler.ts'
import type { CheckpointBarrier } from '../../../src/runtime/network/events.ts'

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
  snapshotUnaligned(barrier: CheckpointBarrier, done: ReadonlySet<number>, alignmentMs: number): void {
    this.calls.push(`snapshot-unaligned ${barrier.id} done=[${[...done].sort((a, b) => a - b).join(',')}] after ${alignmentMs}ms`)
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
  abortCheckpoint(checkpointId: number): void {
    this.calls.push(`abort ${checkpointId}`)
  }
  now(): number {
    return this.time
  }
  take(): string[] {
    return this.calls.splice(0)
  }
}

const aligned = (id: number): CheckpointBarrier => ({ type: 'barrier', id, timestamp: id * 100, isSavepoint: false, unaligned: false })
const unaligned = (id: number): CheckpointBarrier => ({ type: 'barrier', id, timestamp: id * 100, isSavepoint: false, unaligned: true })

function setup(channels: number): { host: RecordingHost; handler: BarrierHandler } {
  const host = new RecordingHost()
  return { host, handler: new BarrierHandler(host, channels, true) }
}

test('a priority barrier while idle snapshots at once and marks its own channel as reached', () => {
  const { host, handler } = setup(3)
  handler.onPriorityBarrier(1, unaligned(1))
  assert.deepEqual(host.take(), ['snapshot-unaligned 1 done=[] after 0ms', 'reached 1 1'])
  assert.equal(handler.isAligning, false, 'unaligned checkpoints do not align')
})

test('other channels keep recording until their barrier arrives; channel state completes once, after the last', () => {
  const { host, handler } = setup(3)
  handler.onPriorityBarrier(0, unaligned(4))
  host.take()
  handler.onPriorityBarrier(2, unaligned(4))
  assert.deepEqual(host.take(), ['reached 2 4'])
  // The same barrier again (its in-order copy, or a duplicate) changes nothing.
  handler.onPriorityBarrier(2, unaligned(4))
  handler.onBarrier(0, unaligned(4))
  assert.deepEqual(host.take(), [])
  handler.onPriorityBarrier(1, unaligned(4))
  assert.deepEqual(host.take(), ['reached 1 4', 'channel-state 4'])
  // In-order copies of the barrier that come after completion are stale.
  handler.onBarrier(1, unaligned(4))
  handler.onBarrier(2, unaligned(4))
  handler.onPriorityBarrier(0, unaligned(4))
  assert.deepEqual(host.take(), [])
})

test('an unaligned barrier taken in order (onBarrier) is handled as a priority barrier', () => {
  const { host, handler } = setup(2)
  handler.onBarrier(1, unaligned(2))
  assert.deepEqual(host.take(), ['snapshot-unaligned 2 done=[] after 0ms', 'reached 1 2'])
  handler.onBarrier(0, unaligned(2))
  assert.deepEqual(host.take(), ['reached 0 2', 'channel-state 2'])
})

test('end of partition completes a recording channel', () => {
  const { host, handler } = setup(3)
  handler.onPriorityBarrier(0, unaligned(1))
  host.take()
  handler.onEndOfPartition(2)
  assert.deepEqual(host.take(), [])
  handler.onEndOfPartition(1)
  assert.deepEqual(host.take(), ['channel-state 1'])
})

test('channels that ended before the barrier are not waited for', () => {
  const { host, handler } = setup(3)
  handler.onEndOfPartition(0)
  handler.onEndOfPartition(2)
  host.take()
  handler.onPriorityBarrier(1, unaligned(7))
  assert.deepEqual(host.take(), ['snapshot-unaligned 7 done=[] after 0ms', 'reached 1 7', 'channel-state 7'])
})

test('channelStateComplete is called exactly once per checkpoint', () => {
  const { host, handler } = setup(4)
  for (const c of [3, 0, 2, 1]) handler.onPriorityBarrier(c, unaligned(1))
  handler.onEndOfPartition(2)
  handler.onPriorityBarrier(1, unaligned(1))
  assert.equal(host.take().filter((c) => c.startsWith('channel-state')).length, 1)
  // The next checkpoint works the same way.
  for (const c of [0, 1, 3]) handler.onPriorityBarrier(c, unaligned(2))
  assert.deepEqual(host.take(), ['snapshot-unaligned 2 done=[] after 0ms', 'reached 0 2', 'reached 1 2', 'reached 3 2', 'channel-state 2'])
})

test('a newer priority barrier aborts the older recording and starts its own', () => {
  const { host, handler } = setup(2)
  handler.onPriorityBarrier(0, unaligned(1))
  host.take()
  handler.onPriorityBarrier(0, unaligned(2))
  const calls = host.take()
  assert.ok(calls.includes('abort 1'), calls.join(' | '))
  assert.ok(!calls.includes('channel-state 1'), 'the aborted checkpoint never completes')
  assert.deepEqual(calls.filter((c) => !c.startsWith('unblock')), ['abort 1', 'snapshot-unaligned 2 done=[] after 0ms', 'reached 0 2'])
  // The old checkpoint's barrier arriving late is stale.
  handler.onPriorityBarrier(1, unaligned(1))
  assert.deepEqual(host.take(), [])
  handler.onPriorityBarrier(1, unaligned(2))
  assert.deepEqual(host.take(), ['reached 1 2', 'channel-state 2'])
})

test('a newer aligned barrier aborts an unaligned recording', () => {
  const { host, handler } = setup(2)
  handler.onPriorityBarrier(0, unaligned(1))
  host.take()
  handler.onBarrier(1, aligned(2))
  const calls = host.take()
  assert.ok(calls.includes('abort 1'), calls.join(' | '))
  assert.ok(calls.includes('block 1'), calls.join(' | '))
  assert.equal(handler.aligningId, 2)
})

test('the alignment timeout switches an aligning checkpoint to unaligned: done = channels seen, unblock, complete when the rest arrive', () => {
  const { host, handler } = setup(4)
  host.time = 10
  handler.onBarrier(0, aligned(3))
  handler.onBarrier(2, aligned(3))
  assert.deepEqual(host.take(), ['block 0', 'block 2'])
  assert.equal(handler.aligningId, 3)
  host.time = 35
  handler.onAlignmentTimeout(3)
  assert.deepEqual(host.take(), ['snapshot-unaligned 3 done=[0,2] after 25ms', 'unblock'])
  assert.equal(handler.isAligning, false)
  assert.equal(handler.aligningId, null)
  // The remaining barriers arrive in order (aligned barriers) on channels being recorded.
  handler.onBarrier(3, aligned(3))
  assert.deepEqual(host.take(), ['reached 3 3'])
  handler.onBarrier(1, aligned(3))
  assert.deepEqual(host.take(), ['reached 1 3', 'channel-state 3'])
  // No aligned snapshot on top of the unaligned one.
  assert.ok(!host.calls.some((c) => c.startsWith('snapshot 3')))
})

test('the alignment timeout with the only missing channel ended meanwhile completes at once', () => {
  const { host, handler } = setup(2)
  handler.onBarrier(0, aligned(1))
  host.take()
  handler.onEndOfPartition(1)
  // Alignment completed through the end of partition: the timeout comes too late and does nothing.
  assert.deepEqual(host.take(), ['snapshot 1 after 0ms', 'unblock'])
  handler.onAlignmentTimeout(1)
  assert.deepEqual(host.take(), [])
})

test('a timeout for another checkpoint, or when nothing is aligning, is ignored', () => {
  const { host, handler } = setup(2)
  handler.onAlignmentTimeout(1)
  assert.deepEqual(host.take(), [])
  handler.onBarrier(0, aligned(5))
  host.take()
  handler.onAlignmentTimeout(4)
  assert.deepEqual(host.take(), [])
  assert.equal(handler.aligningId, 5)
  handler.onBarrier(1, aligned(5))
  assert.deepEqual(host.take(), ['block 1', 'snapshot 5 after 0ms', 'unblock'])
  handler.onAlignmentTimeout(5)
  assert.deepEqual(host.take(), [], 'the timeout of a completed checkpoint does nothing')
})

test('end of partition after a switch to unaligned completes the recording', () => {
  const { host, handler } = setup(3)
  handler.onBarrier(1, aligned(2))
  host.take()
  handler.onAlignmentTimeout(2)
  host.take()
  handler.onEndOfPartition(0)
  assert.deepEqual(host.take(), [])
  handler.onBarrier(2, aligned(2))
  assert.deepEqual(host.take(), ['reached 2 2', 'channel-state 2'])
})

test('stale barriers (older than the last completed or aborted checkpoint) are ignored in every state', () => {
  const { host, handler } = setup(2)
  handler.onPriorityBarrier(0, unaligned(5))
  handler.onPriorityBarrier(1, unaligned(5))
  host.take()
  handler.onPriorityBarrier(0, unaligned(3))
  handler.onBarrier(1, aligned(4))
  assert.deepEqual(host.take(), [])
  // While recording 6, an older barrier does not disturb it.
  handler.onPriorityBarrier(0, unaligned(6))
  host.take()
  handler.onPriorityBarrier(1, unaligned(5))
  handler.onBarrier(1, aligned(5))
  assert.deepEqual(host.take(), [])
  handler.onPriorityBarrier(1, unaligned(6))
  assert.deepEqual(host.take(), ['reached 1 6', 'channel-state 6'])
  // An aborted checkpoint's barriers are stale too.
  handler.onAbort(7)
  handler.onPriorityBarrier(0, unaligned(7))
  assert.deepEqual(host.take(), [])
})

test('the coordinator aborting the checkpoint being recorded stops the recording', () => {
  const { host, handler } = setup(2)
  handler.onPriorityBarrier(0, unaligned(1))
  host.take()
  handler.onAbort(1)
  const calls = host.take()
  assert.ok(calls.includes('abort 1'))
  handler.onPriorityBarrier(1, unaligned(1))
  assert.deepEqual(host.take(), [], 'no channel state for the aborted checkpoint')
  handler.onPriorityBarrier(1, unaligned(2))
  assert.deepEqual(host.take(), ['snapshot-unaligned 2 done=[] after 0ms', 'reached 1 2'])
})

test('on an alignment timeout a barrier already queued behind records overtakes them at once', () => {
  const host = new RecordingHost()
  const handler = new BarrierHandler(host, 3, true)
  const b: CheckpointBarrier = { type: 'barrier', id: 7, timestamp: 0, isSavepoint: false, unaligned: false }
  handler.onBarrier(0, b)
  host.take()
  host.queued.add(2)
  handler.onAlignmentTimeout(7)
  const calls = host.take()
  assert.ok(calls.includes('reached 2 7'), calls.join('; '))
  assert.ok(!calls.includes('reached 1 7'), calls.join('; '))
  assert.ok(!calls.includes('channel-state 7'), 'channel 1 has not delivered its barrier yet')
})
