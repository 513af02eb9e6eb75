// The sink interface: each parallel subtask gets a writer. Writes are synchronous; a writer
// that needs to batch does so and empties its batch in flush(). A transactional writer also
// takes part in checkpoints: it stages its output in snapshotState() (e.g. closes a file as
// pending) and makes it visible in notifyCheckpointComplete(), so that only output covered by
// a completed checkpoint is ever committed (two-phase commit, as Flink's FileSink does).

export interface SinkWriterContext {
  readonly subtaskIndex: number
  readonly parallelism: number
  readonly attemptNumber: number
  readonly jobName: string
  /** Whether the job takes checkpoints; without them a transactional writer commits at the end of input. */
  readonly checkpointing: boolean
}

export interface SinkWriter<T> {
  write(record: T): void
  /** Called when the task runs out of input for now, and at the end of input (endOfInput true). */
  flush(endOfInput: boolean): void
  close(): void
  /** Synchronous phase of checkpoint `checkpointId`: stage output and return the writer's state. */
  snapshotState?(checkpointId: number): unknown
  /** Checkpoint `checkpointId` (and every earlier one) completed: commit what it staged. */
  notifyCheckpointComplete?(checkpointId: number): void
  notifyCheckpointAborted?(checkpointId: number): void
}

export interface Sink<T> {
  /** `restored` holds the writer states this subtask inherits from a checkpoint (empty on a fresh start). */
  createWriter(ctx: SinkWriterContext, restored: unknown[]): SinkWriter<T>
}
