// A checkpoint that was triggered and waits for every task's acknowledgement. It is either
// completed (all acknowledged, then finalized by the coordinator) or aborted with a reason;
// acknowledging returns an outcome instead of throwing, so late and duplicate messages are
// ordinary events.

import type { CheckpointFailureReason } from './failure-reason.ts'

export type AckOutcome = 'SUCCESS' | 'DUPLICATE' | 'UNKNOWN' | 'DISCARDED'

export class PendingCheckpoint<Handle> {
  private readonly waitingFor: Set<string>
  readonly acks = new Map<string, Handle>()
  private discardedFor: CheckpointFailureReason | null = null

  constructor(
    readonly id: number,
    readonly triggeredAt: number,
    tasks: Iterable<string>,
    readonly isSavepoint = false,
  ) {
    this.waitingFor = new Set(tasks)
  }

  acknowledge(task: string, handle: Handle): AckOutcome {
    if (this.discardedFor !== null) return 'DISCARDED'
    if (this.acks.has(task)) return 'DUPLICATE'
    if (!this.waitingFor.has(task)) return 'UNKNOWN'
    this.waitingFor.delete(task)
    this.acks.set(task, handle)
    return 'SUCCESS'
  }

  get isFullyAcknowledged(): boolean {
    return this.discardedFor === null && this.waitingFor.size === 0
  }

  get isDiscarded(): boolean {
    return this.discardedFor !== null
  }

  get abortReason(): CheckpointFailureReason | null {
    return this.discardedFor
  }

  /** Tasks that have not acknowledged yet. */
  get pendingTasks(): string[] {
    return [...this.waitingFor]
  }

  /** Marks the checkpoint aborted; returns the handles already received, to discard. */
  abort(reason: CheckpointFailureReason): Handle[] {
    if (this.discardedFor !== null) return []
    this.discardedFor = reason
    return [...this.acks.values()]
  }
}
