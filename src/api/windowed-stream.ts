// keyBy(...).window(assigner) and windowAll(assigner): the windowed stream, with Flink's
// builder methods (trigger, evictor, allowedLateness, sideOutputLateData) and its window
// functions (reduce, aggregate, process). Durations are milliseconds.

import type { DataStream } from './datastream.ts'
import type { KeySelector, ReduceFunction } from './functions.ts'
import type { AggregateFunction } from './state.ts'
import type { OutputTag } from './output-tag.ts'
import type { WindowAssigner } from './windowing/assigners.ts'
import type { Trigger } from './windowing/triggers.ts'
import type { Evictor } from './windowing/evictors.ts'
import type { Window } from './windowing/windows.ts'
import type { ProcessAllWindowFunction, ProcessWindowFunction } from './windowing/window-functions.ts'
import type { WindowContents, WindowSpec } from '../operators/window/window-spec.ts'
import { WindowOperator } from '../operators/window/window-operator.ts'
import { SlicedWindowOperator, canAggregateLocally, canSlice } from '../operators/window/sliced-window-operator.ts'
import { LocalSliceAggregateOperator } from '../operators/window/local-slice-aggregate.ts'
import { UserError } from '../errors.ts'

/** How the windowed stream becomes an operator: keyed (window) or all (windowAll). */
export interface WindowTarget<T> {
  /** Adds the window operator after the keyed input; parallelism 1 for windowAll. */
  build<R>(name: string, factory: () => WindowOperator | SlicedWindowOperator): DataStream<R>
  readonly keySelector: KeySelector<T, unknown>
  /**
   * Two-phase: `local` before the exchange, `window` after it, keyed by the partials' key; null
   * when this stream cannot (its keyBy is not directly upstream, or pipeline.window.local-aggregation is off).
   */
  buildTwoPhase?<R>(localName: string, local: () => LocalSliceAggregateOperator, name: string, window: () => SlicedWindowOperator): DataStream<R> | null
}

abstract class WindowedBase<T, W extends Window> {
  protected triggerSpec: Trigger<T, W> | null = null
  protected evictorSpec: Evictor<T, W> | null = null
  protected lateness = 0
  protected lateTag: string | null = null

  constructor(protected readonly target: WindowTarget<T>, protected readonly assigner: WindowAssigner<T, W>, protected readonly allWindows: boolean) {}

  trigger(trigger: Trigger<T, W>): this {
    if (typeof this.assigner.mergeWindows === 'function' && trigger.canMerge?.() !== true) {
      throw new UserError('WEIR_INVALID_JOB', `a merging window assigner (${this.assigner.toString()}) needs a trigger that can merge (canMerge() and onMerge())`)
    }
    this.triggerSpec = trigger
    return this
  }

  evictor(evictor: Evictor<T, W>): this {
    this.evictorSpec = evictor
    return this
  }

  /** Keeps windows this long after the watermark passed their end; late elements then fire them again. */
  allowedLateness(ms: number): this {
    if (!(ms >= 0) || !Number.isFinite(ms)) throw new UserError('WEIR_INVALID_ARGUMENT', `allowedLateness: expected a non-negative number of ms, got ${ms}`)
    if (ms > 0 && !this.assigner.isEventTime) throw new UserError('WEIR_INVALID_JOB', `allowedLateness applies to event-time windows only, not to ${this.assigner.toString()}`)
    this.lateness = ms
    return this
  }

  /** Elements too late for every window they belong to go to `tag` instead of being dropped. */
  sideOutputLateData(tag: OutputTag<T>): this {
    this.lateTag = tag.id
    return this
  }

  protected buildWith<R>(name: string, contents: WindowContents, windowFunction: unknown): DataStream<R> {
    const spec: WindowSpec = {
      assigner: this.assigner as WindowAssigner<unknown, Window>,
      trigger: this.triggerSpec as Trigger<unknown, Window> | null,
      evictor: this.evictorSpec as Evictor<unknown, Window> | null,
      allowedLateness: this.lateness,
      lateDataTag: this.lateTag,
      contents,
      windowFunction: (windowFunction ?? null) as WindowSpec['windowFunction'],
      allWindows: this.allWindows,
      keySelector: this.target.keySelector as KeySelector<unknown, unknown>,
    }
    const sliced = canSlice(spec)
    if (sliced && canAggregateLocally(spec) && this.target.buildTwoPhase) {
      const built = this.target.buildTwoPhase<R>(`LocalWindowAggregate(${this.assigner.toString()}, ${name})`, () => new LocalSliceAggregateOperator(spec), `Window(${this.assigner.toString()}, ${name})`, () => new SlicedWindowOperator(spec, { partials: true }))
      if (built !== null) return built
    }
    return this.target.build<R>(`Window(${this.assigner.toString()}, ${name})`, () => (sliced ? new SlicedWindowOperator(spec) : new WindowOperator(spec)))
  }
}

export class WindowedStream<T, K, W extends Window> extends WindowedBase<T, W> {
  /** Reduces each window's elements incrementally; with a ProcessWindowFunction, it gets the reduced value. */
  reduce(fn: ReduceFunction<T>): DataStream<T>
  reduce<R>(fn: ReduceFunction<T>, windowFunction: ProcessWindowFunction<T, R, K, W>): DataStream<R>
  reduce<R>(fn: ReduceFunction<T>, windowFunction?: ProcessWindowFunction<T, R, K, W>): DataStream<R> {
    return this.buildWith<R>('Reduce', { kind: 'reduce', reduce: fn as ReduceFunction<unknown> }, windowFunction)
  }

  aggregate<ACC, V>(fn: AggregateFunction<T, ACC, V>): DataStream<V>
  aggregate<ACC, V, R>(fn: AggregateFunction<T, ACC, V>, windowFunction: ProcessWindowFunction<V, R, K, W>): DataStream<R>
  aggregate<ACC, V, R>(fn: AggregateFunction<T, ACC, V>, windowFunction?: ProcessWindowFunction<V, R, K, W>): DataStream<R> {
    return this.buildWith<R>('Aggregate', { kind: 'aggregate', aggregate: fn as AggregateFunction<unknown, unknown, unknown> }, windowFunction)
  }

  /** The function gets every element of the window (kept in state until it fires). */
  process<R>(fn: ProcessWindowFunction<T, R, K, W>): DataStream<R> {
    return this.buildWith<R>('Process', { kind: 'list' }, fn)
  }
}

export class AllWindowedStream<T, W extends Window> extends WindowedBase<T, W> {
  reduce(fn: ReduceFunction<T>): DataStream<T>
  reduce<R>(fn: ReduceFunction<T>, windowFunction: ProcessAllWindowFunction<T, R, W>): DataStream<R>
  reduce<R>(fn: ReduceFunction<T>, windowFunction?: ProcessAllWindowFunction<T, R, W>): DataStream<R> {
    return this.buildWith<R>('Reduce', { kind: 'reduce', reduce: fn as ReduceFunction<unknown> }, windowFunction)
  }

  aggregate<ACC, V>(fn: AggregateFunction<T, ACC, V>): DataStream<V>
  aggregate<ACC, V, R>(fn: AggregateFunction<T, ACC, V>, windowFunction: ProcessAllWindowFunction<V, R, W>): DataStream<R>
  aggregate<ACC, V, R>(fn: AggregateFunction<T, ACC, V>, windowFunction?: ProcessAllWindowFunction<V, R, W>): DataStream<R> {
    return this.buildWith<R>('Aggregate', { kind: 'aggregate', aggregate: fn as AggregateFunction<unknown, unknown, unknown> }, windowFunction)
  }

  process<R>(fn: ProcessAllWindowFunction<T, R, W>): DataStream<R> {
    return this.buildWith<R>('Process', { kind: 'list' }, fn)
  }
}
