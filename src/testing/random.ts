// A small seeded random source (mulberry32) for simulations: every random choice of a run
// comes from one seed, so a failing run can be replayed exactly.

export class SeededRandom {
  private state: number

  constructor(readonly seed: number) {
    this.state = seed >>> 0
  }

  /** A float in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0)
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }

  /** An integer in [min, max], both included. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1))
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list')
    return items[Math.floor(this.next() * items.length)]!
  }

  /** An exponentially distributed delay with the given mean, rounded up to whole milliseconds. */
  exponential(mean: number): number {
    return Math.max(1, Math.ceil(-Math.log(1 - this.next()) * mean))
  }

  /** An independent stream for one concern (tasks, storage, ...), so adding draws to one does not shift the others. */
  fork(label: string): SeededRandom {
    let h = this.seed ^ 0x9e3779b9
    for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193)
    return new SeededRandom(h >>> 0)
  }
}
