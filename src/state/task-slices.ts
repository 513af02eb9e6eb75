// Checkpoint work that runs on the task thread in slices: a walk over millions of entries
// stops when its slice's time is up and lets the task process records before it goes on.
// The check is synchronous and looks at the clock once per `every` steps; only a step that
// ends a slice awaits. (An `await` per entry, even of a resolved promise, queues a microtask
// per entry: in the heap backend's incremental checkpoints that cost more than writing them.)

// Slices of different activities (a checkpoint's serialization, the heap's fold of released
// layers, another checkpoint's files) queued on the same turn of the event loop would run one
// after another, adding their times up in one pause of the task (two 4 ms slices and a
// collection: 12-22 ms at 2 M keys). So a slice that would start right after another activity's
// ended, with no turn of the task between, waits for the next turn: activities take turns
// behind the task instead of stacking up. An activity never waits for itself.

/**
 * Who ended the last slice on this thread (a module is per thread), by a number (holding the
 * owner itself would keep a disposed backend alive), and when (performance.now(): real time,
 * whatever clock a TaskSlices is given).
 */
let lastOwner = 0
let lastEndedAt = Number.NEGATIVE_INFINITY
const ownerIds = new WeakMap<object, number>()
let nextOwnerId = 1
function idOf(owner: object): number {
  let id = ownerIds.get(owner)
  if (id === undefined) ownerIds.set(owner, (id = nextOwnerId++))
  return id
}
/** A slice starting sooner than this after another activity's slice ended counts as in the same pause. */
const SAME_PAUSE_MS = 0.2

/** Notes that `owner`'s slice ends at `now` (it yields to the task). */
export function sliceEnded(owner: object, now = performance.now()): void {
  lastOwner = idOf(owner)
  lastEndedAt = now
}

/**
 * Whether `owner`, starting a slice at `now`, would run right after another activity's: then it
 * waits a turn. The activity whose slice ended last never waits, so one of them always goes on.
 */
export function behindAnotherSlice(owner: object, now = performance.now()): boolean {
  return lastOwner !== 0 && lastOwner !== idOf(owner) && now - lastEndedAt < SAME_PAUSE_MS
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve))

/** Ends `owner`'s slice: resolves on a later turn of the event loop, not right behind another activity's slice. */
export async function yieldTurn(owner: object): Promise<void> {
  sliceEnded(owner)
  do await nextTurn()
  while (behindAnotherSlice(owner))
}

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
    await yieldTurn(this)
    this.deadline = this.now() + this.sliceMs
    this.onResume?.()
  }
}
