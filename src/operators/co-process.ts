// Two-input operators for connect(): CoMap, CoFlatMap, CoProcess and KeyedCoProcess all run
// as one operator that routes each input to the function's method for it.

import { BaseOperator } from './operator.ts'
import { openFunction, closeFunction, type KeySelector, type KeyedCoProcessFunction, type ProcessContext, type Collector } from '../api/functions.ts'
import { StreamProcessContext } from './process-context.ts'

/** The common shape every co-function is adapted to. */
export interface CoFunctionAdapter<A, B, R> {
  readonly userFunction: object
  first(value: A, ctx: ProcessContext, out: Collector<R>): void
  second(value: B, ctx: ProcessContext, out: Collector<R>): void
  onTimer?(timestamp: number, ctx: StreamProcessContext<unknown>, out: Collector<R>): void
}

export class CoProcessOperator<A, B, R> extends BaseOperator<A, R> {
  private readonly keyed: boolean
  private context!: StreamProcessContext<unknown>
  constructor(
    private readonly fn: CoFunctionAdapter<A, B, R>,
    private readonly keySelector1: KeySelector<A, unknown> | null,
    private readonly keySelector2: KeySelector<B, unknown> | null,
  ) {
    super()
    this.keyed = keySelector1 !== null
  }
  protected override functionForState(): unknown {
    return this.fn.userFunction
  }
  override open(): void {
    this.context = new StreamProcessContext<unknown>(this.ctx, this.output, 'call keyBy(...) on the connected streams first')
    this.notificationTarget = this.fn.userFunction
    openFunction(this.fn.userFunction, this.ctx.runtimeContext)
  }
  processElement(record: A): void {
    try {
      if (this.keyed) this.ctx.keyedBackend!.setCurrentKey(this.keySelector1!(record))
      this.fn.first(record, this.context, this.output)
    } catch (e) {
      throw this.userError(e)
    }
  }
  processElement2(record: unknown): void {
    try {
      if (this.keyed) this.ctx.keyedBackend!.setCurrentKey(this.keySelector2!(record as B))
      this.fn.second(record as B, this.context, this.output)
    } catch (e) {
      throw this.userError(e)
    }
  }
  override onEventTime(time: number): void {
    this.fire(time, 'EVENT_TIME')
  }
  onProcessingTime(time: number): void {
    this.fire(time, 'PROCESSING_TIME')
  }
  private fire(time: number, domain: 'EVENT_TIME' | 'PROCESSING_TIME'): void {
    if (!this.fn.onTimer || !this.keyed) return
    this.context.domain = domain
    try {
      this.fn.onTimer(time, this.context, this.output)
    } catch (e) {
      throw this.userError(e)
    }
  }
  override close(): void {
    closeFunction(this.fn.userFunction)
  }
}

export function keyedCoProcessAdapter<K, A, B, R>(f: KeyedCoProcessFunction<K, A, B, R>): CoFunctionAdapter<A, B, R> {
  return {
    userFunction: f,
    first: (v, ctx, out) => f.processElement1(v, ctx as StreamProcessContext<K>, out),
    second: (v, ctx, out) => f.processElement2(v, ctx as StreamProcessContext<K>, out),
    onTimer: f.onTimer ? (t, ctx, out) => f.onTimer!(t, ctx as StreamProcessContext<K>, out) : undefined,
  }
}
