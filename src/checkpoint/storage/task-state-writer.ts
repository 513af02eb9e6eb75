// The task's side of checkpoint storage: writes one task's snapshot and returns its handle.

import type { CheckpointLocation } from './checkpoint-storage.ts'
import type { StateHandle } from '../state-handle.ts'
import { FileKind, writeFramedFile } from '../file-format.ts'
import { taskStateFile } from '../protocol/paths.ts'
import { WeirError } from '../../errors.ts'
import { basename } from 'node:path'

export async function writeTaskState(location: CheckpointLocation, vertex: number, subtask: number, attempt: number, payload: Uint8Array): Promise<StateHandle> {
  if (location.type === 'jobmanager') {
    if (payload.length > location.maxStateBytes) {
      throw new WeirError('WEIR_CHECKPOINT_FAILED', `STATE_TOO_LARGE: the state of task ${vertex}/${subtask} is ${payload.length} bytes, above the ${location.maxStateBytes}-byte limit of jobmanager checkpoint storage; set state.checkpoints.dir to use filesystem storage`, { domain: 'user' })
    }
    return { type: 'inline', bytes: payload }
  }
  const path = taskStateFile(location.dir, vertex, subtask, attempt)
  const size = await writeFramedFile(path, FileKind.TASK_STATE, payload)
  // Relative to the checkpoint directory, so the checkpoint can be moved.
  return { type: 'file', path: basename(path), size }
}
