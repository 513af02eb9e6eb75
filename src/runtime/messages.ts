// The messages between the JobManager (main thread) and the slot workers, and between
// workers. Plain objects, so that they cross a MessagePort or a socket as they are.

import type { ErrorCode, SerializedError } from '../errors.ts'
import type { RawConfig } from '../config/configuration.ts'
import type { ChannelEvent, CheckpointBarrier } from './network/events.ts'
import type { TaskAck } from '../checkpoint/state-handle.ts'
import type { RestoreSource } from '../checkpoint/restore-plan.ts'
import type { OperatorStateSnapshot } from '../state/operator-state-store.ts'
import type { GraphShape } from '../graph/graph-fingerprint.ts'
import type { TaskMetricsSample } from '../metrics/task-metrics-sample.ts'

/** How a slot takes part in checkpoints; null when checkpointing is off. */
export interface CheckpointingSetup {
  /** Periodic checkpoints are on (otherwise only savepoints are taken). */
  readonly periodic: boolean
  readonly exactlyOnce: boolean
  readonly unaligned: boolean
  /** Switch an alignment that takes longer than this to unaligned (0: never; barriers are then unaligned from the start if unaligned is on). */
  readonly alignedTimeoutMs: number
  readonly storage: { readonly type: 'jobmanager'; readonly maxStateBytes: number } | { readonly type: 'filesystem'; readonly baseDir: string }
}

/** What a slot worker needs to rebuild the job and run its share. */
export interface WorkerSetup {
  readonly workerIndex: number
  readonly numWorkers: number
  /** file: URL of the bundled job module. */
  readonly artifactUrl: string
  readonly args: readonly string[]
  readonly config: RawConfig
  /** Max parallelism per uid from the checkpoint or savepoint the job restores from, so that slots build the JobManager's graph. */
  readonly restoredMaxParallelism?: Readonly<Record<string, number>> | null
  readonly attempt: number
  readonly jobId: string
  readonly checkpointing: CheckpointingSetup
  /** State to restore, per task `${vertex}/${subtask}`; null on a fresh start. */
  readonly restore: Record<string, RestoreSource[]> | null
  /** The checkpoint or savepoint `restore` comes from (null on a fresh start). */
  readonly restoredCheckpointId?: number | null
  /** Each task's share of operator (list, union, broadcast) state, per task then uid. */
  readonly restoreOperatorState: Record<string, Record<string, OperatorStateSnapshot>> | null
  /** Send print() output to the main thread instead of writing fd 1 directly. */
  readonly routeStdout: boolean
  /** The graph the JobManager built; the slot's own must be the same (graph-fingerprint.ts). */
  readonly graph: GraphShape
  /** Send task lifecycle lines (debug level) to the JobManager's log. */
  readonly logTaskLifecycle?: boolean
}

/** A message between a TaskManager and one slot of a worker thread (a thread may run several slots). */
export interface SlotEnvelope<M> {
  /** The slot's global index in the attempt. */
  readonly slot: number
  readonly message: M
}

export type ToWorker =
  | { readonly type: 'assign-splits'; readonly vertex: number; readonly subtask: number; readonly splits: unknown[] }
  | { readonly type: 'no-more-splits'; readonly vertex: number; readonly subtask: number }
  | { readonly type: 'cancel' }
  /** Periodic checkpoints go to source tasks; `final` ones to every task of a bounded job that ended. */
  | { readonly type: 'trigger-checkpoint'; readonly barrier: CheckpointBarrier; readonly final: boolean }
  | { readonly type: 'checkpoint-complete'; readonly checkpointId: number }
  | { readonly type: 'checkpoint-aborted'; readonly checkpointId: number }
  /** Every task ended (and the final checkpoint, if any, completed): close and finish. */
  | { readonly type: 'finish' }
  /** Stop with savepoint: the savepoint completed; close every task without ending its input. */
  | { readonly type: 'stop-tasks' }
  /** Stop with savepoint and drain: sources end their input now. */
  | { readonly type: 'drain-sources' }
  /** Cluster mode: every slot's data address is known; dial the peers on other TaskManagers. */
  | { readonly type: 'connect-peers'; readonly addresses: Readonly<Record<number, { readonly host: string; readonly port: number }>> }

export type FromWorker =
  | { readonly type: 'split-request'; readonly vertex: number; readonly subtask: number }
  | { readonly type: 'task-ended'; readonly vertex: number; readonly subtask: number }
  /** Every task of the slot restored its state and opened: checkpoints may start. */
  | { readonly type: 'slot-running' }
  | { readonly type: 'task-finished'; readonly vertex: number; readonly subtask: number }
  | { readonly type: 'ack'; readonly checkpointId: number; readonly ack: TaskAck }
  | { readonly type: 'decline'; readonly checkpointId: number; readonly vertex: number; readonly subtask: number; readonly reason: string; readonly code?: ErrorCode }
  | { readonly type: 'failed'; readonly error: SerializedError }
  /** `watermarks`: flat [vertex, subtask, watermark, ...] of this slot's tasks (their current input watermark); `tasks`: every task's metrics. */
  | { readonly type: 'metrics'; readonly recordsIn: number; readonly recordsOut: number; readonly watermarks?: number[]; readonly tasks?: readonly TaskMetricsSample[] }
  | { readonly type: 'stdout'; readonly text: string }
  /** A log line about a task (its lifecycle, its failure), for the JobManager's log with the task's fields. */
  | { readonly type: 'log'; readonly level: 'debug' | 'info' | 'warn' | 'error'; readonly msg: string; readonly vertex: number; readonly subtask: number }
  | { readonly type: 'canceled' }
  /** Cluster mode: the slot listens for its peers on other TaskManagers here. */
  | { readonly type: 'data-address'; readonly host: string; readonly port: number }
