// stream.assignTimestampsAndWatermarks(strategy): gives every record the assigner's timestamp
// and runs one watermark generator per parallel instance, on each event and every
// pipeline.auto-watermark-interval. Watermarks from upstream are replaced by this operator's,
// except the final maximum watermark of an ended input, which passes (as in Flink).

import { BaseOperator } from './operator.ts'
import type { WatermarkGenerator, WatermarkOutput, WatermarkStrategy } from '../api/watermark.ts'
import { MAX_WATERMARK, MIN_WATERMARK } from '../runtime/network/events.ts'

export class TimestampsAndWatermarksOperator<T> extends BaseOperator<T, T> implements WatermarkOutput {
  private generator!: WatermarkGenerator<T>
  private extract!: (event: T, recordTimestamp: number) => number
  private current = MIN_WATERMARK
  private idle = false

  constructor(private readonly strategy: WatermarkStrategy<T>) {
    super()
  }

  override open(): void {
    this.generator = this.strategy.createWatermarkGenerator({ subtaskIndex: this.ctx.runtimeContext.subtaskIndex })
    this.extract = this.strategy.createTimestampExtractor()
  }

  processElement(record: T): void {
    const time = this.ctx.time
    let ts: number
    try {
      ts = this.extract(record, time.value)
      if (typeof ts !== 'number' || Number.isNaN(ts)) throw new TypeError(`the timestamp assigner returned ${String(ts)} instead of a number of ms`)
      time.value = ts
    } catch (e) {
      throw this.userError(e)
    }
    this.output.collect(record)
    // After the record, as in Flink: a watermark emitted for this event must not overtake it.
    try {
      this.generator.onEvent(record, ts, this)
    } catch (e) {
      throw this.userError(e)
    }
  }

  onPeriodicWatermark(): void {
    try {
      this.generator.onPeriodicEmit(this)
    } catch (e) {
      throw this.userError(e)
    }
  }

  override processWatermark(time: number): void {
    if (time === MAX_WATERMARK) this.emitWatermark(MAX_WATERMARK)
  }

  override processWatermarkStatus(): void {}

  // WatermarkOutput, for the generator.
  emitWatermark(time: number): void {
    if (time <= this.current) return
    this.current = time
    if (this.idle) this.markActive()
    this.output.emitWatermark(time)
  }
  markIdle(): void {
    if (this.idle) return
    this.idle = true
    this.output.emitWatermarkStatus(true)
  }
  markActive(): void {
    if (!this.idle) return
    this.idle = false
    this.output.emitWatermarkStatus(false)
  }
}
