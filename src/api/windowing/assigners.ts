// Window assigners, in Flink's shape: which windows an element belongs to, by event time or by
// processing time, and the trigger a window gets by default. Sizes, slides, gaps and offsets
// are milliseconds.

import { GlobalWindow, TimeWindow, type Window } from './windows.ts'
import { EventTimeTrigger, NeverTrigger, ProcessingTimeTrigger, type Trigger } from './triggers.ts'
import { UserError } from '../../errors.ts'

export interface WindowAssignerContext {
  currentProcessingTime(): number
}

export interface WindowAssigner<T, W extends Window> {
  assignWindows(element: T, timestamp: number, ctx: WindowAssignerContext): W[]
  getDefaultTrigger(): Trigger<T, W>
  readonly isEventTime: boolean
  /** Session assigners: windows merge when they overlap. */
  mergeWindows?(windows: readonly W[], callback: (toBeMerged: W[], mergeResult: W) => void): void
  /** @internal Tumbling and sliding windows aligned to a slide: the operator keeps one partial aggregate per slice. */
  readonly slicing?: { readonly size: number; readonly slide: number; readonly offset: number }
  toString(): string
}

function positive(what: string, ms: number): number {
  if (!(ms > 0) || !Number.isFinite(ms)) throw new UserError('WEIR_INVALID_ARGUMENT', `${what}: expected a positive number of ms, got ${ms}`)
  return ms
}

function checkOffset(what: string, offset: number, size: number): number {
  if (!Number.isFinite(offset) || Math.abs(offset) >= size) throw new UserError('WEIR_INVALID_ARGUMENT', `${what}: the offset must be smaller than the size in absolute value, got ${offset}`)
  return offset
}

class Tumbling<T> implements WindowAssigner<T, TimeWindow> {
  readonly slicing: { size: number; slide: number; offset: number }
  constructor(private readonly size: number, private readonly offset: number, readonly isEventTime: boolean) {
    this.slicing = { size, slide: size, offset }
  }
  assignWindows(_e: T, timestamp: number, ctx: WindowAssignerContext): TimeWindow[] {
    const ts = this.isEventTime ? checkTimestamp(timestamp) : ctx.currentProcessingTime()
    const start = TimeWindow.getWindowStartWithOffset(ts, this.offset, this.size)
    return [new TimeWindow(start, start + this.size)]
  }
  getDefaultTrigger(): Trigger<T, TimeWindow> {
    return this.isEventTime ? EventTimeTrigger.create() : ProcessingTimeTrigger.create()
  }
  toString(): string {
    return `Tumbling${this.isEventTime ? 'Event' : 'Processing'}TimeWindows(${this.size})`
  }
}

class Sliding<T> implements WindowAssigner<T, TimeWindow> {
  readonly slicing?: { size: number; slide: number; offset: number }
  constructor(private readonly size: number, private readonly slide: number, private readonly offset: number, readonly isEventTime: boolean) {
    if (size % slide === 0) this.slicing = { size, slide, offset }
  }
  assignWindows(_e: T, timestamp: number, ctx: WindowAssignerContext): TimeWindow[] {
    const ts = this.isEventTime ? checkTimestamp(timestamp) : ctx.currentProcessingTime()
    const windows: TimeWindow[] = []
    const lastStart = TimeWindow.getWindowStartWithOffset(ts, this.offset, this.slide)
    for (let start = lastStart; start > ts - this.size; start -= this.slide) windows.push(new TimeWindow(start, start + this.size))
    return windows
  }
  getDefaultTrigger(): Trigger<T, TimeWindow> {
    return this.isEventTime ? EventTimeTrigger.create() : ProcessingTimeTrigger.create()
  }
  toString(): string {
    return `Sliding${this.isEventTime ? 'Event' : 'Processing'}TimeWindows(${this.size}, ${this.slide})`
  }
}

/** @internal Whether the assigner merges its windows exactly as TimeWindow.mergeWindows does (the built-in session assigners). */
export function mergesByOverlap(assigner: WindowAssigner<unknown, Window>): boolean {
  return assigner instanceof Sessions && assigner.mergeWindows === Sessions.prototype.mergeWindows
}

class Sessions<T> implements WindowAssigner<T, TimeWindow> {
  constructor(private readonly gap: (element: T) => number, readonly isEventTime: boolean) {}
  assignWindows(element: T, timestamp: number, ctx: WindowAssignerContext): TimeWindow[] {
    const ts = this.isEventTime ? checkTimestamp(timestamp) : ctx.currentProcessingTime()
    const gap = this.gap(element)
    if (!(gap > 0)) throw new UserError('WEIR_INVALID_ARGUMENT', `a session window gap must be positive; the gap extractor returned ${gap}`)
    return [new TimeWindow(ts, ts + gap)]
  }
  getDefaultTrigger(): Trigger<T, TimeWindow> {
    return this.isEventTime ? EventTimeTrigger.create() : ProcessingTimeTrigger.create()
  }
  mergeWindows(windows: readonly TimeWindow[], callback: (toBeMerged: TimeWindow[], mergeResult: TimeWindow) => void): void {
    TimeWindow.mergeWindows(windows, callback)
  }
  toString(): string {
    return `${this.isEventTime ? 'Event' : 'Processing'}TimeSessionWindows()`
  }
}

function checkTimestamp(ts: number): number {
  if (ts === -Infinity) {
    throw new UserError('WEIR_INVALID_JOB', 'a record has no timestamp, but an event-time window needs one: use env.fromSource(source, WatermarkStrategy..., name) or stream.assignTimestampsAndWatermarks(...) before the window, or a processing-time window')
  }
  return ts
}

export const TumblingEventTimeWindows = {
  of<T = unknown>(size: number, offset = 0): WindowAssigner<T, TimeWindow> {
    return new Tumbling<T>(positive('TumblingEventTimeWindows.of', size), checkOffset('TumblingEventTimeWindows.of', offset, size), true)
  },
}
export const TumblingProcessingTimeWindows = {
  of<T = unknown>(size: number, offset = 0): WindowAssigner<T, TimeWindow> {
    return new Tumbling<T>(positive('TumblingProcessingTimeWindows.of', size), checkOffset('TumblingProcessingTimeWindows.of', offset, size), false)
  },
}
export const SlidingEventTimeWindows = {
  of<T = unknown>(size: number, slide: number, offset = 0): WindowAssigner<T, TimeWindow> {
    return new Sliding<T>(positive('SlidingEventTimeWindows.of', size), positive('SlidingEventTimeWindows.of (slide)', slide), checkOffset('SlidingEventTimeWindows.of', offset, slide), true)
  },
}
export const SlidingProcessingTimeWindows = {
  of<T = unknown>(size: number, slide: number, offset = 0): WindowAssigner<T, TimeWindow> {
    return new Sliding<T>(positive('SlidingProcessingTimeWindows.of', size), positive('SlidingProcessingTimeWindows.of (slide)', slide), checkOffset('SlidingProcessingTimeWindows.of', offset, slide), false)
  },
}
export const EventTimeSessionWindows = {
  withGap<T = unknown>(gap: number): WindowAssigner<T, TimeWindow> {
    positive('EventTimeSessionWindows.withGap', gap)
    return new Sessions<T>(() => gap, true)
  },
  withDynamicGap<T>(extractor: (element: T) => number): WindowAssigner<T, TimeWindow> {
    return new Sessions<T>(extractor, true)
  },
}
export const ProcessingTimeSessionWindows = {
  withGap<T = unknown>(gap: number): WindowAssigner<T, TimeWindow> {
    positive('ProcessingTimeSessionWindows.withGap', gap)
    return new Sessions<T>(() => gap, false)
  },
  withDynamicGap<T>(extractor: (element: T) => number): WindowAssigner<T, TimeWindow> {
    return new Sessions<T>(extractor, false)
  },
}

class Global<T> implements WindowAssigner<T, GlobalWindow> {
  readonly isEventTime = false
  assignWindows(): GlobalWindow[] {
    return [GlobalWindow.INSTANCE]
  }
  getDefaultTrigger(): Trigger<T, GlobalWindow> {
    return NeverTrigger as Trigger<T, GlobalWindow>
  }
  toString(): string {
    return 'GlobalWindows()'
  }
}
export const GlobalWindows = {
  /** One window for all elements of a key; it never fires unless a trigger says so. */
  create<T = unknown>(): WindowAssigner<T, GlobalWindow> {
    return new Global<T>()
  },
}
