// Triggers decide when a window's contents are emitted (FIRE) and/or dropped (PURGE), in Flink's
// shape. A trigger's own state (a count, the next fire time) is per key and window, in the
// keyed state backend, through ctx.getPartitionedState(descriptor).

import type { State, StateDescriptor } from '../state.ts'
import { ReducingStateDescriptor } from '../state.ts'
import type { StateFor } from '../../state/keyed-state-backend.ts'
import type { Window } from './windows.ts'
import { UserError } from '../../errors.ts'

export const TriggerResult = {
  CONTINUE: 0,
  FIRE: 1,
  PURGE: 2,
  FIRE_AND_PURGE: 3,
} as const
export type TriggerResult = (typeof TriggerResult)[keyof typeof TriggerResult]

export const isFire = (r: TriggerResult): boolean => (r & 1) !== 0
export const isPurge = (r: TriggerResult): boolean => (r & 2) !== 0

export interface TriggerContext {
  getCurrentWatermark(): number
  getCurrentProcessingTime(): number
  registerEventTimeTimer(time: number): void
  registerProcessingTimeTimer(time: number): void
  deleteEventTimeTimer(time: number): void
  deleteProcessingTimeTimer(time: number): void
  /** State of this trigger for the current key and window. */
  getPartitionedState<D extends StateDescriptor>(descriptor: D): StateFor<D>
}

export interface OnMergeContext extends TriggerContext {
  /** Merges the state of the windows being merged into the merged window's (reducing/aggregating/list state). */
  mergePartitionedState(descriptor: StateDescriptor): void
}

export interface Trigger<T, W extends Window> {
  onElement(element: T, timestamp: number, window: W, ctx: TriggerContext): TriggerResult
  onEventTime(time: number, window: W, ctx: TriggerContext): TriggerResult
  onProcessingTime(time: number, window: W, ctx: TriggerContext): TriggerResult
  /** The window is removed: delete its timers and state. */
  clear(window: W, ctx: TriggerContext): void
  canMerge?(): boolean
  onMerge?(window: W, ctx: OnMergeContext): void
  toString?(): string
}

/** Fires once the watermark passes the end of the window; late elements (within allowed lateness) fire again. */
export class EventTimeTrigger implements Trigger<unknown, Window> {
  private static readonly INSTANCE = new EventTimeTrigger()
  static create<T = unknown, W extends Window = Window>(): Trigger<T, W> {
    return EventTimeTrigger.INSTANCE as Trigger<T, W>
  }
  onElement(_e: unknown, _ts: number, window: Window, ctx: TriggerContext): TriggerResult {
    if (window.maxTimestamp() <= ctx.getCurrentWatermark()) return TriggerResult.FIRE
    ctx.registerEventTimeTimer(window.maxTimestamp())
    return TriggerResult.CONTINUE
  }
  onEventTime(time: number, window: Window): TriggerResult {
    return time === window.maxTimestamp() ? TriggerResult.FIRE : TriggerResult.CONTINUE
  }
  onProcessingTime(): TriggerResult {
    return TriggerResult.CONTINUE
  }
  clear(window: Window, ctx: TriggerContext): void {
    ctx.deleteEventTimeTimer(window.maxTimestamp())
  }
  canMerge(): boolean {
    return true
  }
  onMerge(window: Window, ctx: OnMergeContext): void {
    if (window.maxTimestamp() > ctx.getCurrentWatermark()) ctx.registerEventTimeTimer(window.maxTimestamp())
  }
  toString(): string {
    return 'EventTimeTrigger()'
  }
}

/** Fires when processing time passes the end of the window. */
export class ProcessingTimeTrigger implements Trigger<unknown, Window> {
  private static readonly INSTANCE = new ProcessingTimeTrigger()
  static create<T = unknown, W extends Window = Window>(): Trigger<T, W> {
    return ProcessingTimeTrigger.INSTANCE as Trigger<T, W>
  }
  onElement(_e: unknown, _ts: number, window: Window, ctx: TriggerContext): TriggerResult {
    ctx.registerProcessingTimeTimer(window.maxTimestamp())
    return TriggerResult.CONTINUE
  }
  onEventTime(): TriggerResult {
    return TriggerResult.CONTINUE
  }
  onProcessingTime(): TriggerResult {
    return TriggerResult.FIRE
  }
  clear(window: Window, ctx: TriggerContext): void {
    ctx.deleteProcessingTimeTimer(window.maxTimestamp())
  }
  canMerge(): boolean {
    return true
  }
  onMerge(window: Window, ctx: OnMergeContext): void {
    if (window.maxTimestamp() > ctx.getCurrentProcessingTime()) ctx.registerProcessingTimeTimer(window.maxTimestamp())
  }
  toString(): string {
    return 'ProcessingTimeTrigger()'
  }
}

/** The default trigger of GlobalWindows: never fires. */
export const NeverTrigger: Trigger<unknown, Window> = {
  onElement: () => TriggerResult.CONTINUE,
  onEventTime: () => TriggerResult.CONTINUE,
  onProcessingTime: () => TriggerResult.CONTINUE,
  clear() {},
  canMerge: () => true,
  onMerge() {},
  toString: () => 'NeverTrigger()',
}

const sum = (a: number, b: number) => a + b
const min = (a: number, b: number) => Math.min(a, b)

/** Fires every `maxCount` elements of a window (the count is trigger state). */
export class CountTrigger implements Trigger<unknown, Window> {
  private readonly countDescriptor = new ReducingStateDescriptor<number>('count', sum)
  private constructor(private readonly maxCount: number) {}
  static of<T = unknown, W extends Window = Window>(maxCount: number): Trigger<T, W> {
    if (!Number.isInteger(maxCount) || maxCount < 1) throw new UserError('WEIR_INVALID_ARGUMENT', `CountTrigger.of: expected a positive integer, got ${maxCount}`)
    return new CountTrigger(maxCount) as Trigger<T, W>
  }
  onElement(_e: unknown, _ts: number, _w: Window, ctx: TriggerContext): TriggerResult {
    const count = ctx.getPartitionedState(this.countDescriptor)
    count.add(1)
    if (count.get()! >= this.maxCount) {
      count.clear()
      return TriggerResult.FIRE
    }
    return TriggerResult.CONTINUE
  }
  onEventTime(): TriggerResult {
    return TriggerResult.CONTINUE
  }
  onProcessingTime(): TriggerResult {
    return TriggerResult.CONTINUE
  }
  clear(_w: Window, ctx: TriggerContext): void {
    ctx.getPartitionedState(this.countDescriptor).clear()
  }
  canMerge(): boolean {
    return true
  }
  onMerge(_w: Window, ctx: OnMergeContext): void {
    ctx.mergePartitionedState(this.countDescriptor)
  }
  toString(): string {
    return `CountTrigger(${this.maxCount})`
  }
}

/** Turns every FIRE of the wrapped trigger into FIRE_AND_PURGE. */
export class PurgingTrigger<T, W extends Window> implements Trigger<T, W> {
  private constructor(private readonly nested: Trigger<T, W>) {}
  static of<T, W extends Window>(nested: Trigger<T, W>): Trigger<T, W> {
    return new PurgingTrigger(nested)
  }
  private purge(r: TriggerResult): TriggerResult {
    return isFire(r) ? TriggerResult.FIRE_AND_PURGE : r
  }
  onElement(e: T, ts: number, w: W, ctx: TriggerContext): TriggerResult {
    return this.purge(this.nested.onElement(e, ts, w, ctx))
  }
  onEventTime(time: number, w: W, ctx: TriggerContext): TriggerResult {
    return this.purge(this.nested.onEventTime(time, w, ctx))
  }
  onProcessingTime(time: number, w: W, ctx: TriggerContext): TriggerResult {
    return this.purge(this.nested.onProcessingTime(time, w, ctx))
  }
  clear(w: W, ctx: TriggerContext): void {
    this.nested.clear(w, ctx)
  }
  canMerge(): boolean {
    return this.nested.canMerge?.() ?? false
  }
  onMerge(w: W, ctx: OnMergeContext): void {
    this.nested.onMerge?.(w, ctx)
  }
  toString(): string {
    return `PurgingTrigger(${this.nested.toString?.() ?? 'trigger'})`
  }
}

/** Fires every `interval` ms of event time within the window, and at its end. */
export class ContinuousEventTimeTrigger implements Trigger<unknown, Window> {
  private readonly fireTime = new ReducingStateDescriptor<number>('fire-time', min)
  private constructor(private readonly interval: number) {}
  static of<T = unknown, W extends Window = Window>(interval: number): Trigger<T, W> {
    if (!(interval > 0)) throw new UserError('WEIR_INVALID_ARGUMENT', `ContinuousEventTimeTrigger.of: expected a positive interval in ms, got ${interval}`)
    return new ContinuousEventTimeTrigger(interval) as Trigger<T, W>
  }
  onElement(_e: unknown, timestamp: number, window: Window, ctx: TriggerContext): TriggerResult {
    if (window.maxTimestamp() <= ctx.getCurrentWatermark()) return TriggerResult.FIRE
    ctx.registerEventTimeTimer(window.maxTimestamp())
    const state = ctx.getPartitionedState(this.fireTime)
    if (state.get() === undefined) this.registerNext(timestamp - (timestamp % this.interval) + this.interval, window, ctx)
    return TriggerResult.CONTINUE
  }
  onEventTime(time: number, window: Window, ctx: TriggerContext): TriggerResult {
    if (time === window.maxTimestamp()) return TriggerResult.FIRE
    const state = ctx.getPartitionedState(this.fireTime)
    const next = state.get()
    if (next !== undefined && next === time) {
      state.clear()
      this.registerNext(time + this.interval, window, ctx)
      return TriggerResult.FIRE
    }
    return TriggerResult.CONTINUE
  }
  onProcessingTime(): TriggerResult {
    return TriggerResult.CONTINUE
  }
  clear(_w: Window, ctx: TriggerContext): void {
    const state = ctx.getPartitionedState(this.fireTime)
    const next = state.get()
    if (next !== undefined) ctx.deleteEventTimeTimer(next)
    state.clear()
  }
  canMerge(): boolean {
    return true
  }
  onMerge(_w: Window, ctx: OnMergeContext): void {
    ctx.mergePartitionedState(this.fireTime)
    const next = ctx.getPartitionedState(this.fireTime).get()
    if (next !== undefined) ctx.registerEventTimeTimer(next)
  }
  private registerNext(time: number, window: Window, ctx: TriggerContext): void {
    const next = Math.min(time, window.maxTimestamp())
    ctx.getPartitionedState(this.fireTime).add(next)
    ctx.registerEventTimeTimer(next)
  }
  toString(): string {
    return `ContinuousEventTimeTrigger(${this.interval})`
  }
}

export type { State }
