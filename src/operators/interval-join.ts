// The interval join (Flink's IntervalJoinOperator): each side's elements are buffered in keyed
// state by timestamp; an element joins the other side's buffered elements whose timestamps lie
// in its interval, and is kept until the watermark passes the last time a partner for it could
// arrive (an event-time timer). Elements behind the watermark are late and dropped. A result's
// timestamp is the later of the two.

import { BaseOperator } from './operator.ts'
import { MapStateDescriptor, type MapState } from '../api/state.ts'
import { openFunction, closeFunction, type Collector, type KeySelector } from '../api/functions.ts'
import type { IntervalJoinContext, ProcessJoinFunction } from '../api/joins.ts'
import type { OutputTag } from '../api/output-tag.ts'
import { UserError } from '../errors.ts'

export class IntervalJoinOperator extends BaseOperator<unknown, unknown> {
  private left!: MapState<number, unknown[]>
  private right!: MapState<number, unknown[]>
  private readonly call: (l: unknown, r: unknown, ctx: IntervalJoinContext, out: Collector<unknown>) => void
  private leftTs = 0
  private rightTs = 0
  private readonly context: IntervalJoinContext = {
    leftTimestamp: () => this.leftTs,
    rightTimestamp: () => this.rightTs,
    timestamp: () => Math.max(this.leftTs, this.rightTs),
    output: <X>(tag: OutputTag<X>, value: X) => this.output.collectSide(tag.id, value),
  }

  constructor(
    private readonly fn: ProcessJoinFunction<unknown, unknown, unknown>,
    private readonly keyLeft: KeySelector<unknown, unknown>,
    private readonly keyRight: KeySelector<unknown, unknown>,
    private readonly lower: number,
    private readonly upper: number,
  ) {
    super()
    this.call = typeof fn === 'function' ? fn : fn.processElement.bind(fn)
  }

  protected override functionForState(): unknown {
    return this.fn
  }

  override open(): void {
    const b = this.ctx.keyedBackend!
    this.left = b.getState(new MapStateDescriptor<number, unknown[]>('interval-join-left'))
    this.right = b.getState(new MapStateDescriptor<number, unknown[]>('interval-join-right'))
    this.notificationTarget = this.fn
    openFunction(this.fn, this.ctx.runtimeContext)
  }

  processElement(record: unknown): void {
    this.element(record, true)
  }

  processElement2(record: unknown): void {
    this.element(record, false)
  }

  private element(record: unknown, isLeft: boolean): void {
    const ctx = this.ctx
    const ts = ctx.time.value
    if (ts === -Infinity) throw new UserError('WEIR_INVALID_JOB', 'an interval join needs timestamps on both inputs: assign them with a WatermarkStrategy')
    try {
      ctx.keyedBackend!.setCurrentKey((isLeft ? this.keyLeft : this.keyRight)(record))
    } catch (e) {
      throw this.userError(e)
    }
    const timers = ctx.internalTimers!
    if (ts < timers.currentWatermark) return
    const own = isLeft ? this.left : this.right
    const other = isLeft ? this.right : this.left
    const bucket = own.get(ts)
    own.put(ts, bucket === undefined ? [record] : [...bucket, record])
    // The other side's partners of an element at ts lie in [ts + lower, ts + upper] (left) or [ts - upper, ts - lower] (right).
    const from = isLeft ? ts + this.lower : ts - this.upper
    const to = isLeft ? ts + this.upper : ts - this.lower
    for (const [otherTs, elements] of other.entries()) {
      if (otherTs < from || otherTs > to) continue
      for (const e of elements) this.emit(isLeft ? record : e, isLeft ? e : record, isLeft ? ts : otherTs, isLeft ? otherTs : ts)
    }
    const keep = isLeft ? Math.max(0, this.upper) : Math.max(0, -this.lower)
    timers.registerEventTimeTimer(ts + keep, isLeft ? 'L' : 'R')
  }

  private emit(l: unknown, r: unknown, lt: number, rt: number): void {
    const time = this.ctx.time
    const saved = time.value
    this.leftTs = lt
    this.rightTs = rt
    time.value = Math.max(lt, rt)
    try {
      this.call(l, r, this.context, this.output)
    } catch (e) {
      throw this.userError(e)
    } finally {
      time.value = saved
    }
  }

  override onEventTime(time: number, ns: string): void {
    if (ns === 'L') this.left.remove(time - Math.max(0, this.upper))
    else this.right.remove(time - Math.max(0, -this.lower))
  }

  override close(): void {
    closeFunction(this.fn)
  }

}
