// Rolling reduce on a keyed stream (Flink's StreamGroupedReduce, behind reduce, sum, min and
// max): keeps the reduced value per key in keyed state and emits it after every record.

import { BaseOperator } from './operator.ts'
import { openFunction, closeFunction, type ReduceFunction, type KeySelector } from '../api/functions.ts'
import type { ValueState } from '../api/state.ts'
import { ValueStateDescriptor } from '../api/state.ts'

export class GroupedReduceOperator<T> extends BaseOperator<T, T> {
  private readonly fn: (a: T, b: T) => T
  private state!: ValueState<T | undefined>
  constructor(private readonly userFunction: ReduceFunction<T>, private readonly keySelector: KeySelector<T, unknown>) {
    super()
    this.fn = typeof userFunction === 'function' ? userFunction : userFunction.reduce.bind(userFunction)
  }
  protected override functionForState(): unknown {
    return this.userFunction
  }
  override open(): void {
    this.notificationTarget = this.userFunction
    this.state = this.ctx.keyedBackend!.getState(new ValueStateDescriptor<T | undefined>('_reduce'))
    openFunction(this.userFunction, this.ctx.runtimeContext)
  }
  processElement(record: T): void {
    let next: T
    try {
      this.ctx.keyedBackend!.setCurrentKey(this.keySelector(record))
      const current = this.state.value()
      next = current === undefined ? record : this.fn(current, record)
    } catch (e) {
      throw this.userError(e)
    }
    this.state.update(next)
    this.output.collect(next)
  }
  override close(): void {
    closeFunction(this.userFunction)
  }
}
