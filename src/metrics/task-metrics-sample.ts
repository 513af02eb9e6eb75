// What a slot reports about each of its tasks, a few times a second, to the JobManager: plain
// numbers (counters since the task started), so that the message crosses a MessagePort or a
// socket as it is. Rates and ratios are derived on the JobManager from successive samples.

/** A user metric's value as reported (see metric-group.ts). */
export type UserMetricSample =
  | { readonly kind: 'counter'; readonly operator: string; readonly name: string; readonly count: number }
  | { readonly kind: 'gauge'; readonly operator: string; readonly name: string; readonly value: number }
  | { readonly kind: 'meter'; readonly operator: string; readonly name: string; readonly count: number; readonly rate: number }
  | { readonly kind: 'histogram'; readonly operator: string; readonly name: string; readonly stats: HistogramStatistics }

export interface HistogramStatistics {
  readonly count: number
  readonly min: number
  readonly max: number
  readonly mean: number
  readonly stddev: number
  readonly p50: number
  readonly p75: number
  readonly p95: number
  readonly p98: number
  readonly p99: number
  readonly p999: number
}

/** Flink's task states that a subtask of a running attempt reports. */
export type SubtaskState = 'RUNNING' | 'FINISHED' | 'FAILED' | 'CANCELED'

export interface TaskMetricsSample {
  readonly vertex: number
  readonly subtask: number
  readonly state: SubtaskState
  /** Records taken from the task's input channels (0 for sources, as in Flink). */
  readonly recordsIn: number
  /** Records the task's chain emitted to its outputs (0 for sinks). */
  readonly recordsOut: number
  /** Serialized bytes received from and sent to other slots (records handed over inside a slot are not serialized). */
  readonly bytesIn: number
  readonly bytesOut: number
  readonly busyMs: number
  readonly idleMs: number
  readonly backPressuredMs: number
  /** Of the task's latest checkpoint: alignment time, and time from the trigger until its first barrier arrived. */
  readonly lastCheckpointAlignmentMs: number
  readonly lastCheckpointStartDelayMs: number
  /** The task's current input watermark (a source: the one it emitted); Flink's currentInputWatermark. */
  readonly watermark: number
  readonly user: readonly UserMetricSample[]
}
