// The sink interfaces. Every parallel subtask of a sink gets a writer; writes are synchronous,
// a writer that batches empties its batch in flush().
//
// Two kinds of sink:
// - `Sink`: a plain writer (print, discard). It may take part in checkpoints through the
//   optional hooks, but nothing is stored for it beyond what snapshotState returns.
// - `TwoPhaseCommittingSink` (Flink's Sink with SupportsCommitter): exactly-once output in two
//   phases. At the synchronous phase of checkpoint n the writer's prepareCommit(n) turns
//   everything written since the previous checkpoint into committables (pending files,
//   prepared transactions, rows kept for later); they are stored in checkpoint n. When n
//   completes, the Committer commits them. A restore from n commits n's committables again
//   (commits must be idempotent). An aborted checkpoint's committables stay pending and are
//   committed with the next checkpoint that completes (the subsuming contract: completing n
//   covers every earlier checkpoint). See docs/sinks.md for how to write one.
//   A two-phase sink may also report what it committed (committedCheckpoints): a restore from a
//   checkpoint older than that is refused, since it would write that output a second time.

export interface SinkWriterContext {
  readonly subtaskIndex: number
  readonly parallelism: number
  readonly attemptNumber: number
  readonly jobName: string
  /** The operator's uid: stable across runs, part of names a sink leaves in external systems. */
  readonly operatorUid: string
  /** Whether the job takes checkpoints; without them a transactional writer commits at the end of input. */
  readonly checkpointing: boolean
  /**
   * The run this subtask belongs to (two-phase sinks; '' for a plain Sink): a fresh start of the job begins a run, and
   * every restore from its checkpoints or savepoints continues it, across restarts and
   * resubmissions. A sink that records what it committed keys that record by run, so that a new
   * run of the same job (checkpoint ids start again) is not mistaken for the old one.
   */
  readonly run: string
  /**
   * Committables this subtask restored (a two-phase sink's), being committed now: a writer
   * that cleans up leftovers at start (open transactions, hidden files) must keep these.
   */
  readonly recovered: readonly unknown[]
  /**
   * Runs `action` on the task's thread between records; what it throws fails the task. A
   * writer that does I/O asynchronously reports failures and wakes up the task this way.
   */
  post(action: () => void): void
}

export interface SinkWriter<T> {
  write(record: T): void
  /** Called when the task runs out of input for now, and at the end of input (endOfInput true). */
  flush(endOfInput: boolean): void
  /** Releases resources; a promise makes the task wait for it before it finishes. */
  close(): void | Promise<void>
  /** Synchronous phase of checkpoint `checkpointId`: stage output and return the writer's state. */
  snapshotState?(checkpointId: number): unknown
  /** Checkpoint `checkpointId` (and every earlier one) completed: commit what it staged. */
  notifyCheckpointComplete?(checkpointId: number): void
  notifyCheckpointAborted?(checkpointId: number): void
  /**
   * True while the writer cannot take more records (its asynchronous writes are behind): the
   * task stops feeding it, so back-pressure reaches the sources. The writer calls
   * ctx.post(() => {}) when it can take records again.
   */
  isBusy?(): boolean
  /** The task failed: release resources at once, commit nothing (what is pending is recovered on restore). */
  abandon?(): void
}

export interface Sink<T> {
  /** `restored` holds the writer states this subtask inherits from a checkpoint (empty on a fresh start). */
  createWriter(ctx: SinkWriterContext, restored: unknown[]): SinkWriter<T>
}

/** What a committing writer hands over: plain data (it is stored in checkpoints). */
export type Committables<C> = C[] | Promise<C[]>

export interface CommittingSinkWriter<T, C> extends SinkWriter<T> {
  /**
   * Synchronous phase of checkpoint `checkpointId`: everything written since the last call
   * becomes committables. A promise (e.g. for a PREPARE TRANSACTION in flight) holds the
   * checkpoint's acknowledgement until the pre-commit is durable; if it rejects, the checkpoint
   * is declined. `checkpointId` is Number.MAX_SAFE_INTEGER for the end of input of a job
   * without checkpoints.
   */
  prepareCommit(checkpointId: number): Committables<C>
}

export interface CommitRequest<C> {
  readonly committable: C
  /** The checkpoint whose completion made this committable due. */
  readonly checkpointId: number
  /** How many times this request has been tried before (0 the first time). */
  readonly retries: number
}

export interface CommitterContext {
  readonly subtaskIndex: number
  readonly parallelism: number
  readonly jobName: string
  readonly operatorUid: string
  /** As SinkWriterContext.run: what a record of committed checkpoints is keyed by. */
  readonly run: string
}

/** The newest checkpoint whose output one subtask of a sink has committed, within one run. */
export interface CommittedCheckpoint {
  /** The subtask that committed it (its index in the run's parallelism at the time). */
  readonly subtaskIndex: number
  /** Number.MAX_SAFE_INTEGER for the end of input of a job without checkpoints. */
  readonly checkpointId: number
}

export interface CommittedCheckpointsQuery {
  readonly jobName: string
  readonly operatorUid: string
  /** The run being restored (CommitterContext.run when the commits happened). */
  readonly run: string
}

export interface Committer<C> {
  /**
   * Makes the committables visible. Must be idempotent: after a failure the same committable
   * is committed again (on a restore, or on a retry). A rejection is retried up to
   * `sink.committer.max-retries` times (see TwoPhaseCommittingSink.maxCommitRetries), then
   * fails the job.
   */
  commit(requests: readonly CommitRequest<C>[]): void | Promise<void>
  close(): void | Promise<void>
}

export interface TwoPhaseCommittingSink<T, C> {
  /** Restored writer states (not committables) of this subtask, as in Sink. */
  createWriter(ctx: SinkWriterContext, restored: unknown[]): CommittingSinkWriter<T, C>
  createCommitter(ctx: CommitterContext): Committer<C>
  /** Retries of a failed commit before the job fails (default 3). */
  readonly maxCommitRetries?: number
  /**
   * Optional: for every subtask index that committed anything in `query.run`, the newest
   * checkpoint it committed, read from where the sink's output is (so it survives the loss of
   * checkpoints). A restore from an older checkpoint is refused before any writer or committer
   * runs (execution.state-recovery.allow-duplicate-output lets it go on). Record it in the same
   * step as the commit where possible (a progress row in the commit's transaction, a marker file
   * written after the renames): a record that lags the output weakens the check, one ahead of it
   * refuses restores that were safe. Called on every subtask on every restore, before open.
   */
  committedCheckpoints?(query: CommittedCheckpointsQuery): readonly CommittedCheckpoint[] | Promise<readonly CommittedCheckpoint[]>
}

export function isTwoPhaseCommittingSink<T>(sink: Sink<T> | TwoPhaseCommittingSink<T, unknown>): sink is TwoPhaseCommittingSink<T, unknown> {
  return typeof (sink as TwoPhaseCommittingSink<T, unknown>).createCommitter === 'function'
}
