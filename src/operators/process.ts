// Runs a ProcessFunction on a non-keyed stream. Timers need a keyed stream, as in Flink.

import { BaseOperator } from './operator.ts'
import { openFunction, closeFunction, type ProcessFunction, type ProcessContext, type TimerService } from '../api/functions.ts'
import { UserError } from '../errors.ts'

export const NO_TIMERS_CONTEXT: ProcessContext = {
  timerService(): TimerService {
    throw new UserError('WEIR_INVALID_JOB', 'timers are only available on keyed streams: call keyBy(...) before process(...)')
  },
}

export class ProcessOperator<IN, OUT> extends BaseOperator<IN, OUT> {
  constructor(private readonly userFunction: ProcessFunction<IN, OUT>) {
    super()
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
      this.userFunction.processElement(record, NO_TIMERS_CONTEXT, this.output)
    } catch (e) {
      throw this.userError(e)
    }
  }
  override close(): void {
    closeFunction(this.userFunction)
  }
}
