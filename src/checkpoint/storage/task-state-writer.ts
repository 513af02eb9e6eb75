// The task's side of checkpoint storage: writes one task's snapshot and returns its handle.

import type { CheckpointLocation } from './checkpoint-storage.ts'
import type { StateHandle } from '../state-handle.ts'
import { FileKind, writeFramedChunks } from '../file-format.ts'
import { taskStateFile } from '../protocol/paths.ts'
import { WeirError } from '../../errors.ts'
import { basename } from 'node:path'

/** `payload`: the serialized snapshot, or its chunks in order (sliced-encoding.ts), written without joining them. */
export async function writeTaskState(location: CheckpointLocation, vertex: number, subtask: number, attempt: number, payload: Uint8Array | readonly Uint8Array[]): Promise<StateHandle> {
  if (location.type === 'jobmanager') {
    // JobManager storage keeps small states inline: one buffer is fine there.
    if (Array.isArray(payload)) payload = Buffer.concat(payload as Uint8Array[])
    payload = payload as Uint8Array
    if (payload.length > location.maxStateBytes) {
      throw new WeirError('WEIR_CHECKPOINT_FAILED', `STATE_TOO_LARGE: the state of task ${vertex}/${subtask} is ${payload.length} bytes, above the ${location.maxStateBytes}-byte limit of jobmanager checkpoint storage; set execution.checkpointing.dir to use filesystem storage`, { domain: 'user' })
    }
    return { type: 'inline', bytes: payload }
  }
  const path = taskStateFile(location.dir, vertex, subtask, attempt)
  const size = await writeFramedChunks(path, FileKind.TASK_STATE, Array.isArray(payload) ? payload : [payload as Uint8Array])
  // Relative to the checkpoint directory, so the checkpoint can be moved.
  return { type: 'file', path: basename(path), size }
}
