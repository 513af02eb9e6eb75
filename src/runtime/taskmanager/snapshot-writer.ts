// The asynchronous phase of a task's checkpoint: the snapshot captured in the synchronous phase
// is serialized in slices (so that a large state does not hold the task thread for long), written
// to the checkpoint's location, and described in the acknowledgement the JobManager receives,
// with Flink's two sizes for incremental state (the full size and the bytes written for this one).

import type { CheckpointBarrier } from '../network/events.ts'
import type { CheckpointLocation } from '../../checkpoint/storage/checkpoint-storage.ts'
import type { TaskAck } from '../../checkpoint/state-handle.ts'
import type { SnapshotTiming } from './task-host.ts'
import { hasInFlightRecords, type TaskSnapshot } from './task-snapshot.ts'
import { writeTaskState } from '../../checkpoint/storage/task-state-writer.ts'
import { chunksLength, EncodedPart, encodeInSlices } from '../../checkpoint/sliced-encoding.ts'
import { sharedFilesOf, sharedBytesOf } from '../../state/lmdb/shared-file-registry.ts'

/** Which subtask of which attempt the snapshot belongs to, and where it goes. */
export interface SnapshotTarget {
  readonly location: CheckpointLocation
  readonly vertex: number
  readonly subtask: number
  readonly attempt: number
}

/**
 * Serializes and writes a task's snapshot; returns its acknowledgement. `channelStateReady`
 * settles once an unaligned checkpoint's in-flight records are all captured.
 */
export async function writeSnapshot(target: SnapshotTarget, barrier: CheckpointBarrier, snapshot: () => Promise<TaskSnapshot>, timing: SnapshotTiming, channelStateReady: Promise<void> | null): Promise<TaskAck> {
  const started = performance.now()
  if (channelStateReady) await channelStateReady
  const taken = await snapshot()
  const keyed = Object.values(taken.operators).flatMap((op) => (op.keyed ? [op.keyed] : []))
  const sharedFiles = keyed.flatMap((k) => sharedFilesOf(k))
  // In-flight data of an unaligned checkpoint (measured apart only when there is some): encoded
  // once, on its own, and embedded as it is, so that the persisted bytes reported are those written.
  const channels = hasInFlightRecords(taken.channels) ? new EncodedPart(await encodeInSlices(taken.channels)) : null
  const payload = await encodeInSlices(channels === null ? taken : { ...taken, channels })
  const persistedBytes = channels === null ? 0 : channels.bytes
  const payloadBytes = chunksLength(payload)
  // Incremental state: the full size counts every shared file the state references; the
  // checkpointed size only those written for this checkpoint.
  let sharedTotal = 0
  let sharedNew = 0
  for (const k of keyed) {
    const b = sharedBytesOf(k, barrier.id)
    sharedTotal += b.total
    sharedNew += b.written
  }
  const { vertex, subtask } = target
  const handle = await writeTaskState(target.location, vertex, subtask, target.attempt, payload)
  return {
    vertex, subtask, handle, stateSize: payloadBytes + sharedTotal, checkpointedSize: payloadBytes + sharedNew, persistedBytes,
    startDelayMs: timing.startDelayMs, unaligned: timing.unaligned, ackAt: Date.now(),
    syncMs: timing.syncMs, asyncMs: performance.now() - started, alignmentMs: timing.alignmentMs,
    ...(timing.operatorState ? { operatorState: timing.operatorState } : {}), ...(timing.stateUids ? { stateUids: timing.stateUids } : {}), ...(sharedFiles.length > 0 ? { sharedFiles } : {}),
  }
}
