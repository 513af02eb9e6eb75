// A task: one parallel subtask of a job vertex, i.e. its chain of operators, the input
// channels feeding the head and the record writers behind the tail. The worker's scheduler
// calls step() repeatedly; each step does one bounded piece of work (one control message, one
// batch of input, one poll of the source) synchronously, so there is no promise or closure per
// record, and checkpoint barriers are handled between any two steps.
//
// Lifecycle: running -> ended (all input consumed, end of partition sent; waits for the
// JobManager's finish, after a final checkpoint when checkpointing is on) -> finished.
// Failed and canceled end it at any point.

import type { JobVertex } from '../../graph/job-graph.ts'
import { StateShapeRegistry } from '../../state/state-shapes.ts'
import type { StreamOperator, RecordTime } from '../../operators/operator.ts'
import type { RecordWriter } from '../network/record-writer.ts'
import type { InputChannel } from '../network/channels.ts'
import { END_OF_PARTITION, MAX_WATERMARK, MIN_WATERMARK, NO_TIMESTAMP, type CheckpointBarrier } from '../network/events.ts'
import { WatermarkValve } from './watermark-valve.ts'
import { SourceDriver } from './source-driver.ts'
import { TaskCheckpoints } from './task-checkpoints.ts'
import type { TaskRestore } from './task-snapshot.ts'
import { TASK_NOT_RUNNING, type TaskHost } from './task-host.ts'
import { anyBlocked, bytesReceived, bytesSent, recordsEmitted } from './task-io-counters.ts'
import { UserFunctionError, WeirError, type TaskLocation } from '../../errors.ts'
import type { SourceTransformation } from '../../graph/transformation.ts'
import { keyGroupRangeForOperator, type KeyGroupRange } from '../../state/key-groups.ts'
import { TaskTime } from '../../metrics/task-time.ts'
import { buildChain } from './chain-builder.ts'
import type { OperatorMetricGroup } from '../../metrics/metric-group.ts'
import { InputProcessor } from './input-processor.ts'
import { TaskTimers } from './task-timers.ts'
import { restoreChain, restoreChannelState, type ChainParts, type KeyedOperatorRuntime } from './chain-state.ts'
import type { ChainContextDeps } from './operator-context.ts'

type TaskState = 'running' | 'ended' | 'finished' | 'failed' | 'canceled'

export class Task {
  state: TaskState = 'running'
  readonly operators: StreamOperator<unknown, unknown>[]
  /** uids parallel to `operators`. */
  private readonly operatorUids: string[]
  private readonly keyed: KeyedOperatorRuntime[] = []
  private readonly mail: Array<() => void> = []
  private head: StreamOperator<unknown, unknown> | null = null
  /** The source heading the chain (source tasks). */
  private readonly source: SourceDriver | null = null
  /** The timestamp of the record in flight, shared by the chain's operators and writers. */
  private readonly time: RecordTime = { value: NO_TIMESTAMP }
  /** Combines the input channels' watermarks (tasks with inputs). */
  private readonly valve: WatermarkValve | null
  private readonly timers: TaskTimers
  /** Barrier alignment and the synchronous phase of checkpoints. */
  private readonly checkpoints: TaskCheckpoints
  /** Takes the input channels' items (tasks with inputs). */
  private readonly input: InputProcessor | null
  private readonly keyGroupRange: KeyGroupRange
  /** Shapes of the keyed states: restored ones are checked when an operator asks for them. */
  private readonly stateShapes = new StateShapeRegistry()
  /** Operators that can hold input back (sinks with asynchronous writes). */
  private readonly blockable: StreamOperator<unknown, unknown>[]
  /** Operators are closing (waiting for asynchronous work such as commits): no more input. */
  private closing = false
  readonly location: TaskLocation
  /** Busy / idle / back-pressured time, accounted by the run loop once per step. */
  readonly activity = new TaskTime(performance.now())
  /** User metrics, one group per operator of the chain that registered any. */
  readonly metricGroups: OperatorMetricGroup[] = []
  /** The parts of the chain that hold state, for checkpoints and restores. */
  private readonly chain: ChainParts
  private readonly onEndOfInput = () => this.endOfInput()

  constructor(
    readonly vertex: JobVertex,
    readonly subtaskIndex: number,
    private readonly inputs: InputChannel[],
    readonly writers: RecordWriter[],
    private readonly host: TaskHost,
    private readonly restore: TaskRestore | null,
  ) {
    const headT = vertex.operators[0]!
    this.location = {
      jobName: host.jobName, operatorName: vertex.name, uid: vertex.uids[0]!,
      subtaskIndex, parallelism: vertex.parallelism, attempt: host.attempt,
    }
    this.keyGroupRange = keyGroupRangeForOperator(vertex.maxParallelism, vertex.parallelism, subtaskIndex)
    for (const input of inputs) input.onData = () => host.wake()
    for (const w of writers) for (const c of w.channels) c.onUnblocked = () => host.wake()

    for (const w of writers) w.time = this.time
    this.timers = new TaskTimers(this.keyed, () => host.wake())
    const deps: ChainContextDeps = {
      vertex, subtaskIndex, location: this.location, jobName: host.jobName, attempt: host.attempt,
      stateBackend: host.stateBackend, autoWatermarkInterval: host.autoWatermarkInterval,
      checkpointing: host.checkpointing, recovery: host.recovery, time: this.time,
      stateShapes: this.stateShapes, keyed: this.keyed, metricGroups: this.metricGroups,
      post: (action) => this.post(action),
      armTimer: (time) => this.timers.arm(time),
      log: (level, msg) => host.logTask(this, level, msg),
    }
    const built = buildChain(vertex, writers, deps)
    this.operators = built.operators
    this.operatorUids = built.operatorUids
    this.blockable = built.blockable
    const isSource = headT.kind === 'source'
    if (isSource) {
      this.source = new SourceDriver(headT as SourceTransformation, built.headOutput, this.time, deps, () => host.requestSplit(vertex.id, subtaskIndex), () => host.wake())
    } else {
      this.head = this.operators[0]!
    }
    const head = this.head
    this.valve = head !== null
      ? new WatermarkValve(inputs.length, {
          emitWatermark: (time) => head.processWatermark(time),
          emitWatermarkStatus: (idle) => head.processWatermarkStatus(idle),
        })
      : null
    this.chain = { reader: this.source?.reader ?? null, sourceUid: this.source?.uid ?? null, operators: this.operators, operatorUids: this.operatorUids, keyed: this.keyed, stateShapes: this.stateShapes }
    const checkpoints = new TaskCheckpoints({ task: this, host, inputs, writers, chain: this.chain, timers: this.timers, input: () => this.input })
    this.checkpoints = checkpoints
    const barriers = checkpoints.barriers
    this.input = head !== null && this.valve !== null && barriers !== null
      ? new InputProcessor(inputs, head, this.valve, barriers, this.time, {
          barrierTaken: () => checkpoints.armAlignmentTimeout(),
          allInputsEnded: () => this.endOfInput(),
        })
      : null
  }

  /** Restores state (if any), opens operators (tail first, so nothing emits into an unopened operator), starts the reader. */
  open(): void {
    this.guard(this.location, () => this.restoreState())
    const first = this.source ? 1 : 0
    for (let i = this.operators.length - 1; i >= 0; i--) {
      const t = this.vertex.operators[i + first]!
      this.guard({ ...this.location, operatorName: t.name, uid: this.operatorUids[i]! }, () => this.operators[i]!.open())
    }
    this.source?.start()
    this.startPeriodicWatermarks()
  }

  /** Operators of this task still opening asynchronously (see StreamOperator.opening). */
  pendingOpens(): Promise<void>[] {
    const out: Promise<void>[] = []
    for (const op of this.operators) if (op.opening) out.push(op.opening)
    return out
  }

  /** The task's current watermark: its input watermark, or for a source the one it emitted. */
  get currentWatermark(): number {
    return this.valve ? this.valve.current : (this.source?.output.emitted ?? MIN_WATERMARK)
  }

  /** Every pipeline.auto-watermark-interval, periodic generators of the source and of assigner operators emit. */
  private startPeriodicWatermarks(): void {
    const interval = this.host.autoWatermarkInterval
    const periodicOperators = this.operators.filter((op) => typeof op.onPeriodicWatermark === 'function')
    const source = this.source
    const sourcePeriodic = source?.output.periodic ?? false
    if (interval <= 0 || (!sourcePeriodic && periodicOperators.length === 0)) return
    const emit = () => {
      if (this.state !== 'running' || (source !== null && source.suspendedBy !== null)) return
      if (sourcePeriodic) source!.output.emitPeriodic()
      for (const op of periodicOperators) op.onPeriodicWatermark!()
    }
    this.timers.startPeriodic(interval, () => this.post(emit))
  }

  /** Of the latest checkpoint this task took part in. */
  get lastAlignmentMs(): number {
    return this.checkpoints.lastAlignmentMs
  }

  get lastStartDelayMs(): number {
    return this.checkpoints.lastStartDelayMs
  }

  /** Records (not watermarks) taken from the input channels. */
  get recordsIn(): number {
    return this.input?.recordsIn ?? 0
  }

  /** Records the source emitted (source tasks). */
  get recordsOut(): number {
    return this.source?.output.count ?? 0
  }

  /** Records this task's chain sent to its outputs, counted per batch at the channels (each record once, also on broadcast edges). */
  get recordsEmitted(): number {
    return recordsEmitted(this.writers)
  }

  /** Serialized bytes this task sent to and received from other slots. */
  get bytesOut(): number {
    return bytesSent(this.writers)
  }

  get bytesIn(): number {
    return bytesReceived(this.inputs)
  }

  /** Whether some output waits for credit: the task could work but may not. */
  isBackPressured(): boolean {
    return anyBlocked(this.writers)
  }

  /** Queues a control action to run on this task's turn. */
  post(action: () => void): void {
    this.mail.push(action)
    this.host.wake()
  }

  addSplits(splits: unknown[]): void {
    this.post(() => this.source!.reader.addSplits(splits))
  }

  noMoreSplits(): void {
    this.post(() => this.source!.reader.notifyNoMoreSplits())
  }

  /** A source task starts checkpoint n: snapshot, then barrier n goes downstream. */
  triggerCheckpoint(barrier: CheckpointBarrier): void {
    this.post(() => {
      if (this.state !== 'running') return this.host.declineCheckpoint(this, barrier.id, `${TASK_NOT_RUNNING}: task is ${this.state}`)
      this.checkpoints.take(barrier, 0, barrier.unaligned ? new Set() : null)
      // Stop with savepoint: nothing after the savepoint's barrier.
      if (barrier.stop) this.source!.suspendedBy = barrier.id
    })
  }

  /** The final checkpoint of a bounded job: all input is consumed and no channel carries data any more. */
  triggerFinalCheckpoint(barrier: CheckpointBarrier): void {
    this.post(() => {
      if (this.state === 'ended') this.checkpoints.take(barrier, 0, null)
      else this.host.declineCheckpoint(this, barrier.id, `${TASK_NOT_RUNNING}: task is ${this.state}, not ended`)
    })
  }

  notifyCheckpointComplete(checkpointId: number): void {
    this.post(() => {
      if (this.state !== 'running' && this.state !== 'ended') return
      for (const k of this.keyed) k.backend.notifyCheckpointComplete?.(checkpointId)
      for (const op of this.operators) op.notifyCheckpointComplete?.(checkpointId)
    })
  }

  notifyCheckpointAborted(checkpointId: number): void {
    this.post(() => {
      if (this.state !== 'running' && this.state !== 'ended') return
      this.checkpoints.barriers?.onAbort(checkpointId)
      // A failed stop with savepoint: the source goes on reading (a failed stop never halts the job).
      if (this.source !== null && this.source.suspendedBy === checkpointId) this.source.suspendedBy = null
      for (const op of this.operators) op.notifyCheckpointAborted?.(checkpointId)
    })
  }

  /** Stop with savepoint: the savepoint completed (and was notified); close without ending the input. */
  stopNow(): void {
    this.post(() => {
      if ((this.state !== 'running' && this.state !== 'ended') || this.closing) return
      this.timers.stop()
      this.closeAndFinish()
    })
  }

  /** Stop with savepoint and drain: a source ends its input now, as if it were exhausted. */
  drain(): void {
    this.post(() => {
      if (this.state === 'running' && this.source) this.endOfInput()
    })
  }

  /** The JobManager says the job is done: close the operators. */
  finishNow(): void {
    this.post(() => {
      if (this.state !== 'ended' || this.closing) return
      this.closeAndFinish()
    })
  }

  /** Closes the operators (head first), waits for those that finish asynchronously, then reports. */
  private closeAndFinish(): void {
    this.closing = true
    const waiting: Promise<void>[] = []
    for (const op of this.operators) {
      const closed = op.close()
      if (closed instanceof Promise) waiting.push(closed)
    }
    this.source?.reader.close()
    const finished = () => {
      if (this.state !== 'running' && this.state !== 'ended') return
      this.state = 'finished'
      this.disposeBackends()
      this.host.taskFinished(this)
    }
    if (waiting.length === 0) return finished()
    Promise.all(waiting).then(
      () => this.post(finished),
      (e: unknown) => this.post(() => {
        throw e
      }),
    )
  }

  /** One bounded piece of work; false when there was nothing this task could do now. */
  step(): boolean {
    if (this.state !== 'running' && this.state !== 'ended') return false
    if (this.mail.length > 0) {
      const action = this.mail.shift()!
      action()
      return true
    }
    if (this.state !== 'running' || this.closing) return false
    if (this.timers.due) {
      this.timers.fireDue()
      return true
    }
    for (const w of this.writers) if (w.isBlocked()) return false
    for (const op of this.blockable) if (op.isBlocked!()) return false
    const source = this.source
    if (source !== null) {
      if (!source.pollable) return false
      source.poll(this.onEndOfInput)
      return true
    }
    return this.input!.processInput()
  }

  /** Sends partly filled batches and lets sinks write what they gathered. */
  flush(): void {
    if (this.state !== 'running' || this.closing) return
    for (const op of this.operators) op.onIdle()
    for (const w of this.writers) w.flush()
  }

  fail(): void {
    this.state = 'failed'
    this.timers.stop()
    this.timers.clearAlignment()
    this.disposeOperators()
    this.disposeBackends()
  }

  private disposeOperators(): void {
    for (const op of this.operators) {
      try {
        op.dispose?.()
      } catch {
        // best effort: the task is over
      }
    }
  }

  /** Frees keyed backends (LMDB removes its working directory). */
  private disposeBackends(): void {
    for (const k of this.keyed) {
      try {
        k.backend.dispose()
      } catch {
        // best effort: the task is over
      }
    }
  }

  cancel(): void {
    if (this.state === 'running' || this.state === 'ended') this.state = 'canceled'
    this.timers.stop()
    this.disposeOperators()
    this.disposeBackends()
    try {
      this.source?.reader.close()
    } catch {
      // closing on cancel: nothing more to do
    }
  }

  /** All input consumed: let operators finish (head first), send end of partition, wait for finish. */
  private endOfInput(): void {
    // A source ends with the maximum watermark, so every event-time timer and window fires.
    if (this.source !== null) this.source.output.emitFinal(MAX_WATERMARK)
    for (const op of this.operators) op.endInput()
    for (const op of this.operators) op.onIdle()
    for (const w of this.writers) w.broadcastEvent(END_OF_PARTITION)
    this.timers.stop()
    this.state = 'ended'
    this.host.taskEnded(this)
  }

  private restoreState(): void {
    restoreChain(this.chain, this.restore, this.keyGroupRange)
    if (this.restore?.channels) restoreChannelState(this.inputs, this.writers, this.restore.channels)
  }

  /** Runs user-facing setup code, naming the operator it belongs to when it throws. */
  private guard(location: TaskLocation, action: () => void): void {
    try {
      action()
    } catch (e) {
      throw e instanceof WeirError ? e : new UserFunctionError(location, e)
    }
  }
}
