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

/** Where an operator's records go: the next chained operator, or the task's network writers. */
export type Output<T> = Collector<T>

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
}

export interface StreamOperator<IN, OUT> {
  setup(ctx: OperatorContext, output: Output<OUT>): void
  open(): void
  processElement(record: IN): void
  /** Second input of a two-input operator. */
  processElement2?(record: unknown): void
  /** A processing-time timer of this operator fired, with its key already set as current. */
  onProcessingTime?(time: number): void
  /** All input has arrived (bounded streams). */
  endInput(): void
  /** The task has no more input for now: write out anything batched. */
  onIdle(): void
  close(): void
  /**
   * Synchronous phase of a checkpoint: capture the operator's own state (keyed state and
   * timers are captured by the task). The returned value is serialized later, so it must not
   * change afterwards. Undefined: nothing to store.
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

  setup(ctx: OperatorContext, output: Output<OUT>): void {
    this.ctx = ctx
    this.output = output
  }
  open(): void {}
  abstract processElement(record: IN): void
  endInput(): void {}
  onIdle(): void {}
  close(): void {}

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
