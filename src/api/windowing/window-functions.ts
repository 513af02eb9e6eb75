// The functions a window applies (Flink's ProcessWindowFunction and its context). Incremental
// functions (reduce, aggregate) are the ones of the DataStream API; a ProcessWindowFunction
// may follow them, receiving the one aggregated value.

import type { Collector, RichFunction } from '../functions.ts'
import type { OutputTag } from '../output-tag.ts'
import type { ValueState, ValueStateDescriptor, ListState, ListStateDescriptor, ReducingState, ReducingStateDescriptor, AggregatingState, AggregatingStateDescriptor } from '../state.ts'
import type { Window } from './windows.ts'

/** Keyed state: per key (globalState) or per key and window (windowState). */
export interface KeyedStateStore {
  getState<T>(descriptor: ValueStateDescriptor<T>): ValueState<T>
  getListState<T>(descriptor: ListStateDescriptor<T>): ListState<T>
  getReducingState<T>(descriptor: ReducingStateDescriptor<T>): ReducingState<T>
  getAggregatingState<IN, ACC, OUT>(descriptor: AggregatingStateDescriptor<IN, ACC, OUT>): AggregatingState<IN, OUT>
}

export interface ProcessWindowFunctionContext<W extends Window> {
  window(): W
  currentProcessingTime(): number
  currentWatermark(): number
  /** State of this key and window; cleared with the window (implement clear() to clear it yourself). */
  windowState(): KeyedStateStore
  /** State of this key across its windows. */
  globalState(): KeyedStateStore
  output<X>(tag: OutputTag<X>, value: X): void
}

export type ProcessWindowFunction<IN, OUT, KEY, W extends Window> =
  | ((key: KEY, context: ProcessWindowFunctionContext<W>, elements: Iterable<IN>, out: Collector<OUT>) => void)
  | (RichFunction & {
      process(key: KEY, context: ProcessWindowFunctionContext<W>, elements: Iterable<IN>, out: Collector<OUT>): void
      /** The window is purged for good: clear its windowState here. */
      clear?(context: ProcessWindowFunctionContext<W>): void
    })

/** For windowAll: no key. */
export type ProcessAllWindowFunction<IN, OUT, W extends Window> =
  | ((context: ProcessWindowFunctionContext<W>, elements: Iterable<IN>, out: Collector<OUT>) => void)
  | (RichFunction & { process(context: ProcessWindowFunctionContext<W>, elements: Iterable<IN>, out: Collector<OUT>): void; clear?(context: ProcessWindowFunctionContext<W>): void })
