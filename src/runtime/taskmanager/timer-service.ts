// Timers of one keyed operator: a min-heap of (time, key, namespace), with at most one timer
// per key, namespace and time, as in Flink. Deleted timers are dropped lazily when they surface.
// The namespace (a window, for window operators) is optional.

export interface Timer {
  readonly time: number
  readonly key: unknown
  readonly mapKey: unknown
  readonly namespace?: string
  /** time|mapKey[|namespace], computed once: the heap checks it on every poll. */
  readonly id: string
}

function timerId(time: number, mapKey: unknown, namespace: string | undefined): string {
  return namespace === undefined ? `${time}|${String(mapKey)}` : `${time}|${String(mapKey)}|${namespace}`
}

export class ProcessingTimeTimers {
  private readonly heap: Timer[] = []
  private readonly registered = new Set<string>()

  register(time: number, key: unknown, mapKey: unknown, namespace?: string): boolean {
    const id = timerId(time, mapKey, namespace)
    if (this.registered.has(id)) return false
    this.registered.add(id)
    this.push(namespace === undefined ? { time, key, mapKey, id } : { time, key, mapKey, namespace, id })
    return true
  }

  /** True when the timer was registered (and is now deleted). */
  delete(time: number, mapKey: unknown, namespace?: string): boolean {
    return this.registered.delete(timerId(time, mapKey, namespace))
  }

  /** Earliest pending timer's time, or Infinity. */
  nextTime(): number {
    this.dropDeleted()
    return this.heap.length > 0 ? this.heap[0]!.time : Infinity
  }

  /** Removes and returns the earliest timer due at `now`, if any. */
  pollDue(now: number): Timer | undefined {
    this.dropDeleted()
    const top = this.heap[0]
    if (top === undefined || top.time > now) return undefined
    this.pop()
    this.registered.delete(top.id)
    return top
  }

  size(): number {
    return this.registered.size
  }

  /** Every pending timer, for snapshots. */
  all(): Timer[] {
    // A timer deleted and registered again has a stale copy in the heap: list each id once.
    const seen = new Set<string>()
    return this.heap.filter((t) => {
      const id = t.id
      if (!this.registered.has(id) || seen.has(id)) return false
      seen.add(id)
      return true
    })
  }

  private dropDeleted(): void {
    while (this.heap.length > 0) {
      const t = this.heap[0]!
      if (this.registered.has(t.id)) return
      this.pop()
    }
  }

  private push(t: Timer): void {
    const h = this.heap
    h.push(t)
    let i = h.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (h[parent]!.time <= t.time) break
      h[i] = h[parent]!
      i = parent
    }
    h[i] = t
  }

  private pop(): void {
    const h = this.heap
    const last = h.pop()!
    if (h.length === 0) return
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      if (l >= h.length) break
      const r = l + 1
      const c = r < h.length && h[r]!.time < h[l]!.time ? r : l
      if (h[c]!.time >= last.time) break
      h[i] = h[c]!
      i = c
    }
    h[i] = last
  }
}

/** The same heap serves event-time timers. */
export { ProcessingTimeTimers as TimerQueue }
