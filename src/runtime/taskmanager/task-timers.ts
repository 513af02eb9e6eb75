// The wall-clock timers of one task: the wake-up for its keyed operators' processing-time
// timers, the periodic watermark emission (pipeline.auto-watermark-interval), and the
// aligned-checkpoint timeout. None of them runs task code itself: each marks work due or
// posts an action, and the task does it on its own turn of the run loop.

import type { KeyedOperatorRuntime } from './chain-state.ts'

export class TaskTimers {
  /** A processing-time timer is due: the task fires them on its next step. */
  due = false
  private wakeHandle: NodeJS.Timeout | null = null
  private armedFor = Infinity
  private periodicHandle: NodeJS.Timeout | null = null
  private alignmentHandle: NodeJS.Timeout | null = null

  constructor(
    private readonly keyed: readonly KeyedOperatorRuntime[],
    private readonly wake: () => void,
  ) {}

  /** Makes sure the task wakes up at `time` (or earlier). */
  arm(time: number): void {
    if (time >= this.armedFor || time === Infinity) return
    this.clearWakeUp()
    this.armedFor = time
    this.wakeHandle = setTimeout(() => {
      this.wakeHandle = null
      this.armedFor = Infinity
      this.due = true
      this.wake()
    }, Math.max(0, time - Date.now()))
  }

  /** Fires every keyed operator's processing-time timers up to now, then arms the next one. */
  fireDue(): void {
    this.due = false
    const now = Date.now()
    for (const k of this.keyed) k.timers.fireProcessingTimers(now, k.operator)
    this.armedFor = Infinity
    let next = Infinity
    for (const k of this.keyed) next = Math.min(next, k.timers.nextProcessingTime())
    this.arm(next)
  }

  /** Runs `emit` (through the task's mailbox, by `post`) every `interval` ms. */
  startPeriodic(interval: number, post: () => void): void {
    this.periodicHandle = setInterval(post, interval)
    this.periodicHandle.unref()
  }

  /** Calls `onTimeout` at `deadline` (epoch ms) unless cleared first; one alignment timer at a time. */
  armAlignment(deadline: number, onTimeout: () => void): void {
    if (this.alignmentHandle !== null) return
    this.alignmentHandle = setTimeout(() => {
      this.alignmentHandle = null
      onTimeout()
    }, Math.max(0, deadline - Date.now()))
  }

  clearAlignment(): void {
    if (this.alignmentHandle) clearTimeout(this.alignmentHandle)
    this.alignmentHandle = null
  }

  /** The task has ended or stopped: no more wake-ups and no more periodic watermarks. */
  stop(): void {
    if (this.periodicHandle) clearInterval(this.periodicHandle)
    this.periodicHandle = null
    this.clearWakeUp()
  }

  private clearWakeUp(): void {
    if (this.wakeHandle) clearTimeout(this.wakeHandle)
    this.wakeHandle = null
    this.armedFor = Infinity
  }
}
