// Writes records into a Sink's writer; the end of a chain. Passes checkpoint events on to
// writers that take part in checkpoints. Two-phase committing sinks run in
// CommittingSinkOperator (committing-sink.ts), which extends this one.

import { BaseOperator } from './operator.ts'
import type { Sink, SinkWriter, SinkWriterContext } from '../api/sink.ts'
import { WeirError } from '../errors.ts'

export class SinkOperator<T> extends BaseOperator<T, never> {
  protected writer!: SinkWriter<T>
  private restored: unknown[] = []
  /** Records written, for metrics. */
  count = 0
  /** `sink` is null for subclasses that create their writer themselves. */
  constructor(private readonly sink: Sink<T> | null) {
    super()
  }
  override initializeState(states: unknown[]): void {
    this.restored = states
  }
  override open(): void {
    this.writer = this.sink!.createWriter(this.writerContext([]), this.restored)
    this.restored = []
  }
  protected writerContext(recovered: readonly unknown[]): SinkWriterContext {
    const rc = this.ctx.runtimeContext
    return {
      subtaskIndex: rc.subtaskIndex, parallelism: rc.parallelism, attemptNumber: rc.attemptNumber, jobName: rc.jobName,
      operatorUid: this.ctx.location.uid, checkpointing: this.ctx.checkpointing, run: '', recovered, post: (action) => this.ctx.post(action),
    }
  }
  processElement(record: T): void {
    this.count++
    try {
      this.writer.write(record)
    } catch (e) {
      throw this.userError(e)
    }
  }
  override onIdle(): void {
    this.call(() => this.writer.flush(false))
  }
  override endInput(): void {
    this.call(() => this.writer.flush(true))
  }
  /** The writer's asynchronous writes are behind: the task stops feeding it. */
  isBlocked(): boolean {
    return this.writer?.isBusy !== undefined && this.writer.isBusy()
  }
  snapshotState(checkpointId: number): unknown {
    return this.writer.snapshotState ? this.call(() => this.writer.snapshotState!(checkpointId)) : undefined
  }
  override notifyCheckpointComplete(checkpointId: number): void {
    if (this.writer.notifyCheckpointComplete) this.call(() => this.writer.notifyCheckpointComplete!(checkpointId))
  }
  override notifyCheckpointAborted(checkpointId: number): void {
    if (this.writer.notifyCheckpointAborted) this.call(() => this.writer.notifyCheckpointAborted!(checkpointId))
  }
  override close(): void | Promise<void> {
    let closing: void | Promise<void>
    try {
      closing = this.writer?.close()
    } catch (e) {
      throw this.closeError(e)
    }
    if (closing instanceof Promise) return closing.catch((e) => Promise.reject(this.closeError(e)))
  }
  override dispose(): void {
    try {
      this.writer?.abandon?.()
    } catch {
      // the task failed already; releasing is best effort
    }
  }
  protected closeError(e: unknown): WeirError {
    return e instanceof WeirError ? e : new WeirError('WEIR_SINK_FAILED', `closing the sink of '${this.ctx.location.operatorName}' failed: ${(e as Error).message}`, { cause: e, domain: 'external' })
  }
  protected call<R>(action: () => R): R {
    try {
      return action()
    } catch (e) {
      throw this.userError(e)
    }
  }
}
