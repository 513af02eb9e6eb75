// What a function sees of the task it runs in: its subtask, the parallelism, the attempt,
// and (on keyed streams) its keyed state.

import type { ValueState, ValueStateDescriptor } from './state.ts'

export interface RuntimeContext {
  readonly jobName: string
  readonly operatorName: string
  /** 0-based index of this parallel instance. */
  readonly subtaskIndex: number
  readonly parallelism: number
  readonly maxParallelism: number
  /** 0 for the first run; incremented on every restart. */
  readonly attemptNumber: number
  /** Keyed value state for the current key; throws outside a keyed stream. */
  getState<T>(descriptor: ValueStateDescriptor<T>): ValueState<T>
}
