// Writes records into a Sink's writer; the end of a chain.

import { BaseOperator } from './operator.ts'
import type { Sink, SinkWriter } from '../api/sink.ts'
import { WeirError } from '../errors.ts'

export class SinkOperator<T> extends BaseOperator<T, never> {
  private writer!: SinkWriter<T>
  /** Records written, for metrics. */
  count = 0
  constructor(private readonly sink: Sink<T>) {
    super()
  }
  override open(): void {
    const rc = this.ctx.runtimeContext
    this.writer = this.sink.createWriter({ subtaskIndex: rc.subtaskIndex, parallelism: rc.parallelism, attemptNumber: rc.attemptNumber, jobName: rc.jobName })
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
    this.writer.flush(false)
  }
  override endInput(): void {
    this.writer.flush(true)
  }
  override close(): void {
    try {
      this.writer?.close()
    } catch (e) {
      throw new WeirError('WEIR_SINK_FAILED', `closing the sink of '${this.ctx.location.operatorName}' failed: ${(e as Error).message}`, { cause: e, domain: 'external' })
    }
  }
}
