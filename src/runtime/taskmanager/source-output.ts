// The output a source reader emits into: counts records, gives each its timestamp (the
// strategy's assigner, or the one the reader passed) and runs the WatermarkStrategy's
// generators, one per split output and one for the reader as a whole. The source's watermark is
// the minimum over the outputs that are not idle; it goes into the chain when it advances.

import type { ReaderOutput } from '../../api/source.ts'
import type { WatermarkGenerator, WatermarkOutput, WatermarkStrategy } from '../../api/watermark.ts'
import type { Output, RecordTime } from '../../operators/operator.ts'
import { MIN_WATERMARK, NO_TIMESTAMP } from '../network/events.ts'

/** One output with its own generator: the reader's, or one split's. */
class GeneratingOutput implements ReaderOutput<unknown>, WatermarkOutput {
  watermark = MIN_WATERMARK
  idle = false
  /** The reader-level output joins the minimum only once used, so split-only readers are not held back. */
  used = false
  constructor(private readonly owner: SourceOutputs, private readonly generator: WatermarkGenerator<unknown> | null) {}
  collect(record: unknown, timestamp: number = NO_TIMESTAMP): void {
    const owner = this.owner
    owner.count++
    const ts = owner.extract(record, timestamp)
    owner.time.value = ts
    this.used = true
    owner.chain.collect(record)
    // The record first, then the generator (Flink's order): a watermark it emits for this event
    // must not overtake the event, which it may cover (a punctuated generator emitting ts).
    if (this.generator !== null) this.generator.onEvent(record, ts, this)
  }
  createOutputForSplit(splitId: string): ReaderOutput<unknown> {
    return this.owner.createOutputForSplit(splitId)
  }
  releaseOutputForSplit(splitId: string): void {
    this.owner.releaseOutputForSplit(splitId)
  }
  emitWatermark(time: number): void {
    if (time <= this.watermark) return
    this.watermark = time
    this.used = true
    if (this.idle) this.idle = false
    this.owner.combine()
  }
  markIdle(): void {
    if (this.idle) return
    this.idle = true
    this.owner.combine()
  }
  markActive(): void {
    if (!this.idle) return
    this.idle = false
    this.owner.combine()
  }
  periodic(): void {
    if (this.generator !== null) this.generator.onPeriodicEmit(this)
  }
}

export class SourceOutputs implements ReaderOutput<unknown> {
  count = 0
  /** The watermark this source emitted last. */
  emitted = MIN_WATERMARK
  private idle = false
  readonly extract: (event: unknown, recordTimestamp: number) => number
  private readonly main: GeneratingOutput
  private readonly splits = new Map<string, GeneratingOutput>()
  /** main first, then the split outputs. */
  private all: GeneratingOutput[]

  constructor(
    readonly chain: Output<unknown>,
    readonly time: RecordTime,
    private readonly strategy: WatermarkStrategy<unknown> | null,
    private readonly subtaskIndex: number,
  ) {
    this.extract = strategy ? strategy.createTimestampExtractor() : (_e, ts) => ts
    this.main = new GeneratingOutput(this, this.newGenerator())
    this.all = [this.main]
  }

  /** Whether a periodic call does anything. */
  get periodic(): boolean {
    return this.strategy !== null && this.strategy.emitsWatermarks
  }

  collect(record: unknown, timestamp?: number): void {
    this.main.collect(record, timestamp)
  }

  createOutputForSplit(splitId: string): ReaderOutput<unknown> {
    let out = this.splits.get(splitId)
    if (!out) {
      out = new GeneratingOutput(this, this.newGenerator())
      out.used = true
      this.splits.set(splitId, out)
      this.all = [this.main, ...this.splits.values()]
    }
    return out
  }

  releaseOutputForSplit(splitId: string): void {
    if (!this.splits.delete(splitId)) return
    this.all = [this.main, ...this.splits.values()]
    this.combine()
  }

  /** pipeline.auto-watermark-interval: every generator's onPeriodicEmit. */
  emitPeriodic(): void {
    this.main.periodic()
    for (const out of this.splits.values()) out.periodic()
  }

  /** The minimum over the active outputs; all idle: the source is idle. */
  combine(): void {
    let min = Infinity
    let active = 0
    let any = 0
    const all = this.all
    for (let i = 0; i < all.length; i++) {
      const o = all[i]!
      if (!o.used) continue
      any++
      if (o.idle) continue
      active++
      if (o.watermark < min) min = o.watermark
    }
    if (any > 0 && active === 0) {
      if (!this.idle) {
        this.idle = true
        this.chain.emitWatermarkStatus(true)
      }
      return
    }
    if (active > 0 && this.idle) {
      this.idle = false
      this.chain.emitWatermarkStatus(false)
    }
    if (active > 0 && min > this.emitted && min !== MIN_WATERMARK) {
      this.emitted = min
      this.chain.emitWatermark(min)
    }
  }

  /** End of input: the maximum watermark, whatever the generators say. */
  emitFinal(time: number): void {
    if (this.idle) {
      this.idle = false
      this.chain.emitWatermarkStatus(false)
    }
    if (time > this.emitted) {
      this.emitted = time
      this.chain.emitWatermark(time)
    }
  }

  private newGenerator(): WatermarkGenerator<unknown> | null {
    return this.strategy && this.strategy.emitsWatermarks ? this.strategy.createWatermarkGenerator({ subtaskIndex: this.subtaskIndex }) : null
  }
}
