// What a task writes for a checkpoint, per operator uid: keyed state, timers, the operator's
// own state and (for a source) its reader's splits. Captured synchronously, serialized later.

import type { KeyedStateSnapshot } from '../../state/keyed-state-backend.ts'
import type { OperatorStateSnapshot } from '../../state/operator-state-store.ts'
import type { StateShape } from '../../state/state-shapes.ts'

export interface OperatorSnapshot {
  keyed?: KeyedStateSnapshot
  /** Flat [keyGroup, time, key, ...] of pending processing-time timers. */
  timers?: unknown[]
  /** The operator's own state (a sink writer's, a user function's). */
  state?: unknown
  /** A source reader's splits with their positions. */
  splits?: unknown[]
  /** The shape of every keyed state in `keyed`, checked on restore (state-shapes.ts). */
  stateShapes?: StateShape[]
}

/** In-flight records of an unaligned checkpoint, by channel id. */
export interface ChannelState {
  readonly inputs: Record<string, unknown[]>
  readonly outputs: Record<string, unknown[]>
}

/** Whether an unaligned checkpoint's channel state holds any in-flight record. */
export function hasInFlightRecords(c: ChannelState | null | undefined): c is ChannelState {
  if (!c) return false
  for (const records of Object.values(c.inputs)) if (records.length > 0) return true
  for (const records of Object.values(c.outputs)) if (records.length > 0) return true
  return false
}

export interface TaskSnapshot {
  readonly version: 1
  readonly operators: Record<string, OperatorSnapshot>
  readonly channels?: ChannelState
}

/** What a task restores, per operator uid, gathered from the old subtasks it inherits from. */
export interface OperatorRestore {
  keyed: KeyedStateSnapshot[]
  timers: unknown[][]
  states: unknown[]
  splits: unknown[]
  shapes: StateShape[]
}

export interface TaskRestore {
  readonly operators: Record<string, OperatorRestore>
  /** This subtask's share of each operator's list / union / broadcast state, by uid. */
  readonly operatorState: Record<string, OperatorStateSnapshot>
  /** In-flight records to replay first (unaligned checkpoints; same parallelism only). */
  readonly channels: ChannelState | null
}
