// Where a task's wall time goes, as Flink 1.13+ splits it: busy (processing), back-pressured
// (it could work but every output buffer is full) and idle (nothing to read). A task is busy from
// the step that found work until the step that found none; it is then idle or back-pressured
// until it finds work again. Tasks of a slot share one thread, so a task that has work while
// another task holds the thread counts as busy, as a Flink task thread does while the OS runs
// another thread. The run loop calls observe() once per step with a timestamp it takes once per
// pass over the tasks: no clock read, closure or allocation per record.

export const enum Activity {
  Busy = 0,
  Idle = 1,
  BackPressured = 2,
}

export class TaskTime {
  private activity: Activity = Activity.Idle
  private since: number
  /** Accumulated milliseconds per activity since the task started. */
  busyMs = 0
  idleMs = 0
  backPressuredMs = 0

  constructor(now: number) {
    this.since = now
  }

  /** The task's step at `now` did work (busy) or not (idle, or back-pressured when `blocked`). */
  observe(worked: boolean, blocked: boolean, now: number): void {
    const next = worked ? Activity.Busy : blocked ? Activity.BackPressured : Activity.Idle
    if (next === this.activity) return
    this.account(now)
    this.activity = next
  }

  /** Adds the time of the current activity up to `now` (before a report). */
  account(now: number): void {
    const d = now - this.since
    this.since = now
    if (d <= 0) return
    if (this.activity === Activity.Busy) this.busyMs += d
    else if (this.activity === Activity.Idle) this.idleMs += d
    else this.backPressuredMs += d
  }
}
