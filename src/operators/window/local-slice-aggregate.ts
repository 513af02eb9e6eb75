// The local phase of a two-phase window aggregation (Flink SQL's local-global aggregation, whose
// LocalSlicingWindowAggOperator does the same before the shuffle): before the exchange to a
// sliced event-time window, each upstream subtask combines its elements per key and slice and
// sends one partial aggregate per key and slice instead of every element. The window then
// merges partials into its slices (SlicedWindowOperator with `partials`). Nexmark q5 sends one
// partial per auction and slice where it sent every bid.
//
// A partial leaves as [key, accumulator] with the slice's last millisecond as its timestamp, so
// the window puts it in the same slice and judges its lateness as it would have judged each of
// its elements (all elements of a slice belong to the same windows). Nothing is kept across a
// checkpoint: the buffer is flushed before each barrier (prepareSnapshot runs before the barrier
// is forwarded), before each watermark and idleness change is passed on (so no partial arrives
// after a watermark its elements preceded), at the end of input, and when it holds MAX_ENTRIES.

import { BaseOperator } from '../operator.ts'
import { TimeWindow } from '../../api/windowing/windows.ts'
import { UserError } from '../../errors.ts'
import type { WindowSpec } from './window-spec.ts'
import { reducer } from './window-spec.ts'

/** A partial aggregate on its way to the window: the key and the slice's accumulator (or reduced value). */
export type SlicePartial = [key: unknown, accumulator: unknown]

/** The partial's key, for the exchange and the window's key selector. */
export const partialKey = (p: SlicePartial): unknown => p[0]

/** Distinct (key, slice) entries held before the buffer is flushed regardless of watermarks. */
export const MAX_ENTRIES = 16_384

export class LocalSliceAggregateOperator extends BaseOperator<unknown, SlicePartial> {
  /** Slice end -> key -> accumulator; few slices are open at once, so the outer map stays small. */
  private readonly buffer = new Map<number, Map<unknown, unknown>>()
  private entries = 0
  private readonly slide: number
  private readonly offset: number
  private readonly add: (element: unknown, acc: unknown) => unknown

  constructor(private readonly spec: WindowSpec) {
    super()
    const s = spec.assigner.slicing!
    this.slide = s.slide
    this.offset = s.offset
    const c = spec.contents
    if (c.kind === 'reduce') {
      const reduce = reducer(c.reduce)
      this.add = (e, acc) => (acc === undefined ? e : reduce(acc, e))
    } else if (c.kind === 'aggregate') {
      const f = c.aggregate
      this.add = (e, acc) => f.add(e, acc === undefined ? f.createAccumulator() : acc)
    } else {
      throw new UserError('WEIR_INTERNAL', 'a local window aggregation needs an incremental function')
    }
  }

  protected override functionForState(): unknown {
    return null
  }

  processElement(element: unknown): void {
    const ts = this.ctx.time.value
    if (ts === -Infinity) throw new UserError('WEIR_INVALID_JOB', 'a record has no timestamp, but an event-time window needs one: use env.fromSource(source, WatermarkStrategy..., name) or stream.assignTimestampsAndWatermarks(...) before the window, or a processing-time window')
    const sliceEnd = TimeWindow.getWindowStartWithOffset(ts, this.offset, this.slide) + this.slide
    let key: unknown
    try {
      key = this.spec.keySelector(element)
      const t = typeof key
      if (t !== 'string' && t !== 'number' && t !== 'bigint' && t !== 'boolean') {
        // Keys compared by content (arrays, objects) would not meet in a Map: such an element goes on alone.
        this.emit(sliceEnd, key, this.add(element, undefined))
        return
      }
      let slice = this.buffer.get(sliceEnd)
      if (slice === undefined) this.buffer.set(sliceEnd, (slice = new Map()))
      const previous = slice.get(key)
      slice.set(key, this.add(element, previous))
      if (previous === undefined && ++this.entries >= MAX_ENTRIES) this.flush()
    } catch (e) {
      throw this.userError(e)
    }
  }

  /** Sends every buffered partial, oldest slice first. */
  private flush(): void {
    // A slice's map is made with its first entry: no entries, no slices.
    if (this.entries === 0) return
    const slices = [...this.buffer.keys()].sort((a, b) => a - b)
    for (const sliceEnd of slices) {
      for (const [key, acc] of this.buffer.get(sliceEnd)!) this.emit(sliceEnd, key, acc)
    }
    this.buffer.clear()
    this.entries = 0
  }

  private emit(sliceEnd: number, key: unknown, acc: unknown): void {
    const time = this.ctx.time
    const saved = time.value
    time.value = sliceEnd - 1
    this.output.collect([key, acc])
    time.value = saved
  }

  override processWatermark(time: number): void {
    this.flush()
    super.processWatermark(time)
  }

  override processWatermarkStatus(idle: boolean): void {
    this.flush()
    super.processWatermarkStatus(idle)
  }

  override prepareSnapshot(checkpointId: number, timestamp: number): void {
    // Before the barrier goes on: the checkpoint then holds no partial of this operator.
    this.flush()
    super.prepareSnapshot(checkpointId, timestamp)
  }

  override endInput(): void {
    this.flush()
  }
}
