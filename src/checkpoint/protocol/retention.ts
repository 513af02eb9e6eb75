// Which checkpoints to keep: after a completion, the oldest completed ones beyond
// execution.checkpointing.num-retained are dropped and pending ones older than the new one are
// subsumed; when the job ends, the retention policy decides whether the rest are deleted.

export type RetentionPolicy = 'DELETE_ON_CANCELLATION' | 'RETAIN_ON_CANCELLATION' | 'NO_EXTERNALIZED_CHECKPOINTS'
export type TerminalStatus = 'FINISHED' | 'FAILED' | 'CANCELED' | 'SUSPENDED'

export interface CompletionDecision {
  /** Completed checkpoint ids to delete, oldest first. */
  readonly dropCompleted: number[]
  /** Pending checkpoint ids to abort as subsumed. */
  readonly subsumePending: number[]
}

export function onCompletion(completedIds: readonly number[], pendingIds: readonly number[], newId: number, numRetained: number): CompletionDecision {
  const all = [...completedIds, newId].sort((a, b) => a - b)
  const dropCompleted = all.slice(0, Math.max(0, all.length - numRetained))
  const subsumePending = pendingIds.filter((id) => id < newId)
  return { dropCompleted, subsumePending }
}

/**
 * Whether completed checkpoints are deleted when the job ends with this status, as Flink's
 * CheckpointProperties decide: NO_EXTERNALIZED_CHECKPOINTS (NEVER_RETAIN_AFTER_TERMINATION)
 * deletes on every terminal status; DELETE_ON_CANCELLATION (RETAIN_ON_FAILURE) keeps only on
 * failure; RETAIN_ON_CANCELLATION keeps on failure, cancellation and suspension.
 */
export function deleteOnTermination(policy: RetentionPolicy, status: TerminalStatus): boolean {
  switch (policy) {
    case 'NO_EXTERNALIZED_CHECKPOINTS':
      return true
    case 'DELETE_ON_CANCELLATION':
      return status !== 'FAILED'
    case 'RETAIN_ON_CANCELLATION':
      return status === 'FINISHED'
  }
}
