// The source at the head of a task's chain: its reader, the output it emits into (timestamps,
// split-aware watermarks, counts), and the two reasons it may not be polled: the reader said
// nothing is available (until it signals), or a stop-with-savepoint took its barrier (until
// that savepoint completes or is aborted).

import { InputStatus, type SourceReader } from '../../api/source.ts'
import type { Output, RecordTime } from '../../operators/operator.ts'
import type { SourceTransformation } from '../../graph/transformation.ts'
import { UserFunctionError, WeirError, type TaskLocation } from '../../errors.ts'
import { SourceOutputs } from './source-output.ts'
import { createReaderContext, type ChainContextDeps } from './operator-context.ts'

export class SourceDriver {
  readonly reader: SourceReader<unknown, unknown>
  readonly output: SourceOutputs
  readonly uid: string
  /**
   * The stop-with-savepoint this source took the barrier of: it reads no more until that
   * savepoint completes (then the task stops) or is aborted (then it reads on, as in Flink).
   */
  suspendedBy: number | null = null
  private waiting = false
  private readonly location: TaskLocation

  constructor(source: SourceTransformation, headOutput: Output<unknown>, time: RecordTime, deps: ChainContextDeps, requestSplit: () => void, wake: () => void) {
    this.uid = deps.vertex.uids[0]!
    this.location = { ...deps.location, operatorName: source.name }
    this.output = new SourceOutputs(headOutput, time, source.watermarkStrategy ?? null, deps.subtaskIndex)
    this.reader = source.source.createReader(createReaderContext(deps, requestSplit, () => {
      this.waiting = false
      wake()
    }))
  }

  start(): void {
    try {
      this.reader.start()
    } catch (e) {
      throw e instanceof WeirError ? e : new UserFunctionError(this.location, e)
    }
  }

  /** Whether polling could produce something now. */
  get pollable(): boolean {
    return this.suspendedBy === null && !this.waiting
  }

  /** One poll of the reader; `onEnd` runs when the reader has no more input. */
  poll(onEnd: () => void): void {
    let status: InputStatus
    try {
      status = this.reader.pollNext(this.output)
    } catch (e) {
      // Errors from chained operators are already wrapped; the reader's own are user code too.
      throw e instanceof WeirError ? e : new UserFunctionError(this.location, e)
    }
    if (status === InputStatus.NOTHING_AVAILABLE) this.waiting = true
    else if (status === InputStatus.END_OF_INPUT) onEnd()
  }
}
