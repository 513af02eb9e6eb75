// The sink interface: each parallel subtask gets a writer. Writes are synchronous; a writer
// that needs to batch does so and empties its batch in flush().

export interface SinkWriterContext {
  readonly subtaskIndex: number
  readonly parallelism: number
  readonly attemptNumber: number
  readonly jobName: string
}

export interface SinkWriter<T> {
  write(record: T): void
  /** Called when the task runs out of input for now, and at the end of input (endOfInput true). */
  flush(endOfInput: boolean): void
  close(): void
}

export interface Sink<T> {
  createWriter(ctx: SinkWriterContext): SinkWriter<T>
}
