// Tumbling and sliding windows with an incremental function (reduce, or aggregate with merge)
// and the default trigger, computed from slices: time is cut into slices of the slide, each
// element is added to the partial aggregate of its one slice, and a window firing combines the
// size/slide slices it covers. A record costs one state read and one write however many windows
// it belongs to, so a sliding window costs about what a tumbling one does. The results, the
// timestamps (window.maxTimestamp()), allowed lateness (late firings) and late data follow
// Flink's WindowOperator with EventTimeTrigger / ProcessingTimeTrigger. Slices are keyed state
// (a map state of slice end -> partial aggregate).
//
// On event time no timer is kept per key and window: an in-memory index of the keys in each
// slice (slice-index.ts, rebuilt from the slice state on a restore) tells which keys a window
// covers when the watermark passes its end, and a per-key value, the end of the last window
// fired for it, keeps a restored (or rescaled) job from firing a window twice. Processing-time
// windows keep one keyed timer per key and window. With `partials` the input is already
// combined per key and slice upstream (local-slice-aggregate.ts), and is merged in.

import { BaseOperator } from '../operator.ts'
import { MapStateDescriptor, ValueStateDescriptor, type MapState, type ValueState } from '../../api/state.ts'
import { TimeWindow } from '../../api/windowing/windows.ts'
import { WindowEmitter } from './window-emitter.ts'
import { reducer, type WindowSpec } from './window-spec.ts'
import { UserError } from '../../errors.ts'
import { SliceIndex } from './slice-index.ts'
import { TIMER_STATE } from '../../runtime/taskmanager/internal-timer-service.ts'
import type { SlicePartial } from './local-slice-aggregate.ts'

/**
 * Whether the elements can be combined per key and slice before the exchange (two-phase
 * aggregation): event time (a slice is then fixed by the element's timestamp alone), keyed, a
 * mergeable function, and no late-data side output (which must get the late elements themselves).
 */
export function canAggregateLocally(spec: WindowSpec): boolean {
  if (!canSlice(spec) || !spec.assigner.isEventTime || spec.allWindows || spec.lateDataTag !== null) return false
  return spec.contents.kind === 'reduce' || (spec.contents.kind === 'aggregate' && typeof spec.contents.aggregate.merge === 'function')
}

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
  /** Event time: the end of the last window fired for the current key. */
  private firedThrough!: ValueState<number>
  private readonly index = new SliceIndex()
  /** Event time: the earliest window end the watermark has not passed. */
  private nextEnd = -Infinity
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
  private readonly keyOf: (element: unknown) => unknown

  /**
   * `partials`: the input is the local phase's [key, accumulator] per key and slice
   * (local-slice-aggregate.ts), merged into the slice instead of added as an element.
   */
  constructor(private readonly spec: WindowSpec, options: { readonly partials?: boolean } = {}) {
    super()
    const partials = options.partials === true
    this.keyOf = partials ? (p) => (p as SlicePartial)[0] : spec.keySelector
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
      this.add = partials
        ? (p, acc) => (acc === NONE ? (p as SlicePartial)[1] : reduce(acc, (p as SlicePartial)[1]))
        : (e, acc) => (acc === NONE ? e : reduce(acc, e))
      this.combine = (w, s2) => (w === NONE ? s2 : reduce(w, s2))
      this.start = () => NONE
      this.result = (acc) => acc
    } else if (c.kind === 'aggregate') {
      const f = c.aggregate
      if (partials && typeof f.merge !== 'function') throw new UserError('WEIR_INTERNAL', 'partial window aggregates need an AggregateFunction with merge')
      this.add = partials
        ? (p, acc) => (acc === undefined ? (p as SlicePartial)[1] : f.merge!(acc, (p as SlicePartial)[1]))
        : (e, acc) => f.add(e, acc === undefined ? f.createAccumulator() : acc)
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
    const backend = this.ctx.keyedBackend!
    this.slices = backend.getState(new MapStateDescriptor<number, unknown>('window-slices'))
    this.firedThrough = backend.getState(new ValueStateDescriptor<number>('window-fired-through'))
    this.emitter = new WindowEmitter(this.spec, this.ctx, this.output)
    this.emitter.open()
    this.notificationTarget = this.spec.windowFunction
    if (this.eventTime) this.rebuildIndex()
  }

  /** After a restore: index the restored slices of this subtask's keys. */
  private rebuildIndex(): void {
    const backend = this.ctx.keyedBackend!
    const keys = [...backend.keys('window-slices')]
    if (keys.length === 0) return
    const saved = backend.currentKey
    const legacyTimers = backend.getState(new MapStateDescriptor<string, [number, number, string]>(TIMER_STATE))
    for (const key of keys) {
      backend.setCurrentKey(key)
      const ends = [...this.slices.keys()]
      for (const end of ends) this.index.add(end, key)
      if (this.firedThrough.value() === undefined) this.adoptLegacyTimers(ends, legacyTimers)
    }
    backend.setCurrentKey(saved)
  }

  /**
   * State written before the index existed kept one timer per window still to fire (namespace:
   * its end) and one per slice whose lateness was still running ('c' + slice end): the windows
   * before the earliest pending one have fired. Those timers, when they come, do nothing.
   */
  private adoptLegacyTimers(ends: number[], timers: MapState<string, [number, number, string]>): void {
    let earliestPending = Infinity
    let any = false
    for (const [domain, , ns] of timers.values()) {
      if (domain !== 0 || ns === '') continue
      any = true
      if (ns.charCodeAt(0) !== 99 /* 'c' */) earliestPending = Math.min(earliestPending, Number(ns))
    }
    if (!any) return
    this.firedThrough.update(earliestPending !== Infinity ? earliestPending - this.slide : Math.max(...ends) + this.size - this.slide)
  }

  processElement(element: unknown): void {
    const ctx = this.ctx
    const timers = ctx.internalTimers!
    let ts: number
    try {
      ctx.keyedBackend!.setCurrentKey(this.keyOf(element))
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
    if (this.eventTime) {
      if (isNew) this.index.add(sliceEnd, ctx.keyedBackend!.currentKey)
      // Windows the watermark passed but kept for allowed lateness fire again now (late firings).
      let lastFired = -Infinity
      for (let end = sliceEnd; end <= lastWindowEnd && end - 1 <= wm; end += slide) {
        if (end - 1 + this.lateness > wm) {
          this.fire(end)
          lastFired = end
        }
      }
      if (lastFired !== -Infinity && (this.firedThrough.value() ?? -Infinity) < lastFired) this.firedThrough.update(lastFired)
      return
    }
    // Processing time: one timer per window of a new slice.
    if (!isNew) return
    for (let end = sliceEnd; end <= lastWindowEnd; end += slide) timers.registerProcessingTimeTimer(end - 1, String(end))
    if (this.lateness > 0) timers.registerEventTimeTimer(lastWindowEnd - 1 + this.lateness, `c${sliceEnd}`)
  }

  /** Event time: the windows the watermark passed fire (Flink's order: timers, then the watermark goes on). */
  override processWatermark(time: number): void {
    if (!this.eventTime) return super.processWatermark(time)
    this.inputWatermark = time
    // Sets the watermark the window function sees; fires timers of state written before the index.
    this.ctx.internalTimers!.advanceWatermark(time, this)
    this.fireUpTo(time)
    this.output.emitWatermark(time)
  }

  override onEventTime(time: number, ns: string): void {
    // Event-time windows keep no timers; these come from state written before the index (see adoptLegacyTimers).
    if (this.eventTime) return
    this.onTimer(ns)
    void time
  }

  /** Fires, in order of their ends, the windows with keys whose end - 1 is at or before `watermark`, then drops the slices past their lateness. */
  private fireUpTo(watermark: number): void {
    const index = this.index
    const size = this.size
    const slide = this.slide
    let end = Math.max(this.nextEnd, index.first())
    while (end - 1 <= watermark) {
      const from = end - size + slide
      const firstSlice = index.firstAtOrAfter(from)
      if (firstSlice === Infinity) break
      if (firstSlice > end) {
        // No key in this window: the next window with keys is the first one of that slice.
        end = firstSlice
        continue
      }
      this.fireWindow(end, from)
      end += slide
    }
    this.nextEnd = watermark === Infinity ? Infinity : Math.max(this.nextEnd, TimeWindow.getWindowStartWithOffset(watermark + 1, this.offset, slide) + slide)
    if (this.lateness === 0) return
    // Slices whose last window is past its allowed lateness.
    // (first() is Infinity once no slice is left, which the final watermark, Infinity too, would pass.)
    for (let s = index.first(); s !== Infinity && s + size - slide - 1 + this.lateness <= watermark; s = index.first()) this.dropSlice(s)
  }

  /** The window ending at `end` (slices `from`..`end`) for each of its keys, once per key. */
  private fireWindow(end: number, from: number): void {
    const backend = this.ctx.keyedBackend!
    const index = this.index
    const lastOfOldest = this.lateness === 0
    for (let s = from; s <= end; s += this.slide) {
      const keys = index.keysOf(s)
      if (keys === undefined) continue
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i]
        backend.setCurrentKey(key)
        const fired = this.firedThrough.value()
        if (fired === undefined || fired < end) {
          this.fire(end)
          this.firedThrough.update(end)
        }
        if (s === from && lastOfOldest) this.clearSlice(key, s)
      }
      if (s === from && lastOfOldest) index.drop(s)
    }
  }

  private dropSlice(sliceEnd: number): void {
    const backend = this.ctx.keyedBackend!
    for (const key of this.index.keysOf(sliceEnd)!) {
      backend.setCurrentKey(key)
      this.clearSlice(key, sliceEnd)
    }
    this.index.drop(sliceEnd)
  }

  /** The current key's slice is no longer needed by any window. */
  private clearSlice(key: unknown, sliceEnd: number): void {
    const slices = this.slices
    slices.remove(sliceEnd)
    const lastEnd = sliceEnd + this.size - this.slide
    if (this.emitter.clearsWindows) this.emitter.clearWindow(key, new TimeWindow(lastEnd - this.size, lastEnd))
    if (slices.isEmpty()) this.firedThrough.clear()
  }

  onProcessingTime(_time: number, ns?: string): void {
    this.onTimer(ns ?? '')
  }

  private onTimer(ns: string): void {
    const key = this.ctx.keyedBackend!.currentKey
    // Allowed lateness is over for the last window of this slice.
    if (ns.charCodeAt(0) === 99 /* 'c' */) return this.clearSlice(key, Number(ns.slice(1)))
    const end = Number(ns)
    this.fire(end)
    // This was the last window of its oldest slice.
    if (this.lateness === 0) this.clearSlice(key, end - this.size + this.slide)
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
