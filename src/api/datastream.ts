// DataStream, KeyedStream and ConnectedStreams: the typed pipeline a job builds. Each call adds
// a transformation to the environment's graph; the element type flows through every call.

import type { StreamEnvironment } from './environment.ts'
import type {
  MapFunction, FlatMapFunction, FilterFunction, ReduceFunction, KeySelector, ProcessFunction, KeyedProcessFunction,
  CoMapFunction, CoFlatMapFunction, CoProcessFunction, KeyedCoProcessFunction, BroadcastProcessFunction, KeyedBroadcastProcessFunction,
} from './functions.ts'
import type { MapStateDescriptor } from './state.ts'
import { BroadcastProcessOperator } from '../operators/broadcast-process.ts'
import { isTwoPhaseCommittingSink, type Sink, type TwoPhaseCommittingSink } from './sink.ts'
import type { OneInputTransformation, PartitionerSpec, Transformation } from '../graph/transformation.ts'
import type { OperatorFactory } from '../operators/operator.ts'
import { MapOperator } from '../operators/map.ts'
import { FlatMapOperator } from '../operators/flat-map.ts'
import { FilterOperator } from '../operators/filter.ts'
import { ProcessOperator } from '../operators/process.ts'
import { KeyedProcessOperator } from '../operators/keyed-process.ts'
import { GroupedReduceOperator } from '../operators/grouped-reduce.ts'
import { FieldAggregationOperator } from '../operators/field-aggregation.ts'
import { CoProcessOperator, keyedCoProcessAdapter, type CoFunctionAdapter } from '../operators/co-process.ts'
import { SinkOperator } from '../operators/sink.ts'
import { TimestampsAndWatermarksOperator } from '../operators/timestamps-and-watermarks.ts'
import type { WatermarkStrategy } from './watermark.ts'
import type { OutputTag } from './output-tag.ts'
import { WindowedStream, AllWindowedStream, type WindowTarget } from './windowed-stream.ts'
import { JoinedStreams, CoGroupedStreams, IntervalJoin } from './joins.ts'
import type { WindowAssigner } from './windowing/assigners.ts'
import { GlobalWindows } from './windowing/assigners.ts'
import { CountTrigger, PurgingTrigger } from './windowing/triggers.ts'
import { CountEvictor } from './windowing/evictors.ts'
import type { GlobalWindow, Window } from './windowing/windows.ts'
import { CommittingSinkOperator } from '../operators/committing-sink.ts'
import { PrintSink } from '../connectors/print/print-sink.ts'
import { UserError } from '../errors.ts'
import { WINDOW_LOCAL_AGGREGATION } from '../config/options.ts'
import { partialKey } from '../operators/window/local-slice-aggregate.ts'

/**
 * Fields of T that hold numbers, the arguments sum / min / max accept: tuple indices (as
 * numbers), any index of an array of numbers, or object keys. A record without such fields (a
 * number, a string, a tuple or object with no number in it) accepts nothing, and the parameter
 * type then says why in the compiler's message.
 */
export type NumericField<T> = 0 extends 1 & T
  ? string | number // any: nothing to check
  : [T] extends [string | number | bigint | boolean | symbol | null | undefined]
    ? 'sum, min and max aggregate a field of a tuple or object; on a stream of plain values use reduce((a, b) => a + b)'
    : T extends readonly unknown[]
      ? number extends T['length']
        ? (T[number] extends number ? number : never)
        : { [I in keyof T]: T[I] extends number ? I : never }[number] extends infer S
          ? S extends `${infer N extends number}` ? N : never
          : never
      : { [K in keyof T]-?: T[K] extends number ? K : never }[keyof T]

export class DataStream<T> {
  /** @internal */
  constructor(readonly env: StreamEnvironment, readonly transformation: Transformation) {}

  map<R>(fn: MapFunction<T, R>): DataStream<R> {
    return this.oneInput<R>('Map', () => new MapOperator(fn))
  }

  flatMap<R>(fn: FlatMapFunction<T, R>): DataStream<R> {
    return this.oneInput<R>('Flat Map', () => new FlatMapOperator(fn))
  }

  filter(fn: FilterFunction<T>): DataStream<T> {
    return this.oneInput<T>('Filter', () => new FilterOperator(fn))
  }

  process<R>(fn: ProcessFunction<T, R>): DataStream<R> {
    return this.oneInput<R>('Process', () => new ProcessOperator(fn))
  }

  /**
   * Gives every record the strategy's timestamp and generates watermarks in each parallel
   * instance (for sources, prefer env.fromSource(source, strategy, name): per-split watermarks).
   */
  assignTimestampsAndWatermarks(strategy: WatermarkStrategy<T>): DataStream<T> {
    return this.oneInput<T>('Timestamps/Watermarks', () => new TimestampsAndWatermarksOperator<T>(strategy))
  }

  /** What this operator emitted to `tag` (ctx.output(tag, value), or a window's late data). */
  getSideOutput<X>(tag: OutputTag<X>): DataStream<X> {
    const t = this.transformation
    if (t.kind !== 'one-input' && t.kind !== 'two-input') {
      throw new UserError('WEIR_INVALID_JOB', `getSideOutput('${tag.id}') applies to the stream of an operator (process, a window), not to a ${t.kind}`)
    }
    const side = this.env.addTransformation({ kind: 'side-output', input: t, tag: tag.id, name: `Side Output ${tag.id}`, uid: null, parallelism: null, maxParallelism: null })
    return new DataStream<X>(this.env, side)
  }

  /** Windows over the whole stream, in one parallel instance (Flink's windowAll). */
  windowAll<W extends Window>(assigner: WindowAssigner<T, W>): AllWindowedStream<T, W> {
    const keyed = this.keyBy(() => 0)
    const target: WindowTarget<T> = {
      keySelector: () => 0,
      build: <R>(name: string, factory: OperatorFactory) => {
        const t = this.env.addTransformation({ kind: 'one-input', input: keyed.transformation, factory, keySelector: () => 0, isSink: false, name, uid: null, parallelism: 1, maxParallelism: null })
        return new DataStream<R>(this.env, t)
      },
    }
    return new AllWindowedStream<T, W>(target, assigner, true)
  }

  /** windowAll over GlobalWindows firing every `size` elements (every `slide` elements over the last `size`). */
  countWindowAll(size: number, slide?: number): AllWindowedStream<T, GlobalWindow> {
    const w = this.windowAll(GlobalWindows.create<T>())
    return slide === undefined ? w.trigger(PurgingTrigger.of(CountTrigger.of<T, GlobalWindow>(size))) : w.evictor(CountEvictor.of<T, GlobalWindow>(size)).trigger(CountTrigger.of<T, GlobalWindow>(slide))
  }

  /** Partitions by key: records with equal keys go to the same subtask, by key group. */
  keyBy<K>(keySelector: KeySelector<T, K>): KeyedStream<T, K> {
    const partition = this.env.addTransformation({ kind: 'partition', input: this.transformation, partitioner: { type: 'hash', keySelector: keySelector as KeySelector<unknown, unknown> }, name: 'Key By', uid: null, parallelism: null, maxParallelism: null })
    return new KeyedStream<T, K>(this.env, partition, keySelector)
  }

  union(...others: DataStream<T>[]): DataStream<T> {
    const t = this.env.addTransformation({ kind: 'union', inputs: [this.transformation, ...others.map((o) => o.transformation)], name: 'Union', uid: null, parallelism: null, maxParallelism: null })
    return new DataStream<T>(this.env, t)
  }

  /** Two inputs, one operator; with a BroadcastStream, the operator also holds its broadcast state. */
  connect<U>(other: BroadcastStream<U>): BroadcastConnectedStream<T, U>
  connect<U>(other: DataStream<U>): ConnectedStreams<T, U>
  connect<U>(other: DataStream<U> | BroadcastStream<U>): ConnectedStreams<T, U> | BroadcastConnectedStream<T, U> {
    if (other instanceof BroadcastStream) return new BroadcastConnectedStream<T, U>(this, other)
    return new ConnectedStreams<T, U>(this.env, this, other, null, null)
  }

  /** Round-robin to every downstream subtask. */
  rebalance(): DataStream<T> {
    return this.partition({ type: 'rebalance' })
  }

  /** Round-robin to a local subset of downstream subtasks (treated like rebalance for now). */
  rescale(): DataStream<T> {
    return this.partition({ type: 'rescale' })
  }

  /**
   * Every record to every downstream subtask. With state descriptors, a BroadcastStream whose
   * records update broadcast state in the operator it is connected to.
   */
  broadcast(): DataStream<T>
  broadcast(...descriptors: [MapStateDescriptor<any, any>, ...MapStateDescriptor<any, any>[]]): BroadcastStream<T>
  broadcast(...descriptors: MapStateDescriptor<any, any>[]): DataStream<T> | BroadcastStream<T> {
    const partitioned = this.partition({ type: 'broadcast' })
    return descriptors.length > 0 ? new BroadcastStream<T>(partitioned, descriptors) : partitioned
  }

  /** Subtask i to subtask i; needs equal parallelism. */
  forward(): DataStream<T> {
    return this.partition({ type: 'forward' })
  }

  /** Everything to the first downstream subtask. */
  global(): DataStream<T> {
    return this.partition({ type: 'global' })
  }

  /** Prints each record on its own line: two-element arrays as (a,b), objects as JSON. */
  print(prefix?: string): DataStreamSink<T> {
    return this.sinkTo(new PrintSink<T>(prefix), 'Print to Std. Out')
  }

  sinkTo(sink: Sink<T> | TwoPhaseCommittingSink<T, any>, name = 'Sink'): DataStreamSink<T> {
    const t = this.env.addTransformation({ kind: 'one-input', input: this.transformation, factory: () => (isTwoPhaseCommittingSink(sink) ? new CommittingSinkOperator(sink) : new SinkOperator(sink)), keySelector: null, isSink: true, name, uid: null, parallelism: null, maxParallelism: null })
    return new DataStreamSink<T>(t as OneInputTransformation)
  }

  /** A stable identity for this operator's state across job versions. */
  uid(id: string): this {
    this.physical('uid').uid = id
    return this
  }

  name(name: string): this {
    this.physical('name').name = name
    return this
  }

  setParallelism(parallelism: number): this {
    if (!Number.isInteger(parallelism) || parallelism < 1) throw new UserError('WEIR_INVALID_ARGUMENT', `setParallelism: expected a positive integer, got ${parallelism}`)
    this.physical('setParallelism').parallelism = parallelism
    return this
  }

  setMaxParallelism(maxParallelism: number): this {
    if (!Number.isInteger(maxParallelism) || maxParallelism < 1) throw new UserError('WEIR_INVALID_ARGUMENT', `setMaxParallelism: expected a positive integer, got ${maxParallelism}`)
    this.physical('setMaxParallelism').maxParallelism = maxParallelism
    return this
  }

  /** Window join: pairs of this stream's and `other`'s elements with equal keys in the same window. */
  join<U>(other: DataStream<U>): JoinedStreams<T, U> {
    return new JoinedStreams<T, U>(this, other)
  }

  /** Both streams' elements with equal keys in the same window, as two groups. */
  coGroup<U>(other: DataStream<U>): CoGroupedStreams<T, U> {
    return new CoGroupedStreams<T, U>(this, other)
  }

  /** @internal a stream of another transformation in the same environment */
  derive<R>(t: Transformation): DataStream<R> {
    return new DataStream<R>(this.env, t)
  }

  /** @internal */
  protected oneInput<R>(name: string, factory: OperatorFactory, keySelector: KeySelector<unknown, unknown> | null = null): DataStream<R> {
    const t = this.env.addTransformation({ kind: 'one-input', input: this.transformation, factory, keySelector, isSink: false, name, uid: null, parallelism: null, maxParallelism: null })
    return new DataStream<R>(this.env, t)
  }

  private partition(partitioner: PartitionerSpec): DataStream<T> {
    const t = this.env.addTransformation({ kind: 'partition', input: this.transformation, partitioner, name: partitioner.type, uid: null, parallelism: null, maxParallelism: null })
    return new DataStream<T>(this.env, t)
  }

  private physical(method: string): Transformation {
    const t = this.transformation
    if (t.kind === 'partition' || t.kind === 'union' || t.kind === 'side-output') {
      throw new UserError('WEIR_INVALID_JOB', `${method}() applies to an operator, not to a ${t.kind === 'union' ? 'union' : t.kind === 'side-output' ? 'side output' : 'partitioning'}; call it after map, process, a source or a sink`)
    }
    return t
  }
}

export class DataStreamSink<T> {
  constructor(private readonly transformation: OneInputTransformation) {}
  uid(id: string): this {
    this.transformation.uid = id
    return this
  }
  name(name: string): this {
    this.transformation.name = name
    return this
  }
  setParallelism(parallelism: number): this {
    if (!Number.isInteger(parallelism) || parallelism < 1) throw new UserError('WEIR_INVALID_ARGUMENT', `setParallelism: expected a positive integer, got ${parallelism}`)
    this.transformation.parallelism = parallelism
    return this
  }
  /** @internal the element type, for type checks only */
  declare readonly __type?: T
}

export class KeyedStream<T, K> extends DataStream<T> {
  /** @internal */
  constructor(env: StreamEnvironment, transformation: Transformation, readonly keySelector: KeySelector<T, K>) {
    super(env, transformation)
  }

  /** Rolling reduce: emits the reduced value of the record's key after every record. */
  reduce(fn: ReduceFunction<T>): DataStream<T> {
    return this.keyed<T>('Keyed Reduce', () => new GroupedReduceOperator(fn, this.keySelector))
  }

  /** Rolling sum of a numeric field (a tuple index or an object key); other fields come from the key's first record. */
  sum(field: NumericField<T>): DataStream<T> {
    return this.aggregate('sum', field)
  }

  min(field: NumericField<T>): DataStream<T> {
    return this.aggregate('min', field)
  }

  max(field: NumericField<T>): DataStream<T> {
    return this.aggregate('max', field)
  }

  /** Joins each element with the other stream's elements of the same key within a time interval of it. */
  intervalJoin<U>(other: KeyedStream<U, K>): IntervalJoin<T, U, K> {
    return new IntervalJoin<T, U, K>(this, other)
  }

  /** Groups each key's elements into the assigner's windows. */
  window<W extends Window>(assigner: WindowAssigner<T, W>): WindowedStream<T, K, W> {
    const target: WindowTarget<T> = {
      keySelector: this.keySelector,
      build: <R>(name: string, factory: OperatorFactory) => this.keyed<R>(name, factory),
      buildTwoPhase: <R>(localName: string, local: OperatorFactory, name: string, window: OperatorFactory) => this.twoPhase<R>(localName, local, name, window),
    }
    return new WindowedStream<T, K, W>(target, assigner, false)
  }

  /** Count windows per key: every `size` elements, or (with `slide`) every `slide` elements over the last `size`. */
  countWindow(size: number, slide?: number): WindowedStream<T, K, GlobalWindow> {
    const w = this.window(GlobalWindows.create<T>())
    return slide === undefined ? w.trigger(PurgingTrigger.of(CountTrigger.of<T, GlobalWindow>(size))) : w.evictor(CountEvictor.of<T, GlobalWindow>(size)).trigger(CountTrigger.of<T, GlobalWindow>(slide))
  }

  override process<R>(fn: KeyedProcessFunction<K, T, R> | ProcessFunction<T, R>): DataStream<R> {
    return this.keyed<R>('Keyed Process', () => new KeyedProcessOperator(fn as KeyedProcessFunction<K, T, R>, this.keySelector))
  }

  private aggregate(kind: 'sum' | 'min' | 'max', field: NumericField<T>): DataStream<T> {
    return this.keyed<T>('Keyed Aggregation', () => new FieldAggregationOperator<T>(kind, field as string | number, this.keySelector))
  }

  /**
   * The local phase on this keyBy's input (at that input's parallelism, so that it chains to it),
   * a keyBy of the partials by their key, then the window: null when the keyBy is not this
   * stream's own transformation or pipeline.window.local-aggregation is off.
   */
  private twoPhase<R>(localName: string, local: OperatorFactory, name: string, window: OperatorFactory): DataStream<R> | null {
    const t = this.transformation
    if (t.kind !== 'partition' || t.partitioner.type !== 'hash' || !this.env.config.get(WINDOW_LOCAL_AGGREGATION)) return null
    const pre = this.env.addTransformation({ kind: 'one-input', input: t.input, factory: local, keySelector: null, isSink: false, name: localName, uid: null, parallelism: null, maxParallelism: null, parallelismOfInput: true })
    const partition = this.env.addTransformation({ kind: 'partition', input: pre, partitioner: { type: 'hash', keySelector: partialKey as KeySelector<unknown, unknown> }, name: 'Key By', uid: null, parallelism: null, maxParallelism: null })
    const w = this.env.addTransformation({ kind: 'one-input', input: partition, factory: window, keySelector: partialKey as KeySelector<unknown, unknown>, isSink: false, name, uid: null, parallelism: null, maxParallelism: null })
    return new DataStream<R>(this.env, w)
  }

  private keyed<R>(name: string, factory: OperatorFactory): DataStream<R> {
    return this.oneInput<R>(name, factory, this.keySelector as KeySelector<unknown, unknown>)
  }
}

export class ConnectedStreams<A, B> {
  /** @internal */
  constructor(
    private readonly env: StreamEnvironment,
    readonly first: DataStream<A>,
    readonly second: DataStream<B>,
    private readonly keySelector1: KeySelector<A, unknown> | null,
    private readonly keySelector2: KeySelector<B, unknown> | null,
  ) {}

  /** Keys both inputs, so that state and timers are shared per key across them. */
  keyBy<K>(keySelector1: KeySelector<A, K>, keySelector2: KeySelector<B, K>): ConnectedStreams<A, B> {
    return new ConnectedStreams<A, B>(this.env, this.first.keyBy(keySelector1), this.second.keyBy(keySelector2), keySelector1, keySelector2)
  }

  map<R>(fn: CoMapFunction<A, B, R>): DataStream<R> {
    return this.transform<R>('Co-Map', {
      userFunction: fn,
      first: (v, _ctx, out) => out.collect(fn.map1(v)),
      second: (v, _ctx, out) => out.collect(fn.map2(v)),
    })
  }

  flatMap<R>(fn: CoFlatMapFunction<A, B, R>): DataStream<R> {
    return this.transform<R>('Co-Flat Map', {
      userFunction: fn,
      first: (v, _ctx, out) => fn.flatMap1(v, out),
      second: (v, _ctx, out) => fn.flatMap2(v, out),
    })
  }

  process<R>(fn: CoProcessFunction<A, B, R> | KeyedCoProcessFunction<unknown, A, B, R>): DataStream<R> {
    return this.transform<R>('Co-Process', keyedCoProcessAdapter(fn as KeyedCoProcessFunction<unknown, A, B, R>))
  }

  private transform<R>(name: string, adapter: CoFunctionAdapter<A, B, R>): DataStream<R> {
    const t = this.env.addTransformation({
      kind: 'two-input', input1: this.first.transformation, input2: this.second.transformation,
      factory: () => new CoProcessOperator(adapter, this.keySelector1, this.keySelector2),
      keySelector1: this.keySelector1 as KeySelector<unknown, unknown> | null, keySelector2: this.keySelector2 as KeySelector<unknown, unknown> | null,
      name, uid: null, parallelism: null, maxParallelism: null,
    })
    return new DataStream<R>(this.env, t)
  }
}

/** A stream broadcast to every subtask of the operator it is connected to, carrying broadcast state descriptors. */
export class BroadcastStream<T> {
  /** @internal */
  constructor(readonly stream: DataStream<T>, readonly descriptors: readonly MapStateDescriptor<any, any>[]) {}
}

export class BroadcastConnectedStream<T, B> {
  /** @internal */
  constructor(private readonly main: DataStream<T>, private readonly broadcastStream: BroadcastStream<B>) {}

  process<R>(fn: BroadcastProcessFunction<T, B, R> | KeyedBroadcastProcessFunction<any, T, B, R>): DataStream<R> {
    const keySelector = this.main instanceof KeyedStream ? (this.main.keySelector as KeySelector<unknown, unknown>) : null
    const descriptors = this.broadcastStream.descriptors
    const t = this.main.env.addTransformation({
      kind: 'two-input', input1: this.main.transformation, input2: this.broadcastStream.stream.transformation,
      factory: () => new BroadcastProcessOperator(fn as never, keySelector, descriptors),
      keySelector1: keySelector, keySelector2: null,
      name: 'Broadcast Process', uid: null, parallelism: null, maxParallelism: null,
    })
    return new DataStream<R>(this.main.env, t)
  }
}
