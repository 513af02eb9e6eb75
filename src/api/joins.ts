// Joins in Flink's shape. Window joins and coGroup (a.join(b).where(ka).equalTo(kb).window(w)
// .apply(fn)) are, as in Flink, a union of the two inputs tagged by side, keyed by the join key
// and windowed; each window's elements are split back into the two sides. Interval joins
// (a.keyBy(k).intervalJoin(b.keyBy(k)).between(lo, hi).process(fn)) buffer each side in keyed
// state by timestamp and clean up with event-time timers (interval-join.ts).

import type { DataStream, KeyedStream } from './datastream.ts'
import type { Collector, KeySelector, RichFunction } from './functions.ts'
import type { WindowAssigner } from './windowing/assigners.ts'
import type { Trigger } from './windowing/triggers.ts'
import type { Evictor } from './windowing/evictors.ts'
import type { Window } from './windowing/windows.ts'
import type { OutputTag } from './output-tag.ts'
import { IntervalJoinOperator } from '../operators/interval-join.ts'
import { UserError } from '../errors.ts'

/** A tagged element of a coGroup: side 1 or 2. */
type Tagged = readonly [1 | 2, unknown]

export type JoinFunction<A, B, R> = ((first: A, second: B) => R) | (RichFunction & { join(first: A, second: B): R })
export type FlatJoinFunction<A, B, R> = ((first: A, second: B, out: Collector<R>) => void) | (RichFunction & { join(first: A, second: B, out: Collector<R>): void })
export type CoGroupFunction<A, B, R> = ((first: Iterable<A>, second: Iterable<B>, out: Collector<R>) => void) | (RichFunction & { coGroup(first: Iterable<A>, second: Iterable<B>, out: Collector<R>): void })

class Grouping<A, B, K> {
  constructor(readonly first: DataStream<A>, readonly second: DataStream<B>, private readonly join: boolean) {}
  where<K2>(keySelector: KeySelector<A, K2>): { equalTo(keySelector: KeySelector<B, K2>): WindowJoinBuilder<A, B, K2> } {
    return {
      equalTo: (kb: KeySelector<B, K2>) => new WindowJoinBuilder<A, B, K2>(this.first, this.second, keySelector, kb, this.join),
    }
  }
  /** @internal */
  declare readonly __key?: K
}

export class JoinedStreams<A, B> extends Grouping<A, B, unknown> {
  constructor(first: DataStream<A>, second: DataStream<B>) {
    super(first, second, true)
  }
}

export class CoGroupedStreams<A, B> extends Grouping<A, B, unknown> {
  constructor(first: DataStream<A>, second: DataStream<B>) {
    super(first, second, false)
  }
}

export class WindowJoinBuilder<A, B, K> {
  constructor(private readonly first: DataStream<A>, private readonly second: DataStream<B>, private readonly ka: KeySelector<A, K>, private readonly kb: KeySelector<B, K>, private readonly isJoin: boolean) {}
  window<W extends Window>(assigner: WindowAssigner<unknown, W>): WindowedJoin<A, B, K, W> {
    return new WindowedJoin<A, B, K, W>(this.first, this.second, this.ka, this.kb, assigner, this.isJoin)
  }
}

export class WindowedJoin<A, B, K, W extends Window> {
  private triggerSpec: Trigger<unknown, W> | null = null
  private evictorSpec: Evictor<unknown, W> | null = null
  private lateness = 0
  constructor(
    private readonly first: DataStream<A>, private readonly second: DataStream<B>,
    private readonly ka: KeySelector<A, K>, private readonly kb: KeySelector<B, K>,
    private readonly assigner: WindowAssigner<unknown, W>, private readonly isJoin: boolean,
  ) {}
  trigger(trigger: Trigger<unknown, W>): this {
    this.triggerSpec = trigger
    return this
  }
  evictor(evictor: Evictor<unknown, W>): this {
    this.evictorSpec = evictor
    return this
  }
  allowedLateness(ms: number): this {
    this.lateness = ms
    return this
  }

  /** join: the function gets every pair of the window; coGroup: both sides' elements of the window. */
  apply<R>(fn: JoinFunction<A, B, R> | CoGroupFunction<A, B, R>): DataStream<R> {
    const isJoin = this.isJoin
    const call = typeof fn === 'function' ? fn : isJoin ? (fn as { join: (...a: unknown[]) => unknown }).join.bind(fn) : (fn as { coGroup: (...a: unknown[]) => unknown }).coGroup.bind(fn)
    return this.grouped<R>((as, bs, out) => {
      if (!isJoin) return (call as (a: Iterable<A>, b: Iterable<B>, o: Collector<R>) => void)(as, bs, out)
      for (const a of as) for (const b of bs) out.collect((call as (a: A, b: B) => R)(a, b))
    }, isJoin ? 'Window Join' : 'CoGroup')
  }

  /** A join whose function may emit any number of results per pair. */
  flatApply<R>(fn: FlatJoinFunction<A, B, R>): DataStream<R> {
    if (!this.isJoin) throw new UserError('WEIR_INVALID_JOB', 'flatApply is for joins; a coGroup function already gets a collector')
    const call = typeof fn === 'function' ? fn : fn.join.bind(fn)
    return this.grouped<R>((as, bs, out) => {
      for (const a of as) for (const b of bs) call(a, b, out)
    }, 'Window Join')
  }

  private grouped<R>(body: (as: A[], bs: B[], out: Collector<R>) => void, name: string): DataStream<R> {
    const ka = this.ka
    const kb = this.kb
    const tagged = this.first.map((a): Tagged => [1, a]).name(`${name} (left)`)
      .union(this.second.map((b): Tagged => [2, b]).name(`${name} (right)`))
    let windowed = tagged.keyBy((t) => (t[0] === 1 ? ka(t[1] as A) : kb(t[1] as B))).window(this.assigner as WindowAssigner<Tagged, W>)
    if (this.triggerSpec) windowed = windowed.trigger(this.triggerSpec as Trigger<Tagged, W>)
    if (this.evictorSpec) windowed = windowed.evictor(this.evictorSpec as Evictor<Tagged, W>)
    if (this.lateness > 0) windowed = windowed.allowedLateness(this.lateness)
    return windowed.process<R>((_key, _ctx, elements, out) => {
      const as: A[] = []
      const bs: B[] = []
      for (const [side, v] of elements) (side === 1 ? as.push(v as A) : bs.push(v as B))
      body(as, bs, out)
    }).name(name)
  }
}

export interface IntervalJoinContext {
  leftTimestamp(): number
  rightTimestamp(): number
  /** The result's timestamp: the later of the two. */
  timestamp(): number
  output<X>(tag: OutputTag<X>, value: X): void
}

export type ProcessJoinFunction<A, B, R> =
  | ((left: A, right: B, ctx: IntervalJoinContext, out: Collector<R>) => void)
  | (RichFunction & { processElement(left: A, right: B, ctx: IntervalJoinContext, out: Collector<R>): void })

export class IntervalJoin<A, B, K> {
  constructor(private readonly left: KeyedStream<A, K>, private readonly right: KeyedStream<B, K>) {}
  /** Joins a left element at t with the right elements in [t + lowerBound, t + upperBound] (ms, inclusive). */
  between(lowerBound: number, upperBound: number): IntervalJoined<A, B, K> {
    if (!(lowerBound <= upperBound)) throw new UserError('WEIR_INVALID_ARGUMENT', `intervalJoin.between: the lower bound (${lowerBound}) must not exceed the upper bound (${upperBound})`)
    return new IntervalJoined<A, B, K>(this.left, this.right, lowerBound, upperBound)
  }
}

export class IntervalJoined<A, B, K> {
  private lowerInclusive = true
  private upperInclusive = true
  constructor(private readonly left: KeyedStream<A, K>, private readonly right: KeyedStream<B, K>, private readonly lower: number, private readonly upper: number) {}
  lowerBoundExclusive(): this {
    this.lowerInclusive = false
    return this
  }
  upperBoundExclusive(): this {
    this.upperInclusive = false
    return this
  }
  process<R>(fn: ProcessJoinFunction<A, B, R>): DataStream<R> {
    const lower = this.lowerInclusive ? this.lower : this.lower + 1
    const upper = this.upperInclusive ? this.upper : this.upper - 1
    const ka = this.left.keySelector as KeySelector<unknown, unknown>
    const kb = this.right.keySelector as KeySelector<unknown, unknown>
    const t = this.left.env.addTransformation({
      kind: 'two-input', input1: this.left.transformation, input2: this.right.transformation,
      factory: () => new IntervalJoinOperator(fn as ProcessJoinFunction<unknown, unknown, unknown>, ka, kb, lower, upper),
      keySelector1: ka, keySelector2: kb,
      name: 'Interval Join', uid: null, parallelism: null, maxParallelism: null,
    })
    return this.left.derive<R>(t)
  }
}
