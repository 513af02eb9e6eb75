// Runs a KeyedProcessFunction: sets the record's key as the current key (so state and timers
// are scoped to it), then calls the function; fires its event- and processing-time timers with
// the timer's key set.

import { BaseOperator } from './operator.ts'
import { openFunction, closeFunction, type KeyedProcessFunction, type KeySelector } from '../api/functions.ts'
import { StreamProcessContext } from './process-context.ts'

export class KeyedProcessOperator<K, IN, OUT> extends BaseOperator<IN, OUT> {
  private context!: StreamProcessContext<K>
  constructor(private readonly userFunction: KeyedProcessFunction<K, IN, OUT>, private readonly keySelector: KeySelector<IN, K>) {
    super()
  }
  protected override functionForState(): unknown {
    return this.userFunction
  }
  override open(): void {
    this.context = new StreamProcessContext<K>(this.ctx, this.output)
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
  override onEventTime(time: number): void {
    this.fire(time, 'EVENT_TIME')
  }
  onProcessingTime(time: number): void {
    this.fire(time, 'PROCESSING_TIME')
  }
  private fire(time: number, domain: 'EVENT_TIME' | 'PROCESSING_TIME'): void {
    if (!this.userFunction.onTimer) return
    this.context.domain = domain
    try {
      this.userFunction.onTimer(time, this.context, this.output)
    } catch (e) {
      throw this.userError(e)
    }
  }
  override close(): void {
    closeFunction(this.userFunction)
  }
}
