// What a task writes for a checkpoint, per operator uid: keyed state, timers, the operator's
// own state and (for a source) its reader's splits. Captured synchronously, serialized later.

import type { KeyedStateSnapshot } from '../../state/heap/keyed-state-backend.ts'

export interface OperatorSnapshot {
  keyed?: KeyedStateSnapshot
  /** Flat [keyGroup, time, key, ...] of pending processing-time timers. */
  timers?: unknown[]
  /** The operator's own state (a sink writer's, a user function's). */
  state?: unknown
  /** A source reader's splits with their positions. */
  splits?: unknown[]
}

export interface TaskSnapshot {
  readonly version: 1
  readonly operators: Record<string, OperatorSnapshot>
}

/** What a task restores, per operator uid, gathered from the old subtasks it inherits from. */
export interface OperatorRestore {
  keyed: KeyedStateSnapshot[]
  timers: unknown[][]
  states: unknown[]
  splits: unknown[]
}

export type TaskRestore = Record<string, OperatorRestore>
