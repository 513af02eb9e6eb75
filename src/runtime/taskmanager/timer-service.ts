// Processing-time timers of one keyed operator: a min-heap of (time, key), with at most one
// timer per key and time, as in Flink. Deleted timers are dropped lazily when they surface.

export interface Timer {
  readonly time: number
  readonly key: unknown
  readonly mapKey: unknown
}

export class ProcessingTimeTimers {
  private readonly heap: Timer[] = []
  private readonly registered = new Set<string>()

  register(time: number, key: unknown, mapKey: unknown): boolean {
    const id = `${time}|${String(mapKey)}`
    if (this.registered.has(id)) return false
    this.registered.add(id)
    this.push({ time, key, mapKey })
    return true
  }

  delete(time: number, mapKey: unknown): void {
    this.registered.delete(`${time}|${String(mapKey)}`)
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
    this.registered.delete(`${top.time}|${String(top.mapKey)}`)
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
      const id = `${t.time}|${String(t.mapKey)}`
      if (!this.registered.has(id) || seen.has(id)) return false
      seen.add(id)
      return true
    })
  }

  private dropDeleted(): void {
    while (this.heap.length > 0) {
      const t = this.heap[0]!
      if (this.registered.has(`${t.time}|${String(t.mapKey)}`)) return
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
