// The operator contract the runtime drives. One required method (processElement); every
// other hook has a no-op default in BaseOperator. Operators are synchronous: the task calls
// them on its thread, one record at a time, and they emit through `output` directly into the
// next chained operator or the network writer.

import type { Collector } from '../api/functions.ts'
import type { RuntimeContext } from '../api/runtime-context.ts'
import type { TimerService } from '../api/functions.ts'
import type { KeyedStateBackend } from '../state/keyed-state-backend.ts'
import { UserFunctionError, type TaskLocation } from '../errors.ts'
import { OperatorStateBackend, type OperatorStateSnapshot } from '../state/operator-state-store.ts'

/**
 * Where an operator's records go: the next chained operator, or the task's network writers.
 * A record leaves with the timestamp in the task's RecordTime cell (the input record's, unless
 * the operator set another one, as windows and timers do).
 */
export interface Output<T> extends Collector<T> {
  /** Event time has reached `time`: no more records with timestamps <= time are expected. */
  emitWatermark(time: number): void
  /** This output stops (idle) or resumes (active) producing watermarks. */
  emitWatermarkStatus(idle: boolean): void
  /** A record for the side output named `tagId` (dropped when nothing consumes it). */
  collectSide(tagId: string, record: unknown): void
}

/**
 * The timestamp of the record being processed, one mutable cell per task shared by every
 * operator of its chain and its writers: the timestamp travels beside the record, not in a
 * wrapper object. NO_TIMESTAMP (-Infinity) when the record has none. An operator that emits
 * with another timestamp sets the cell first and restores it after.
 */
export interface RecordTime {
  value: number
}

/** Event-time and namespaced timers of one keyed operator (runtime/taskmanager/internal-timer-service.ts). */
export interface InternalTimers {
  readonly currentWatermark: number
  registerEventTimeTimer(time: number, namespace?: string): void
  deleteEventTimeTimer(time: number, namespace?: string): void
  registerProcessingTimeTimer(time: number, namespace?: string): void
  deleteProcessingTimeTimer(time: number, namespace?: string): void
  currentProcessingTime(): number
  /** Fires every event-time timer <= time (key set as current, RecordTime set to the timer's time) and records the watermark. */
  advanceWatermark(time: number, target: TimerTarget): void
}

/** What a timer calls when it fires; the timer's key is the backend's current key. */
export interface TimerTarget {
  onEventTime?(time: number, namespace: string): void
  onProcessingTime?(time: number, namespace?: string): void
}

/** Where this attempt of the job starts from, for operators that guard a restore (two-phase sinks). */
export interface OperatorRecovery {
  readonly jobId: string
  /** The checkpoint or savepoint this attempt restores; null on a fresh start. */
  readonly checkpointId: number | null
  /** execution.state-recovery.allow-duplicate-output: go on with a restore that repeats committed output. */
  readonly allowDuplicateOutput: boolean
}

/** Everything an operator gets from its task. */
export interface OperatorContext {
  readonly location: TaskLocation
  /** Whether the job takes checkpoints (transactional sinks commit on checkpoint completion then). */
  readonly checkpointing: boolean
  readonly runtimeContext: RuntimeContext
  /** Present for operators on keyed streams. */
  readonly keyedBackend: KeyedStateBackend | null
  /** Present for operators on keyed streams. */
  readonly timerService: TimerService | null
  /** Present for operators on keyed streams: event-time and namespaced timers. */
  readonly internalTimers: InternalTimers | null
  /** The timestamp of the record being processed (shared with the whole chain). */
  readonly time: RecordTime
  /** pipeline.auto-watermark-interval in ms (0: periodic watermarks off). */
  readonly autoWatermarkInterval: number
  /** Runs `action` on the task's thread between records (for asynchronous I/O); what it throws fails the task. */
  post(action: () => void): void
  /** Absent outside a job (operator tests): a fresh start. */
  readonly recovery?: OperatorRecovery
  /** Logs a line to the JobManager's log, about this task (absent outside a job). */
  log?(level: 'info' | 'warn', msg: string): void
}

export interface StreamOperator<IN, OUT> {
  setup(ctx: OperatorContext, output: Output<OUT>): void
  open(): void
  processElement(record: IN): void
  /** Second input of a two-input operator. */
  processElement2?(record: unknown): void
  /** A processing-time timer of this operator fired, with its key already set as current. */
  onProcessingTime?(time: number, namespace?: string): void
  /** An event-time timer fired (from processWatermark), key set as current. */
  onEventTime?(time: number, namespace: string): void
  /** The task's input watermark advanced to `time` (the minimum over its non-idle inputs). */
  processWatermark(time: number): void
  /** The task's inputs all became idle, or one became active again. */
  processWatermarkStatus(idle: boolean): void
  /** Every pipeline.auto-watermark-interval: watermark generators emit periodic watermarks. */
  onPeriodicWatermark?(): void
  /** All input has arrived (bounded streams). */
  endInput(): void
  /** The task has no more input for now: write out anything batched. */
  onIdle(): void
  /** A promise (a sink finishing its commits) makes the task wait for it before it finishes. */
  close(): void | Promise<void>
  /** The task failed or was canceled: release resources at once. */
  dispose?(): void
  /** True while the operator cannot take input (a sink's asynchronous writes are behind). */
  isBlocked?(): boolean
  /**
   * Set by open() when opening finishes asynchronously (a two-phase sink asking an external system
   * what it committed): the slot reports running, and checkpoints start, only once it resolves.
   * The operator holds input back meanwhile (isBlocked).
   */
  readonly opening?: Promise<void> | null
  /**
   * Synchronous phase of a checkpoint: capture the operator's own state (keyed state and
   * timers are captured by the task). The returned value is serialized later, so it must not
   * change afterwards. Undefined: nothing to store. A promise holds the acknowledgement back
   * until it resolves (a sink's pre-commit in flight); a rejection declines the checkpoint.
   */
  snapshotState?(checkpointId: number): unknown
  /**
   * Before open(): the states this subtask inherits on a restore (one per old subtask that had
   * any), its share of the operator state, and whether this is a restore at all.
   */
  initializeState?(states: unknown[], isRestored: boolean, operatorState?: OperatorStateSnapshot): void
  /** Synchronous phase: the operator (list, union, broadcast) state of user functions, if any. */
  snapshotOperatorState?(): OperatorStateSnapshot | undefined
  /** In the synchronous phase of a checkpoint, before snapshotState: user functions' snapshot hooks. */
  prepareSnapshot?(checkpointId: number, timestamp: number): void
  /** Checkpoint `checkpointId` completed; it subsumes every earlier one. */
  notifyCheckpointComplete?(checkpointId: number): void
  notifyCheckpointAborted?(checkpointId: number): void
}

/** No-op defaults, so operators implement only what they need. */
export abstract class BaseOperator<IN, OUT> implements StreamOperator<IN, OUT> {
  protected output!: Output<OUT>
  protected ctx!: OperatorContext
  /** The last watermark this operator received (-Infinity before the first). */
  protected inputWatermark = -Infinity

  setup(ctx: OperatorContext, output: Output<OUT>): void {
    this.ctx = ctx
    this.output = output
  }
  open(): void {}
  abstract processElement(record: IN): void
  /** Fires event-time timers up to the watermark, then passes the watermark on (Flink's order). */
  processWatermark(time: number): void {
    this.inputWatermark = time
    const timers = this.ctx.internalTimers
    if (timers !== null) timers.advanceWatermark(time, this)
    this.output.emitWatermark(time)
  }
  processWatermarkStatus(idle: boolean): void {
    this.output.emitWatermarkStatus(idle)
  }
  onEventTime?(time: number, namespace: string): void
  endInput(): void {}
  onIdle(): void {}
  close(): void | Promise<void> {}
  dispose(): void {}

  /** The user's function object, for the checkpoint hooks it may implement. */
  protected notificationTarget: unknown = null
  /** Set by subclasses in their constructor when the function object is known early (initializeState runs before open). */
  protected functionForState(): unknown {
    return this.notificationTarget
  }

  /** Operator state of the user's function, created when it asks for it in initializeState. */
  protected operatorStateBackend: OperatorStateBackend | null = null

  initializeState(_states: unknown[], isRestored: boolean, operatorState: OperatorStateSnapshot = {}): void {
    if (Object.keys(operatorState).length > 0) this.operatorStateBackend = new OperatorStateBackend(operatorState)
    const fn = this.functionForState() as { initializeState?: (ctx: unknown) => void } | null
    if (fn && typeof fn.initializeState === 'function') {
      const ctx = {
        isRestored,
        getOperatorStateStore: () => (this.operatorStateBackend ??= new OperatorStateBackend(operatorState)),
      }
      try {
        fn.initializeState(ctx)
      } catch (e) {
        throw this.userError(e)
      }
    }
  }

  snapshotOperatorState(): OperatorStateSnapshot | undefined {
    return this.operatorStateBackend && !this.operatorStateBackend.isEmpty ? this.operatorStateBackend.snapshot() : undefined
  }

  prepareSnapshot(checkpointId: number, timestamp: number): void {
    const fn = this.notificationTarget as { snapshotState?: (ctx: { checkpointId: number; checkpointTimestamp: number }) => void } | null
    if (fn && typeof fn.snapshotState === 'function') {
      try {
        fn.snapshotState({ checkpointId, checkpointTimestamp: timestamp })
      } catch (e) {
        throw this.userError(e)
      }
    }
  }

  notifyCheckpointComplete(checkpointId: number): void {
    const fn = this.notificationTarget as { notifyCheckpointComplete?: (id: number) => void } | null
    if (fn && typeof fn.notifyCheckpointComplete === 'function') {
      try {
        fn.notifyCheckpointComplete(checkpointId)
      } catch (e) {
        throw this.userError(e)
      }
    }
  }

  notifyCheckpointAborted(checkpointId: number): void {
    const fn = this.notificationTarget as { notifyCheckpointAborted?: (id: number) => void } | null
    if (fn && typeof fn.notifyCheckpointAborted === 'function') {
      try {
        fn.notifyCheckpointAborted(checkpointId)
      } catch (e) {
        throw this.userError(e)
      }
    }
  }

  /** Wraps what a user function threw, naming where; errors from further down the chain pass through. */
  protected userError(error: unknown): UserFunctionError {
    return error instanceof UserFunctionError ? error : new UserFunctionError(this.ctx.location, error)
  }
}

export type OperatorFactory<IN = unknown, OUT = unknown> = () => StreamOperator<IN, OUT>
