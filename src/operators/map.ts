// Applies a MapFunction to every record.

import { BaseOperator } from './operator.ts'
import { openFunction, closeFunction, type MapFunction } from '../api/functions.ts'

export class MapOperator<IN, OUT> extends BaseOperator<IN, OUT> {
  private readonly fn: (value: IN) => OUT
  constructor(private readonly userFunction: MapFunction<IN, OUT>) {
    super()
    this.fn = typeof userFunction === 'function' ? userFunction : userFunction.map.bind(userFunction)
  }
  protected override functionForState(): unknown {
    return this.userFunction
  }
  override open(): void {
    this.notificationTarget = this.userFunction
    openFunction(this.userFunction, this.ctx.runtimeContext)
  }
  processElement(record: IN): void {
    let result: OUT
    try {
      result = this.fn(record)
    } catch (e) {
      throw this.userError(e)
    }
    this.output.collect(result)
  }
  override close(): void {
    closeFunction(this.userFunction)
  }
}
