// Runs a ProcessFunction on a non-keyed stream. Timers need a keyed stream, as in Flink.

import { BaseOperator } from './operator.ts'
import { openFunction, closeFunction, type ProcessFunction } from '../api/functions.ts'
import { StreamProcessContext } from './process-context.ts'

export class ProcessOperator<IN, OUT> extends BaseOperator<IN, OUT> {
  private context!: StreamProcessContext<never>
  constructor(private readonly userFunction: ProcessFunction<IN, OUT>) {
    super()
  }
  protected override functionForState(): unknown {
    return this.userFunction
  }
  override open(): void {
    this.context = new StreamProcessContext<never>(this.ctx, this.output, undefined, () => this.inputWatermark)
    this.notificationTarget = this.userFunction
    openFunction(this.userFunction, this.ctx.runtimeContext)
  }
  processElement(record: IN): void {
    try {
      this.userFunction.processElement(record, this.context, this.output)
    } catch (e) {
      throw this.userError(e)
    }
  }
  override close(): void {
    closeFunction(this.userFunction)
  }
}
