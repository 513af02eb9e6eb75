// Applies a FlatMapFunction: zero or more output records per input record.

import { BaseOperator } from './operator.ts'
import { openFunction, closeFunction, type FlatMapFunction, type Collector } from '../api/functions.ts'

export class FlatMapOperator<IN, OUT> extends BaseOperator<IN, OUT> {
  private readonly fn: (value: IN, out: Collector<OUT>) => void
  constructor(private readonly userFunction: FlatMapFunction<IN, OUT>) {
    super()
    this.fn = typeof userFunction === 'function' ? userFunction : userFunction.flatMap.bind(userFunction)
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
      this.fn(record, this.output)
    } catch (e) {
      throw this.userError(e)
    }
  }
  override close(): void {
    closeFunction(this.userFunction)
  }
}
