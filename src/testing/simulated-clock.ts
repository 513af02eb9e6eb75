// Simulated time for components that take a Clock (src/runtime/clock.ts): timers wait in a
// priority queue ordered by due time, then by creation, and fire only when the test advances
// time. Nothing runs on its own, so a run is fully determined by the test.

import type { Clock } from '../runtime/clock.ts'

interface Timer {
  readonly at: number
  readonly seq: number
  readonly callback: () => void
  cancelled: boolean
  fired: boolean
}

/** Lets queued promise continuations run; with nothing else in the event loop this is deterministic. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

export class SimulatedClock implements Clock {
  private time: number
  private seq = 0
  private readonly heap: Timer[] = []
  private live = 0

  constructor(start = 0) {
    this.time = start
  }

  now(): number {
    return this.time
  }

  /** A negative or non-finite delay counts as 0: the timer fires at the current time, after those already due. */
  setTimer(callback: () => void, delayMs: number): unknown {
    const delay = Number.isFinite(delayMs) && delayMs > 0 ? delayMs : 0
    const timer: Timer = { at: this.time + delay, seq: this.seq++, callback, cancelled: false, fired: false }
    this.push(timer)
    this.live++
    return timer
  }

  clearTimer(handle: unknown): void {
    const timer = handle as Timer | null
    if (!timer || timer.cancelled || timer.fired) return
    timer.cancelled = true
    this.live--
  }

  /** Timers waiting to fire. */
  get pendingTimers(): number {
    return this.live
  }

  /** When the next timer fires, or null when none waits. */
  nextTimerAt(): number | null {
    this.dropCancelled()
    return this.heap[0]?.at ?? null
  }

  /** Moves time to the next timer and fires it; false when none waits. */
  runNext(): boolean {
    this.dropCancelled()
    const timer = this.pop()
    if (!timer) return false
    this.live--
    timer.fired = true
    this.time = timer.at
    timer.callback()
    return true
  }

  /** Fires every timer due within `ms`, in order, then sets the time to now + ms. */
  advance(ms: number): void {
    const target = this.time + Math.max(0, ms)
    for (let at = this.nextTimerAt(); at !== null && at <= target; at = this.nextTimerAt()) this.runNext()
    this.time = target
  }

  /** Like advance, but lets promise continuations run after every timer (see settle). */
  async advanceSettled(ms: number, afterEach: () => void = () => {}): Promise<void> {
    const target = this.time + Math.max(0, ms)
    await settle()
    for (let at = this.nextTimerAt(); at !== null && at <= target; at = this.nextTimerAt()) {
      this.runNext()
      await settle()
      afterEach()
    }
    this.time = target
  }

  /** Fires timers (settling after each) until none is left; fails after `maxTimers`, which means something reschedules forever. */
  async runUntilIdle(maxTimers = 1_000_000, afterEach: () => void = () => {}): Promise<void> {
    await settle()
    for (let n = 0; this.nextTimerAt() !== null; n++) {
      if (n >= maxTimers) throw new Error(`the simulated clock is not idle after ${maxTimers} timers`)
      this.runNext()
      await settle()
      afterEach()
    }
  }

  private dropCancelled(): void {
    while (this.heap.length > 0 && this.heap[0]!.cancelled) this.pop()
  }

  private before(a: Timer, b: Timer): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq)
  }

  private push(timer: Timer): void {
    const h = this.heap
    h.push(timer)
    let i = h.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!this.before(h[i]!, h[parent]!)) break
      ;[h[i], h[parent]] = [h[parent]!, h[i]!]
      i = parent
    }
  }

  private pop(): Timer | undefined {
    const h = this.heap
    if (h.length === 0) return undefined
    const top = h[0]!
    const last = h.pop()!
    if (h.length > 0) {
      h[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < h.length && this.before(h[l]!, h[m]!)) m = l
        if (r < h.length && this.before(h[r]!, h[m]!)) m = r
        if (m === i) break
        ;[h[i], h[m]] = [h[m]!, h[i]!]
        i = m
      }
    }
    return top
  }
}
