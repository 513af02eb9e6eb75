// Two-input operators for connect(): CoMap, CoFlatMap, CoProcess and KeyedCoProcess all run
// as one operator that routes each input to the function's method for it.

import { BaseOperator } from './operator.ts'
import { openFunction, closeFunction, type KeySelector, type KeyedCoProcessFunction, type TimerService, type ProcessContext, type Collector } from '../api/functions.ts'
import { KeyedProcessContext } from './keyed-process.ts'
import { NO_TIMERS_CONTEXT } from './process.ts'

/** The common shape every co-function is adapted to. */
export interface CoFunctionAdapter<A, B, R> {
  readonly userFunction: object
  first(value: A, ctx: ProcessContext, out: Collector<R>): void
  second(value: B, ctx: ProcessContext, out: Collector<R>): void
  onTimer?(timestamp: number, ctx: KeyedProcessContext<unknown>, out: Collector<R>): void
}

export class CoProcessOperator<A, B, R> extends BaseOperator<A, R> {
  private readonly keyed: boolean
  private readonly context: KeyedProcessContext<unknown> | null
  constructor(
    private readonly fn: CoFunctionAdapter<A, B, R>,
    private readonly keySelector1: KeySelector<A, unknown> | null,
    private readonly keySelector2: KeySelector<B, unknown> | null,
  ) {
    super()
    this.keyed = keySelector1 !== null
    this.context = this.keyed ? new KeyedProcessContext<unknown>(this) : null
  }
  protected override functionForState(): unknown {
    return this.fn.userFunction
  }
  override open(): void {
    this.notificationTarget = this.fn.userFunction
    openFunction(this.fn.userFunction, this.ctx.runtimeContext)
  }
  processElement(record: A): void {
    try {
      if (this.keyed) this.ctx.keyedBackend!.setCurrentKey(this.keySelector1!(record))
      this.fn.first(record, this.context ?? NO_TIMERS_CONTEXT, this.output)
    } catch (e) {
      throw this.userError(e)
    }
  }
  processElement2(record: unknown): void {
    try {
      if (this.keyed) this.ctx.keyedBackend!.setCurrentKey(this.keySelector2!(record as B))
      this.fn.second(record as B, this.context ?? NO_TIMERS_CONTEXT, this.output)
    } catch (e) {
      throw this.userError(e)
    }
  }
  onProcessingTime(time: number): void {
    if (!this.fn.onTimer || !this.context) return
    this.context.timestamp = time
    try {
      this.fn.onTimer(time, this.context, this.output)
    } catch (e) {
      throw this.userError(e)
    }
  }
  override close(): void {
    closeFunction(this.fn.userFunction)
  }
  /** @internal */
  get timers(): TimerService {
    return this.ctx.timerService!
  }
  /** @internal */
  get currentKey(): unknown {
    return this.ctx.keyedBackend!.currentKey
  }
}

export function keyedCoProcessAdapter<K, A, B, R>(f: KeyedCoProcessFunction<K, A, B, R>): CoFunctionAdapter<A, B, R> {
  return {
    userFunction: f,
    first: (v, ctx, out) => f.processElement1(v, ctx as KeyedProcessContext<K>, out),
    second: (v, ctx, out) => f.processElement2(v, ctx as KeyedProcessContext<K>, out),
    onTimer: f.onTimer ? (t, ctx, out) => f.onTimer!(t, ctx as KeyedProcessContext<K>, out) : undefined,
  }
}
