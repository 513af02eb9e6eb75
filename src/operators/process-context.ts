// The context process functions receive (ProcessFunction, KeyedProcessFunction, the co- and
// broadcast variants): the record's timestamp, side outputs, timers and the current key. One
// object per operator, reused for every call, so nothing is allocated per record.

import type { OnTimerContext, TimerService, TimeDomain } from '../api/functions.ts'
import type { OutputTag } from '../api/output-tag.ts'
import { NO_TIMESTAMP } from '../runtime/network/events.ts'
import type { OperatorContext, Output } from './operator.ts'
import { UserError } from '../errors.ts'

export class StreamProcessContext<K> implements OnTimerContext<K> {
  /** Set by the operator before onTimer. */
  domain: TimeDomain = 'EVENT_TIME'
  private unkeyed: TimerService | null = null
  constructor(
    private readonly ctx: OperatorContext,
    private readonly out: Output<unknown>,
    private readonly timersNeedKeyBy = 'call keyBy(...) before process(...)',
    /** The operator's input watermark, for currentWatermark() on a non-keyed stream. */
    private readonly watermark: () => number = () => -Infinity,
  ) {}
  /** On a non-keyed stream the clocks work and setting a timer throws, as in Flink. */
  timerService(): TimerService {
    const t = this.ctx.timerService
    if (t !== null) return t
    const refuse = (): never => {
      throw new UserError('WEIR_INVALID_JOB', `timers are only available on keyed streams: ${this.timersNeedKeyBy}`)
    }
    return (this.unkeyed ??= {
      currentProcessingTime: () => Date.now(),
      currentWatermark: () => this.watermark(),
      registerProcessingTimeTimer: refuse,
      deleteProcessingTimeTimer: refuse,
      registerEventTimeTimer: refuse,
      deleteEventTimeTimer: refuse,
    })
  }
  timestamp(): number | null {
    const t = this.ctx.time.value
    return t === NO_TIMESTAMP ? null : t
  }
  output<X>(tag: OutputTag<X>, value: X): void {
    this.out.collectSide(tag.id, value)
  }
  getCurrentKey(): K {
    return this.ctx.keyedBackend?.currentKey as K
  }
  timeDomain(): TimeDomain {
    return this.domain
  }
}
