// What a function sees of the task it runs in: its subtask, the parallelism, the attempt,
// and (on keyed streams) its keyed state.

import type {
  ValueState, ValueStateDescriptor, ListState, ListStateDescriptor, MapState, MapStateDescriptor,
  ReducingState, ReducingStateDescriptor, AggregatingState, AggregatingStateDescriptor,
} from './state.ts'
import type { MetricGroup } from '../metrics/metric-group.ts'

export interface RuntimeContext {
  readonly jobName: string
  readonly operatorName: string
  /** 0-based index of this parallel instance. */
  readonly subtaskIndex: number
  readonly parallelism: number
  readonly maxParallelism: number
  /** 0 for the first run; incremented on every restart. */
  readonly attemptNumber: number
  /** This operator's user metrics (counter, gauge, histogram, meter), published with its scope on /metrics and the REST API. */
  getMetricGroup(): MetricGroup
  /** Keyed state for the current key; these throw outside a keyed stream. */
  getState<T>(descriptor: ValueStateDescriptor<T>): ValueState<T>
  getListState<T>(descriptor: ListStateDescriptor<T>): ListState<T>
  getMapState<K, V>(descriptor: MapStateDescriptor<K, V>): MapState<K, V>
  getReducingState<T>(descriptor: ReducingStateDescriptor<T>): ReducingState<T>
  getAggregatingState<IN, ACC, OUT>(descriptor: AggregatingStateDescriptor<IN, ACC, OUT>): AggregatingState<IN, OUT>
}
