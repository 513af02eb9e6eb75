// Reads the stored task states a subtask restores from, and gathers them per operator uid.

import { existsSync, readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { LMDB_INCREMENTAL_FORMAT } from '../state/lmdb/incremental-snapshot.ts'
import type { RestoreSource } from './restore-plan.ts'
import type { TaskRestore, TaskSnapshot } from '../runtime/taskmanager/task-snapshot.ts'
import { FileKind, unframe } from './file-format.ts'
import { decodeValue } from '../runtime/network/batch-codec.ts'
import { joinSlicedArrays } from './sliced-encoding.ts'
import { UserError, WeirError } from '../errors.ts'
import { hasInFlightRecords, type ChannelState } from '../runtime/taskmanager/task-snapshot.ts'

export function readTaskRestore(sources: readonly RestoreSource[], operatorState: TaskRestore['operatorState'] = {}): TaskRestore {
  const operators: TaskRestore['operators'] = {}
  let channels: ChannelState | null = null
  for (const source of sources) {
    const snapshot = readSnapshot(source)
    if (source.operatorState && hasInFlightRecords(snapshot.channels)) {
      if (source.rescaled) {
        throw new UserError('WEIR_RESTORE_FAILED', 'this unaligned checkpoint holds in-flight records, which can only be restored at the same parallelism; resume at the old parallelism, or take a savepoint (always aligned) to rescale')
      }
      channels = snapshot.channels
    }
    for (const [uid, op] of Object.entries(snapshot.operators)) {
      const r = (operators[uid] ??= { keyed: [], timers: [], states: [], splits: [], shapes: [] })
      if (source.keyed) {
        if (op.keyed) r.keyed.push(op.keyed)
        if (op.stateShapes) r.shapes.push(...op.stateShapes)
        if (op.timers) r.timers.push(op.timers)
      }
      if (source.operatorState) {
        if (op.state !== undefined) r.states.push(op.state)
        if (op.splits) r.splits.push(...op.splits)
      }
    }
  }
  return { operators, channels, operatorState }
}

function readSnapshot(source: RestoreSource): TaskSnapshot {
  const h = source.handle
  let payload: Uint8Array
  let name: string
  if (h.type === 'inline') {
    payload = h.bytes
    name = 'inline task state'
  } else {
    name = h.path
    let bytes: Buffer
    try {
      bytes = readFileSync(h.path)
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      throw new WeirError('WEIR_CHECKPOINT_CORRUPT', code === 'ENOENT' ? `checkpoint file ${h.path} is missing` : `cannot read checkpoint file ${h.path}: ${code}`, { domain: 'external' })
    }
    if (bytes.length !== h.size) throw new WeirError('WEIR_CHECKPOINT_CORRUPT', `checkpoint file ${h.path} is damaged: it is ${bytes.length} bytes long, the metadata says ${h.size}`, { domain: 'external' })
    payload = unframe(bytes, FileKind.TASK_STATE, h.path)
  }
  let snapshot: TaskSnapshot
  try {
    snapshot = joinSlicedArrays(decodeValue<TaskSnapshot>(payload))
  } catch (e) {
    throw new WeirError('WEIR_CHECKPOINT_CORRUPT', `checkpoint file ${name} is damaged: its content cannot be decoded (${(e as Error).message})`, { domain: 'external' })
  }
  if (h.type === 'file') relocateSharedFiles(snapshot, h.path)
  return snapshot
}

/**
 * Incremental snapshots name their shared files inside `<job dir>/shared/`. They are found
 * beside the checkpoint (`<job dir>/chk-<n>/../shared`), wherever the job directory is now, so
 * a moved or copied checkpoint restores; the stored path is used only when nothing is there.
 */
function relocateSharedFiles(snapshot: TaskSnapshot, taskFile: string): void {
  const shared = resolve(dirname(taskFile), '..', 'shared')
  if (!existsSync(shared)) return
  for (const op of Object.values(snapshot.operators)) {
    const keyed = op.keyed as { format: string; sharedDir?: string } | undefined
    if (keyed?.format === LMDB_INCREMENTAL_FORMAT) keyed.sharedDir = shared
  }
}
