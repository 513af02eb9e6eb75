// Every way a checkpoint can fail, with the message a user sees and whether the failure
// happened before the checkpoint reached the tasks (pre-flight failures are not counted
// against the tolerable failures: nothing was attempted).

export const CHECKPOINT_FAILURE_REASONS = {
  EXPIRED: { message: 'the checkpoint expired before it completed (execution.checkpointing.timeout)', preFlight: false, counts: true },
  DECLINED: { message: 'a task declined the checkpoint', preFlight: false, counts: true },
  STORAGE_FAILURE: { message: 'writing the checkpoint to storage failed', preFlight: false, counts: true },
  STATE_TOO_LARGE: { message: 'a state handle exceeds the 5 MB limit of jobmanager checkpoint storage; set execution.checkpointing.dir to use filesystem storage', preFlight: false, counts: true },
  FINALIZE_FAILED: { message: 'writing the checkpoint metadata failed', preFlight: false, counts: true },
  SUBSUMED: { message: 'a later checkpoint completed first', preFlight: false, counts: false },
  JOB_REACHED_END: { message: 'the job reached the end of its input before the checkpoint completed', preFlight: false, counts: false },
  TASK_FAILURE: { message: 'a task failed while the checkpoint was in progress', preFlight: false, counts: false },
  TASKS_NOT_RUNNING: { message: 'not all tasks are running (some finished or are being deployed)', preFlight: true, counts: false },
  TOO_MANY_CONCURRENT: { message: 'the maximum number of concurrent checkpoints is in progress', preFlight: true, counts: false },
  COORDINATOR_SHUTDOWN: { message: 'the job is shutting down', preFlight: false, counts: false },
} as const

export type CheckpointFailureReason = keyof typeof CHECKPOINT_FAILURE_REASONS

export function describeFailureReason(reason: CheckpointFailureReason, detail?: string): string {
  const base = CHECKPOINT_FAILURE_REASONS[reason].message
  return detail ? `${base}: ${detail}` : base
}
