// The windows elements are grouped into: a TimeWindow [start, end) or the one GlobalWindow.
// A window is identified in state and timers by its namespace string, so that windows can be
// stored in any keyed state backend.

export class TimeWindow {
  constructor(readonly start: number, readonly end: number) {}
  /** The last timestamp that belongs to the window: end - 1. */
  maxTimestamp(): number {
    return this.end - 1
  }
  intersects(other: TimeWindow): boolean {
    return this.start <= other.end && this.end >= other.start
  }
  cover(other: TimeWindow): TimeWindow {
    return new TimeWindow(Math.min(this.start, other.start), Math.max(this.end, other.end))
  }
  equals(other: unknown): boolean {
    return other instanceof TimeWindow && other.start === this.start && other.end === this.end
  }
  toString(): string {
    return `TimeWindow{start=${this.start}, end=${this.end}}`
  }
  /** The start of the window of `size` (with `offset`) that contains `timestamp`. */
  static getWindowStartWithOffset(timestamp: number, offset: number, windowSize: number): number {
    const remainder = (timestamp - offset) % windowSize
    return remainder < 0 ? timestamp - (remainder + windowSize) : timestamp - remainder
  }
  /** Flink's session merging: sorts by start and merges every group of overlapping windows into their cover. */
  static mergeWindows(windows: readonly TimeWindow[], callback: (toBeMerged: TimeWindow[], mergeResult: TimeWindow) => void): void {
    const sorted = [...windows].sort((a, b) => a.start - b.start)
    let current: { cover: TimeWindow; members: TimeWindow[] } | null = null
    const groups: Array<{ cover: TimeWindow; members: TimeWindow[] }> = []
    for (const w of sorted) {
      if (current === null) current = { cover: w, members: [w] }
      else if (current.cover.intersects(w)) {
        current.cover = current.cover.cover(w)
        current.members.push(w)
      } else {
        groups.push(current)
        current = { cover: w, members: [w] }
      }
    }
    if (current !== null) groups.push(current)
    for (const g of groups) if (g.members.length > 1) callback(g.members, g.cover)
  }
}

export class GlobalWindow {
  static readonly INSTANCE = new GlobalWindow()
  private constructor() {}
  maxTimestamp(): number {
    return Infinity
  }
  equals(other: unknown): boolean {
    return other === GlobalWindow.INSTANCE
  }
  toString(): string {
    return 'GlobalWindow'
  }
}

export type Window = TimeWindow | GlobalWindow

/** The namespace of a window in state and timers. */
export function windowNamespace(w: Window): string {
  return w instanceof TimeWindow ? `${w.start},${w.end}` : 'g'
}

export function windowFromNamespace(ns: string): Window {
  if (ns === 'g') return GlobalWindow.INSTANCE
  const comma = ns.indexOf(',')
  return new TimeWindow(Number(ns.slice(0, comma)), Number(ns.slice(comma + 1)))
}
