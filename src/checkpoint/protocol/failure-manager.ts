// Counts consecutive checkpoint failures against execution.checkpointing.tolerable-failed-checkpoints.
// A completed checkpoint resets the count; failures that are not the checkpoint's fault
// (pre-flight, subsumed, a task failure that fails over anyway) are not counted.

import { CHECKPOINT_FAILURE_REASONS, type CheckpointFailureReason } from './failure-reason.ts'

export type FailureVerdict = 'tolerate' | 'fail-job'

export class CheckpointFailureManager {
  private consecutive = 0
  constructor(readonly tolerable: number) {}

  onFailure(reason: CheckpointFailureReason): FailureVerdict {
    if (!CHECKPOINT_FAILURE_REASONS[reason].counts) return 'tolerate'
    this.consecutive++
    return this.consecutive > this.tolerable ? 'fail-job' : 'tolerate'
  }

  onSuccess(): void {
    this.consecutive = 0
  }

  get consecutiveFailures(): number {
    return this.consecutive
  }
}
