// Evictors remove elements from a window's contents before and/or after the window function
// runs (Flink's CountEvictor, TimeEvictor). A window with an evictor keeps every element.

import type { Window } from './windows.ts'
import { UserError } from '../../errors.ts'

export interface TimestampedValue<T> {
  readonly value: T
  readonly timestamp: number
}

export interface EvictorContext {
  getCurrentProcessingTime(): number
  getCurrentWatermark(): number
}

export interface Evictor<T, W extends Window> {
  /** Removes elements from `elements` (in place) before the function sees them. */
  evictBefore(elements: TimestampedValue<T>[], size: number, window: W, ctx: EvictorContext): void
  evictAfter(elements: TimestampedValue<T>[], size: number, window: W, ctx: EvictorContext): void
}

/** Keeps the last `maxCount` elements. */
export class CountEvictor {
  static of<T = unknown, W extends Window = Window>(maxCount: number, doEvictAfter = false): Evictor<T, W> {
    if (!Number.isInteger(maxCount) || maxCount < 1) throw new UserError('WEIR_INVALID_ARGUMENT', `CountEvictor.of: expected a positive integer, got ${maxCount}`)
    const evict = (elements: TimestampedValue<T>[], size: number) => {
      if (size > maxCount) elements.splice(0, size - maxCount)
    }
    return { evictBefore: (e, s) => (doEvictAfter ? undefined : evict(e, s)), evictAfter: (e, s) => (doEvictAfter ? evict(e, s) : undefined) }
  }
}

/** Keeps the elements within `windowSize` ms of the newest element. */
export class TimeEvictor {
  static of<T = unknown, W extends Window = Window>(windowSize: number, doEvictAfter = false): Evictor<T, W> {
    if (!(windowSize >= 0)) throw new UserError('WEIR_INVALID_ARGUMENT', `TimeEvictor.of: expected a non-negative window size in ms, got ${windowSize}`)
    const evict = (elements: TimestampedValue<T>[]) => {
      if (elements.length === 0 || elements[0]!.timestamp === -Infinity) return
      let max = -Infinity
      for (const e of elements) if (e.timestamp > max) max = e.timestamp
      const cutoff = max - windowSize
      let w = 0
      for (let r = 0; r < elements.length; r++) if (elements[r]!.timestamp > cutoff) elements[w++] = elements[r]!
      elements.length = w
    }
    return { evictBefore: (e) => (doEvictAfter ? undefined : evict(e)), evictAfter: (e) => (doEvictAfter ? evict(e) : undefined) }
  }
}
