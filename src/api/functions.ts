// The user-function types of the DataStream API. Every function can be a plain lambda or an
// object with the method plus optional open(ctx) / close() hooks (Flink's Rich* functions).

import type { RuntimeContext } from './runtime-context.ts'
import type { OperatorStateStore } from './state.ts'
import type { OutputTag } from './output-tag.ts'

/** Receives the records a function emits. */
export interface Collector<T> {
  collect(record: T): void
}

/** Lifecycle hooks any function object may have. */
export interface RichFunction {
  open?(ctx: RuntimeContext): void
  close?(): void
  /** Checkpoint `checkpointId` completed (and with it every earlier one): commit side effects here. */
  notifyCheckpointComplete?(checkpointId: number): void
  /** Checkpoint `checkpointId` was aborted. */
  notifyCheckpointAborted?(checkpointId: number): void
  /** Before open(): tells whether the job resumed from a checkpoint (Flink's CheckpointedFunction). */
  initializeState?(ctx: FunctionInitializationContext): void
  /** In the synchronous phase of a checkpoint, before the barrier moves on. */
  snapshotState?(ctx: FunctionSnapshotContext): void
}

export interface FunctionInitializationContext {
  /** True when this run restores state from a checkpoint or savepoint. */
  readonly isRestored: boolean
  /** Operator (non-keyed) state: lists split or unioned on rescale, broadcast maps. */
  getOperatorStateStore(): OperatorStateStore
}

export interface FunctionSnapshotContext {
  readonly checkpointId: number
  readonly checkpointTimestamp: number
}

export type MapFunction<T, R> = ((value: T) => R) | (RichFunction & { map(value: T): R })
export type FlatMapFunction<T, R> = ((value: T, out: Collector<R>) => void) | (RichFunction & { flatMap(value: T, out: Collector<R>): void })
export type FilterFunction<T> = ((value: T) => boolean) | (RichFunction & { filter(value: T): boolean })
export type ReduceFunction<T> = ((accumulated: T, value: T) => T) | (RichFunction & { reduce(accumulated: T, value: T): T })
export type KeySelector<T, K> = (value: T) => K

/** Timers and clocks. Timers exist only on keyed streams; both kinds are checkpointed with the keyed state. */
export interface TimerService {
  currentProcessingTime(): number
  registerProcessingTimeTimer(time: number): void
  deleteProcessingTimeTimer(time: number): void
  /** The operator's current event time: its input watermark (-Infinity before the first). */
  currentWatermark(): number
  /** onTimer runs when the watermark reaches `time` (at most one timer per key and time). */
  registerEventTimeTimer(time: number): void
  deleteEventTimeTimer(time: number): void
}

/** Which clock a firing timer belongs to (Flink's TimeDomain). */
export const TimeDomain = { EVENT_TIME: 'EVENT_TIME', PROCESSING_TIME: 'PROCESSING_TIME' } as const
export type TimeDomain = (typeof TimeDomain)[keyof typeof TimeDomain]

export interface ProcessContext {
  /** Timers; throws on a non-keyed stream, as in Flink. */
  timerService(): TimerService
  /** The timestamp of the record being processed (or of the firing timer); null when it has none. */
  timestamp(): number | null
  /** Emits to a side output. */
  output<X>(tag: OutputTag<X>, value: X): void
}

export interface KeyedContext<K> extends ProcessContext {
  getCurrentKey(): K
}

export interface OnTimerContext<K> extends KeyedContext<K> {
  /** Event or processing time. */
  timeDomain(): TimeDomain
}

export interface ProcessFunction<T, R> extends RichFunction {
  processElement(value: T, ctx: ProcessContext, out: Collector<R>): void
}

export interface KeyedProcessFunction<K, T, R> extends RichFunction {
  processElement(value: T, ctx: KeyedContext<K>, out: Collector<R>): void
  onTimer?(timestamp: number, ctx: OnTimerContext<K>, out: Collector<R>): void
}

export interface CoMapFunction<A, B, R> extends RichFunction {
  map1(value: A): R
  map2(value: B): R
}

export interface CoFlatMapFunction<A, B, R> extends RichFunction {
  flatMap1(value: A, out: Collector<R>): void
  flatMap2(value: B, out: Collector<R>): void
}

export interface CoProcessFunction<A, B, R> extends RichFunction {
  processElement1(value: A, ctx: ProcessContext, out: Collector<R>): void
  processElement2(value: B, ctx: ProcessContext, out: Collector<R>): void
}

export interface KeyedCoProcessFunction<K, A, B, R> extends RichFunction {
  processElement1(value: A, ctx: KeyedContext<K>, out: Collector<R>): void
  processElement2(value: B, ctx: KeyedContext<K>, out: Collector<R>): void
  onTimer?(timestamp: number, ctx: OnTimerContext<K>, out: Collector<R>): void
}

/** Calls a function's open hook if it has one. */
export function openFunction(fn: unknown, ctx: RuntimeContext): void {
  if (typeof fn === 'object' && fn !== null && typeof (fn as RichFunction).open === 'function') (fn as RichFunction).open!(ctx)
}

export function closeFunction(fn: unknown): void {
  if (typeof fn === 'object' && fn !== null && typeof (fn as RichFunction).close === 'function') (fn as RichFunction).close!()
}

/** Read-only access to broadcast state, on the non-broadcast side. */
export interface ReadOnlyBroadcastContext extends ProcessContext {
  getBroadcastState<K, V>(descriptor: import('./state.ts').MapStateDescriptor<K, V>): ReadOnlyMapState<K, V>
}

/** Writable broadcast state, on the broadcast side: every subtask applies the same updates. */
export interface BroadcastContext extends ProcessContext {
  getBroadcastState<K, V>(descriptor: import('./state.ts').MapStateDescriptor<K, V>): import('./state.ts').MapState<K, V>
}

export interface ReadOnlyMapState<K, V> {
  get(key: K): V | undefined
  contains(key: K): boolean
  entries(): IterableIterator<[K, V]>
  isEmpty(): boolean
}

export interface BroadcastProcessFunction<T, B, R> extends RichFunction {
  processElement(value: T, ctx: ReadOnlyBroadcastContext, out: Collector<R>): void
  processBroadcastElement(value: B, ctx: BroadcastContext, out: Collector<R>): void
}

export interface KeyedBroadcastProcessFunction<K, T, B, R> extends RichFunction {
  processElement(value: T, ctx: ReadOnlyBroadcastContext & KeyedContext<K>, out: Collector<R>): void
  processBroadcastElement(value: B, ctx: BroadcastContext, out: Collector<R>): void
  onTimer?(timestamp: number, ctx: OnTimerContext<K> & ReadOnlyBroadcastContext, out: Collector<R>): void
}
