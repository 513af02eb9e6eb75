// Writes records into a Sink's writer; the end of a chain. Passes checkpoint events on to
// writers that take part in checkpoints.

import { BaseOperator } from './operator.ts'
import type { Sink, SinkWriter } from '../api/sink.ts'
import { WeirError } from '../errors.ts'

export class SinkOperator<T> extends BaseOperator<T, never> {
  private writer!: SinkWriter<T>
  private restored: unknown[] = []
  /** Records written, for metrics. */
  count = 0
  constructor(private readonly sink: Sink<T>) {
    super()
  }
  override initializeState(states: unknown[]): void {
    this.restored = states
  }
  override open(): void {
    const rc = this.ctx.runtimeContext
    this.writer = this.sink.createWriter({ subtaskIndex: rc.subtaskIndex, parallelism: rc.parallelism, attemptNumber: rc.attemptNumber, jobName: rc.jobName, checkpointing: this.ctx.checkpointing }, this.restored)
    this.restored = []
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
  snapshotState(checkpointId: number): unknown {
    return this.writer.snapshotState ? this.call(() => this.writer.snapshotState!(checkpointId)) : undefined
  }
  override notifyCheckpointComplete(checkpointId: number): void {
    if (this.writer.notifyCheckpointComplete) this.call(() => this.writer.notifyCheckpointComplete!(checkpointId))
  }
  override notifyCheckpointAborted(checkpointId: number): void {
    if (this.writer.notifyCheckpointAborted) this.call(() => this.writer.notifyCheckpointAborted!(checkpointId))
  }
  override close(): void {
    try {
      this.writer?.close()
    } catch (e) {
      throw new WeirError('WEIR_SINK_FAILED', `closing the sink of '${this.ctx.location.operatorName}' failed: ${(e as Error).message}`, { cause: e, domain: 'external' })
    }
  }
  private call<R>(action: () => R): R {
    try {
      return action()
    } catch (e) {
      throw this.userError(e)
    }
  }
}
