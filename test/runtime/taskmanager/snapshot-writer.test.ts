// The asynchronous phase of a task's checkpoint: what it writes reads back as the snapshot that
// was captured, and the acknowledgement carries the sizes and the synchronous phase's timings.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { writeSnapshot } from '../../../src/runtime/taskmanager/snapshot-writer.ts'
import { readTaskRestore } from '../../../src/checkpoint/read-task-state.ts'
import { EMBEDDED } from '../../../src/checkpoint/sliced-encoding.ts'
import { decodeValue, encodeValue } from '../../../src/runtime/network/batch-codec.ts'
import type { TaskSnapshot } from '../../../src/runtime/taskmanager/task-snapshot.ts'
import type { CheckpointBarrier } from '../../../src/runtime/network/events.ts'
import { HeapKeyedStateBackend } from '../../../src/state/heap/keyed-state-backend.ts'
import { ValueStateDescriptor } from '../../../src/api/state.ts'

const barrier: CheckpointBarrier = { type: 'barrier', id: 7, timestamp: 0, isSavepoint: false, unaligned: false }
const timing = { syncMs: 1.5, alignmentMs: 2, startDelayMs: 3, unaligned: false, stateUids: ['counter'] }

test('a snapshot written to the file system reads back as captured, and its ack names the file and its size', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'weir-snapshot-writer-'))
  try {
    const snapshot: TaskSnapshot = { version: 1, operators: { counter: { state: { seen: 42 }, splits: ['split-0'] } } }
    let taken = 0
    const ack = await writeSnapshot({ location: { type: 'filesystem', dir }, vertex: 2, subtask: 1, attempt: 0 }, barrier, async () => (taken++, snapshot), timing, null)
    assert.equal(taken, 1)
    assert.equal(ack.vertex, 2)
    assert.equal(ack.subtask, 1)
    assert.equal(ack.handle?.type, 'file')
    // Relative to the checkpoint's directory, so that the checkpoint can be moved.
    const path = join(dir, (ack.handle as { path: string }).path)
    assert.ok(existsSync(path), path)
    assert.equal((ack.handle as { size: number }).size, statSync(path).size)
    assert.ok(ack.stateSize > 0)
    assert.equal(ack.checkpointedSize, ack.stateSize, 'no shared files: everything was written for this checkpoint')
    assert.equal(ack.persistedBytes, 0)
    assert.deepEqual([ack.syncMs, ack.alignmentMs, ack.startDelayMs, ack.unaligned, ack.stateUids], [1.5, 2, 3, false, ['counter']])
    assert.equal(ack.sharedFiles, undefined)
    const restored = readTaskRestore([{ handle: { type: 'file', path, size: statSync(path).size }, keyed: true, operatorState: true, rescaled: false }])
    assert.deepEqual(restored.operators.counter!.states, [{ seen: 42 }])
    assert.deepEqual(restored.operators.counter!.splits, ['split-0'])
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test("an unaligned checkpoint's in-flight records are counted as persisted bytes, once they are all captured", async () => {
  let channelsCaptured!: () => void
  const ready = new Promise<void>((resolve) => (channelsCaptured = resolve))
  let snapshotTaken = false
  // Past the sliced encoding's threshold (4 096): the bytes written differ from a plain encoding.
  const channels = { inputs: { 3: Array.from({ length: 5000 }, (_, i) => `record-${i}`) }, outputs: { 1: [{ n: 1 }] } }
  const snapshot: TaskSnapshot = { version: 1, operators: { op: { state: 'x' } }, channels }
  const writing = writeSnapshot({ location: { type: 'jobmanager', maxStateBytes: 1 << 20 }, vertex: 0, subtask: 0, attempt: 0 }, { ...barrier, unaligned: true }, async () => ((snapshotTaken = true), snapshot), { ...timing, unaligned: true }, ready)
  await new Promise((r) => setImmediate(r))
  assert.equal(snapshotTaken, false, 'the snapshot waits for the channel state')
  channelsCaptured()
  const ack = await writing
  assert.equal(ack.handle?.type, 'inline')
  assert.equal(ack.unaligned, true)
  // The bytes counted are the in-flight records' document in what was written, not a second encoding.
  const written = decodeValue<{ channels: Record<string, Uint8Array> }>((ack.handle as { bytes: Uint8Array }).bytes)
  assert.equal(ack.persistedBytes, written.channels[EMBEDDED]!.length)
  assert.notEqual(ack.persistedBytes, encodeValue(channels).length, 'a plain encoding of the records has another length')
  assert.ok(ack.stateSize > ack.persistedBytes!, 'the state size counts them too')
  const restored = readTaskRestore([{ handle: ack.handle!, keyed: true, operatorState: true, rescaled: false }])
  assert.deepEqual(restored.channels, channels)
  assert.deepEqual(restored.operators.op!.states, ['x'])
})

test('a snapshot that fails to serialize rejects, for the task to decline the checkpoint', async () => {
  await assert.rejects(writeSnapshot({ location: { type: 'jobmanager', maxStateBytes: 1 << 20 }, vertex: 0, subtask: 0, attempt: 0 }, barrier, async () => { throw new Error('state too odd') }, timing, null), /state too odd/)
})

test("a heap backend's incremental snapshot counts its shared files: all of them in the state size, this checkpoint's in the checkpointed size", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'weir-snapshot-writer-'))
  try {
    const backend = new HeapKeyedStateBackend(128, Date.now, { sharedDir: join(dir, 'shared'), filePrefix: 'op-0' })
    const count = backend.getState(new ValueStateDescriptor<number>('count'))
    for (let k = 0; k < 2000; k++) {
      backend.setCurrentKey(`key-${k}`)
      count.update(k)
    }
    const write = async (id: number) => {
      const keyed = await backend.materializeSnapshot(backend.captureSnapshot(id, { savepoint: false }))
      const ack = await writeSnapshot({ location: { type: 'filesystem', dir }, vertex: 1, subtask: 0, attempt: 0 }, { ...barrier, id }, async () => ({ version: 1, operators: { count: { keyed } } }), timing, null)
      backend.notifyCheckpointComplete(id)
      return ack
    }
    const first = await write(1)
    const segments = readdirSync(join(dir, 'shared')).map((f) => statSync(join(dir, 'shared', f)).size)
    const segmentBytes = segments.reduce((a, b) => a + b, 0)
    assert.ok(segmentBytes > 2000, `the base's segments hold 2000 entries: ${segmentBytes} bytes`)
    assert.ok(first.stateSize > segmentBytes, `state size ${first.stateSize} counts the segments (${segmentBytes} bytes) and the task's file`)
    assert.equal(first.checkpointedSize, first.stateSize, 'the first checkpoint wrote its base')
    // One key changed: the delta is small, the full size still counts the base.
    backend.setCurrentKey('key-7')
    count.update(-1)
    const second = await write(2)
    assert.ok(second.stateSize > segmentBytes, `state size ${second.stateSize} still counts the base`)
    assert.ok(second.checkpointedSize! < second.stateSize - segmentBytes / 2, `checkpointed size ${second.checkpointedSize} is the delta, not the base`)
    backend.dispose()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
