// Checkpoint work that runs on the task thread in slices: a walk over millions of entries
// stops when its slice's time is up and lets the task process records before it goes on.
// The check is synchronous and looks at the clock once per `every` steps; only a step that
// ends a slice awaits. (An `await` per entry, even of a resolved promise, queues a microtask
// per entry: in the heap backend's incremental checkpoints that cost more than writing them.)

export class TaskSlices {
  private steps = 0
  private deadline: number
  private readonly mask: number

  /**
   * `sliceMs`: the longest slice; `every` (a power of two): steps between clock checks;
   * `onResume`: run after each yield, before the work goes on (e.g. to fail if the state was
   * disposed meanwhile); `now`: the clock (tests pass their own).
   */
  constructor(private readonly sliceMs: number, every = 1024, private readonly onResume: (() => void) | null = null, private readonly now: () => number = performance.now.bind(performance)) {
    if (every < 1 || (every & (every - 1)) !== 0) throw new RangeError(`steps between clock checks must be a power of two, got ${every}`)
    this.mask = every - 1
    this.deadline = now() + sliceMs
  }

  /** Counts a step; true when the slice is over: then `await slices.yield()` before the next. */
  due(): boolean {
    return (++this.steps & this.mask) === 0 && this.overdue()
  }

  /** Whether the slice's time is up, counting no step (after one long step, such as a sort). */
  overdue(): boolean {
    return this.now() > this.deadline
  }

  /** Ends the slice: the task runs, then a new slice starts. */
  async yield(): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve))
    this.deadline = this.now() + this.sliceMs
    this.onResume?.()
  }
}
