// What a task needs from the worker it runs in (the task executor implements it), and what
// a task reports about a checkpoint's synchronous phase.

import type { OperatorRecovery } from '../../operators/operator.ts'
import type { CheckpointBarrier } from '../network/events.ts'
import type { BackendSettings } from '../../state/backend-factory.ts'
import type { OperatorStateSnapshot } from '../../state/operator-state-store.ts'
import type { TaskSnapshot } from './task-snapshot.ts'
import type { Task } from './task.ts'

/** What a task needs from the worker it runs in. */
export interface TaskHost {
  readonly jobName: string
  readonly attempt: number
  readonly checkpointing: boolean
  readonly exactlyOnce: boolean
  /** With unaligned checkpoints on: how long alignment may take before switching to unaligned (0: off). */
  readonly alignedTimeoutMs: number
  readonly stateBackend: BackendSettings
  /** pipeline.auto-watermark-interval (ms; 0: no periodic watermarks). */
  readonly autoWatermarkInterval: number
  /** Schedules the run loop: something became runnable. */
  wake(): void
  requestSplit(vertex: number, subtask: number): void
  /** All input consumed and end of partition sent. */
  taskEnded(task: Task): void
  taskFinished(task: Task): void
  /** The synchronous phase of checkpoint `id` is done; `complete` runs the asynchronous phase. */
  snapshotTaken(task: Task, barrier: CheckpointBarrier, snapshot: () => Promise<TaskSnapshot>, timing: SnapshotTiming, channelStateReady: Promise<void> | null): void
  declineCheckpoint(task: Task, checkpointId: number, reason: string): void
  /** Where this attempt starts from (two-phase sinks check it against what they committed). */
  readonly recovery: OperatorRecovery
  /** A line for the JobManager's log about `task`. */
  logTask(task: Task, level: 'debug' | 'info' | 'warn' | 'error', msg: string): void
}

/** What the synchronous phase of a checkpoint measured, for its acknowledgement. */
export interface SnapshotTiming {
  readonly syncMs: number
  readonly alignmentMs: number
  /** From the checkpoint's trigger until its first barrier reached this task (a source: until it took the trigger). */
  readonly startDelayMs: number
  readonly unaligned: boolean
  readonly operatorState?: Record<string, OperatorStateSnapshot>
  readonly stateUids?: string[]
}

/** Prefix of a decline that is not the checkpoint's fault (Flink's CHECKPOINT_DECLINED_TASK_CLOSING): not counted as a failure. */
export const TASK_NOT_RUNNING = 'TASK_NOT_RUNNING'

