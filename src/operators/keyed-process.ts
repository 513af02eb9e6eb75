// Runs a KeyedProcessFunction: sets the record's key as the current key (so state and timers
// are scoped to it), then calls the function; fires its processing-time timers with the
// timer's key set.

import { BaseOperator } from './operator.ts'
import { openFunction, closeFunction, type KeyedProcessFunction, type OnTimerContext, type KeySelector, type TimerService } from '../api/functions.ts'

export class KeyedProcessOperator<K, IN, OUT> extends BaseOperator<IN, OUT> {
  private readonly context: KeyedProcessContext<K>
  constructor(private readonly userFunction: KeyedProcessFunction<K, IN, OUT>, private readonly keySelector: KeySelector<IN, K>) {
    super()
    this.context = new KeyedProcessContext<K>(this)
  }
  protected override functionForState(): unknown {
    return this.userFunction
  }
  override open(): void {
    this.notificationTarget = this.userFunction
    openFunction(this.userFunction, this.ctx.runtimeContext)
  }
  processElement(record: IN): void {
    try {
      this.ctx.keyedBackend!.setCurrentKey(this.keySelector(record))
      this.userFunction.processElement(record, this.context, this.output)
    } catch (e) {
      throw this.userError(e)
    }
  }
  onProcessingTime(time: number): void {
    if (!this.userFunction.onTimer) return
    this.context.timestamp = time
    try {
      this.userFunction.onTimer(time, this.context, this.output)
    } catch (e) {
      throw this.userError(e)
    }
  }
  override close(): void {
    closeFunction(this.userFunction)
  }
  /** @internal */
  get timers(): TimerService {
    return this.ctx.timerService!
  }
  /** @internal */
  get currentKey(): K {
    return this.ctx.keyedBackend!.currentKey as K
  }
}

/** One context object per operator, reused for every call (no allocation per record). */
export class KeyedProcessContext<K> implements OnTimerContext<K> {
  timestamp = 0
  constructor(private readonly operator: { readonly timers: TimerService; readonly currentKey: K }) {}
  timerService(): TimerService {
    return this.operator.timers
  }
  getCurrentKey(): K {
    return this.operator.currentKey
  }
}
