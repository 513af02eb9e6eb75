// Tumbling and sliding windows with an incremental function (reduce, or aggregate with merge)
// and the default trigger, computed from slices: time is cut into slices of the slide, each
// element is added to the partial aggregate of its one slice, and a window firing combines the
// size/slide slices it covers. A record costs one state read and one write however many windows
// it belongs to, so a sliding window costs about what a tumbling one does. The results, the
// timestamps (window.maxTimestamp()), allowed lateness (late firings) and late data follow
// Flink's WindowOperator with EventTimeTrigger / ProcessingTimeTrigger. Slices are keyed state
// (a map state of slice end -> partial aggregate) and timers are in the keyed backend.

import { BaseOperator } from '../operator.ts'
import { MapStateDescriptor, type MapState } from '../../api/state.ts'
import { TimeWindow } from '../../api/windowing/windows.ts'
import { WindowEmitter } from './window-emitter.ts'
import { reducer, type WindowSpec } from './window-spec.ts'
import { UserError } from '../../errors.ts'

/** Whether the spec can run sliced. */
export function canSlice(spec: WindowSpec): boolean {
  const s = spec.assigner.slicing
  if (!s || spec.trigger !== null || spec.evictor !== null || spec.contents.kind === 'list') return false
  if (s.size % s.slide !== 0) return false
  if (spec.contents.kind === 'aggregate' && s.size !== s.slide && typeof spec.contents.aggregate.merge !== 'function') return false
  return true
}

export class SlicedWindowOperator extends BaseOperator<unknown, unknown> {
  private slices!: MapState<number, unknown>
  private emitter!: WindowEmitter
  private readonly size: number
  private readonly slide: number
  private readonly offset: number
  private readonly slicesPerWindow: number
  private readonly eventTime: boolean
  private readonly lateness: number
  private readonly add: (element: unknown, acc: unknown) => unknown
  private readonly combine: (windowAcc: unknown, sliceAcc: unknown) => unknown
  private readonly start: () => unknown
  private readonly result: (acc: unknown) => unknown

  constructor(private readonly spec: WindowSpec) {
    super()
    const s = spec.assigner.slicing!
    this.size = s.size
    this.slide = s.slide
    this.offset = s.offset
    this.slicesPerWindow = s.size / s.slide
    this.eventTime = spec.assigner.isEventTime
    this.lateness = spec.allowedLateness
    const c = spec.contents
    if (c.kind === 'reduce') {
      const reduce = reducer(c.reduce)
      const NONE = undefined
      this.add = (e, acc) => (acc === NONE ? e : reduce(acc, e))
      this.combine = (w, s2) => (w === NONE ? s2 : reduce(w, s2))
      this.start = () => NONE
      this.result = (acc) => acc
    } else if (c.kind === 'aggregate') {
      const f = c.aggregate
      this.add = (e, acc) => f.add(e, acc === undefined ? f.createAccumulator() : acc)
      // A window's accumulator starts fresh, so merge never writes into a stored slice.
      this.combine = this.slicesPerWindow === 1 ? (_w, s2) => s2 : (w, s2) => f.merge!(w, s2)
      this.start = this.slicesPerWindow === 1 ? () => undefined : () => f.createAccumulator()
      this.result = (acc) => f.getResult(acc)
    } else {
      throw new UserError('WEIR_INTERNAL', 'a sliced window needs an incremental function')
    }
  }

  protected override functionForState(): unknown {
    return this.spec.windowFunction
  }

  override open(): void {
    this.slices = this.ctx.keyedBackend!.getState(new MapStateDescriptor<number, unknown>('window-slices'))
    this.emitter = new WindowEmitter(this.spec, this.ctx, this.output)
    this.emitter.open()
    this.notificationTarget = this.spec.windowFunction
  }

  processElement(element: unknown): void {
    const ctx = this.ctx
    const timers = ctx.internalTimers!
    let ts: number
    try {
      ctx.keyedBackend!.setCurrentKey(this.spec.keySelector(element))
    } catch (e) {
      throw this.userError(e)
    }
    if (this.eventTime) {
      ts = ctx.time.value
      if (ts === -Infinity) throw new UserError('WEIR_INVALID_JOB', 'a record has no timestamp, but an event-time window needs one: use env.fromSource(source, WatermarkStrategy..., name) or stream.assignTimestampsAndWatermarks(...) before the window, or a processing-time window')
    } else {
      ts = timers.currentProcessingTime()
    }
    const slide = this.slide
    const sliceEnd = TimeWindow.getWindowStartWithOffset(ts, this.offset, slide) + slide
    const lastWindowEnd = sliceEnd + this.size - slide
    const wm = timers.currentWatermark
    if (this.eventTime && lastWindowEnd - 1 + this.lateness <= wm) {
      // Too late for every window it belongs to.
      if (this.spec.lateDataTag !== null) this.output.collectSide(this.spec.lateDataTag, element)
      return
    }
    const slices = this.slices
    const previous = slices.get(sliceEnd)
    let next: unknown
    try {
      next = this.add(element, previous)
    } catch (e) {
      throw this.userError(e)
    }
    slices.put(sliceEnd, next)
    const isNew = previous === undefined
    for (let end = sliceEnd; end <= lastWindowEnd; end += slide) {
      if (this.eventTime && end - 1 <= wm) {
        // The window fired already but is kept for allowed lateness: fire it again (a late firing).
        if (end - 1 + this.lateness > wm) this.fire(end)
      } else if (isNew) {
        if (this.eventTime) timers.registerEventTimeTimer(end - 1, String(end))
        else timers.registerProcessingTimeTimer(end - 1, String(end))
      }
    }
    if (isNew && this.lateness > 0) timers.registerEventTimeTimer(lastWindowEnd - 1 + this.lateness, `c${sliceEnd}`)
  }

  override onEventTime(time: number, ns: string): void {
    this.onTimer(ns)
    void time
  }

  onProcessingTime(_time: number, ns?: string): void {
    this.onTimer(ns ?? '')
  }

  private onTimer(ns: string): void {
    if (ns.charCodeAt(0) === 99 /* 'c' */) {
      // Allowed lateness is over for the last window of this slice.
      const sliceEnd = Number(ns.slice(1))
      this.slices.remove(sliceEnd)
      this.emitter.clearWindow(this.ctx.keyedBackend!.currentKey, new TimeWindow(sliceEnd + this.size - this.slide - this.size, sliceEnd + this.size - this.slide))
      return
    }
    const end = Number(ns)
    this.fire(end)
    if (this.lateness === 0) {
      // This was the last window of its oldest slice.
      this.slices.remove(end - this.size + this.slide)
      this.emitter.clearWindow(this.ctx.keyedBackend!.currentKey, new TimeWindow(end - this.size, end))
    }
  }

  /** Emits the window ending at `end` from its slices. */
  private fire(end: number): void {
    let acc = this.start()
    let any = false
    try {
      for (let sliceEnd = end - this.size + this.slide; sliceEnd <= end; sliceEnd += this.slide) {
        const s = this.slices.get(sliceEnd)
        if (s === undefined) continue
        any = true
        acc = this.combine(acc, s)
      }
    } catch (e) {
      throw this.userError(e)
    }
    if (!any) return
    let value: unknown
    try {
      value = this.result(acc)
    } catch (e) {
      throw this.userError(e)
    }
    this.emitter.emitElements(this.ctx.keyedBackend!.currentKey, new TimeWindow(end - this.size, end), [value])
  }

  override close(): void {
    this.emitter?.close()
  }
}
