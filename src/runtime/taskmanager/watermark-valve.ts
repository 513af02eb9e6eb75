// Combines the watermarks of a task's input channels into the task's watermark (Flink's
// StatusWatermarkValve): the minimum over the channels that are not idle, never going back.
// A channel that ended counts as having reached the maximum watermark. When every channel is
// idle the task is idle; a channel that becomes active again with a watermark behind the
// task's is left out of the minimum until it catches up. Pure: no I/O, no clock.

import { MAX_WATERMARK, MIN_WATERMARK } from '../network/events.ts'

/** What the valve tells the task to do after an input. */
export interface ValveOutput {
  emitWatermark(time: number): void
  emitWatermarkStatus(idle: boolean): void
}

export class WatermarkValve {
  private readonly watermarks: Float64Array
  private readonly idle: Uint8Array
  /** Whether the channel's watermark counts (it caught up with the task's watermark since it came back). */
  private readonly aligned: Uint8Array
  /** The task's watermark: the last one emitted. */
  current = MIN_WATERMARK
  private allIdle = false

  constructor(channels: number, private readonly output: ValveOutput) {
    this.watermarks = new Float64Array(channels).fill(MIN_WATERMARK)
    this.idle = new Uint8Array(channels)
    this.aligned = new Uint8Array(channels).fill(1)
  }

  /** The watermark `time` arrived on `channel`. */
  onWatermark(channel: number, time: number): void {
    if (this.idle[channel] === 1) this.onStatus(channel, false)
    if (time <= this.watermarks[channel]!) return
    this.watermarks[channel] = time
    if (this.aligned[channel] === 0 && time >= this.current) this.aligned[channel] = 1
    this.advance()
  }

  /** `channel` became idle (true) or active (false). */
  onStatus(channel: number, idle: boolean): void {
    const flag = idle ? 1 : 0
    if (this.idle[channel] === flag) return
    this.idle[channel] = flag
    if (idle) {
      this.aligned[channel] = 0
      if (this.everyChannelIdle()) {
        // The last active channel went idle: what the others allowed is now the watermark.
        this.advanceOverAll()
        if (!this.allIdle) {
          this.allIdle = true
          this.output.emitWatermarkStatus(true)
        }
        return
      }
      this.advance()
    } else {
      this.aligned[channel] = this.watermarks[channel]! >= this.current ? 1 : 0
      if (this.allIdle) {
        this.allIdle = false
        this.output.emitWatermarkStatus(false)
      }
    }
  }

  /** `channel` ended: it holds nothing back any more. */
  onEnd(channel: number): void {
    this.idle[channel] = 0
    this.aligned[channel] = 1
    this.onWatermark(channel, MAX_WATERMARK)
  }

  /** The watermark of one channel, for metrics. */
  channelWatermark(channel: number): number {
    return this.watermarks[channel]!
  }

  private everyChannelIdle(): boolean {
    for (let i = 0; i < this.idle.length; i++) if (this.idle[i] === 0) return false
    return true
  }

  private advance(): void {
    let min = MAX_WATERMARK
    let any = false
    for (let i = 0; i < this.watermarks.length; i++) {
      if (this.idle[i] === 1 || this.aligned[i] === 0) continue
      any = true
      const w = this.watermarks[i]!
      if (w < min) min = w
    }
    if (any && min > this.current) {
      this.current = min
      this.output.emitWatermark(min)
    }
  }

  /** Every channel idle: the task may advance to the highest watermark any channel reached (Flink does the same). */
  private advanceOverAll(): void {
    let max = MIN_WATERMARK
    for (let i = 0; i < this.watermarks.length; i++) if (this.watermarks[i]! > max) max = this.watermarks[i]!
    if (max > this.current) {
      this.current = max
      this.output.emitWatermark(max)
    }
  }
}
