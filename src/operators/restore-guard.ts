// The decision whether a two-phase sink may be restored from a checkpoint, given what the sink
// reports it has already committed (TwoPhaseCommittingSink.committedCheckpoints), and the words
// for a refusal. Pure: no I/O. A restore from checkpoint r after output of a checkpoint c > r was
// committed would write the records between r and c a second time (the sources rewind to r),
// which is what happens when the newest _metadata is lost and `latest` falls back to an older one.

import type { CommittedCheckpoint } from '../api/sink.ts'
import { WeirError, describeLocation, type TaskLocation } from '../errors.ts'
import { ALLOW_DUPLICATE_OUTPUT } from '../config/options.ts'

/** The end of input of a job without checkpoints commits under this id (committing-sink.ts). */
const END_OF_INPUT = Number.MAX_SAFE_INTEGER

export type RestoreVerdict =
  | { readonly ok: true }
  /** `newest`: the newest committed checkpoint beyond the one restored (the lowest subtask index among equals). */
  | { readonly ok: false; readonly newest: CommittedCheckpoint }

export function judgeRestore(restoring: number, committed: readonly CommittedCheckpoint[]): RestoreVerdict {
  let newest: CommittedCheckpoint | null = null
  for (const c of committed) {
    if (c.checkpointId <= restoring) continue
    if (newest === null || c.checkpointId > newest.checkpointId || (c.checkpointId === newest.checkpointId && c.subtaskIndex < newest.subtaskIndex)) newest = c
  }
  return newest === null ? { ok: true } : { ok: false, newest }
}

function describeCheckpoint(id: number): string {
  return id === END_OF_INPUT ? 'the end of input (the job ran to its end without checkpoints)' : `checkpoint ${id}`
}

export function restoreRefusal(at: TaskLocation, restoring: number, newest: CommittedCheckpoint): WeirError {
  const later = newest.checkpointId === END_OF_INPUT ? 'a later run to its end' : `checkpoint ${newest.checkpointId} or a later one`
  return new WeirError(
    'WEIR_RESTORE_BEHIND_COMMITTED_OUTPUT',
    `cannot restore checkpoint ${restoring} into ${describeLocation(at)}: this sink already committed the output of ${describeCheckpoint(newest.checkpointId)} (recorded by its subtask with index ${newest.subtaskIndex}), newer than checkpoint ${restoring}, so the records written after checkpoint ${restoring} would be committed twice. ` +
      `Restore from ${later} if it still exists (a missing _metadata makes --from-checkpoint latest fall back to an older one), ` +
      `or restore checkpoint ${restoring} anyway, accepting duplicated output, with ${ALLOW_DUPLICATE_OUTPUT.key}: true (weir run --allow-duplicate-output)`,
    // Restarting cannot help: the same checkpoint would be refused again.
    { domain: 'user', retriable: false },
  )
}

export function forcedRestoreWarning(at: TaskLocation, restoring: number, newest: CommittedCheckpoint): string {
  return `Warning: restoring checkpoint ${restoring} into ${describeLocation(at)} although this sink already committed the output of ${describeCheckpoint(newest.checkpointId)} (${ALLOW_DUPLICATE_OUTPUT.key} is true): the records written after checkpoint ${restoring} are committed a second time`
}
