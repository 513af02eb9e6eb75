// Keeps the records for which a FilterFunction returns true.

import { BaseOperator } from './operator.ts'
import { openFunction, closeFunction, type FilterFunction } from '../api/functions.ts'

export class FilterOperator<T> extends BaseOperator<T, T> {
  private readonly fn: (value: T) => boolean
  constructor(private readonly userFunction: FilterFunction<T>) {
    super()
    this.fn = typeof userFunction === 'function' ? userFunction : userFunction.filter.bind(userFunction)
  }
  protected override functionForState(): unknown {
    return this.userFunction
  }
  override open(): void {
    this.notificationTarget = this.userFunction
    openFunction(this.userFunction, this.ctx.runtimeContext)
  }
  processElement(record: T): void {
    let keep: boolean
    try {
      keep = this.fn(record)
    } catch (e) {
      throw this.userError(e)
    }
    if (keep) this.output.collect(record)
  }
  override close(): void {
    closeFunction(this.userFunction)
  }
}
