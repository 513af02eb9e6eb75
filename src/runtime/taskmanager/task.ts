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
import type { Collector, TimerService } from '../../api/functions.ts'
import type { RuntimeContext } from '../../api/runtime-context.ts'
import type { StateDescriptor } from '../../api/state.ts'
import { StateShapeRegistry } from '../../state/state-shapes.ts'
import { InputStatus, type SourceReader, type SourceReaderContext } from '../../api/source.ts'
import type { StreamOperator, OperatorContext, OperatorRecovery, Output, RecordTime } from '../../operators/operator.ts'
import type { RecordWriter } from '../network/record-writer.ts'
import type { InputChannel } from '../network/channels.ts'
import { END_OF_PARTITION, MAX_WATERMARK, MIN_WATERMARK, NO_TIMESTAMP, WATERMARK_TAG, type CheckpointBarrier } from '../network/events.ts'
import type { KeyedStateBackend, StateFor } from '../../state/keyed-state-backend.ts'
import { createKeyedStateBackend, type BackendSettings } from '../../state/backend-factory.ts'
import { InternalTimerService } from './internal-timer-service.ts'
import { WatermarkValve } from './watermark-valve.ts'
import { SourceOutputs } from './source-output.ts'
import { BarrierHandler } from './barrier-handler.ts'
import type { TaskRestore, TaskSnapshot, OperatorSnapshot, ChannelState } from './task-snapshot.ts'
import type { OperatorStateSnapshot } from '../../state/operator-state-store.ts'
import { UserError, UserFunctionError, WeirError, type TaskLocation } from '../../errors.ts'
import type { SourceTransformation } from '../../graph/transformation.ts'
import { keyGroupRangeForOperator, type KeyGroupRange } from '../../state/key-groups.ts'
import { TaskTime } from '../../metrics/task-time.ts'
import { ChainingOutput, WritersOutput } from './chain-outputs.ts'
import { migrateRestored } from '../../state/state-migration.ts'
import { OperatorMetricGroup } from '../../metrics/metric-group.ts'

/** What a task needs from the worker it runs in. */
export interface TaskHost {
  readonly jobName: string
  readonly attempt: number
  readonly checkpointing: boolean
  readonly exactlyOnce: boolean
  /** With unaligned checkpoints on: how long alignment may take before switching to unaligned (0: off). */
  readonly alignedTimeoutMs: number
  readonly stateBackend: BackendSettings
  /** pipeline.auto-watermark-interval (ms; 0: no periodic watermarks). */
  readonly autoWatermarkInterval: number
  /** Schedules the run loop: something became runnable. */
  wake(): void
  requestSplit(vertex: number, subtask: number): void
  /** All input consumed and end of partition sent. */
  taskEnded(task: Task): void
  taskFinished(task: Task): void
  /** The synchronous phase of checkpoint `id` is done; `complete` runs the asynchronous phase. */
  snapshotTaken(task: Task, barrier: CheckpointBarrier, snapshot: () => Promise<TaskSnapshot>, timing: SnapshotTiming, channelStateReady: Promise<void> | null): void
  declineCheckpoint(task: Task, checkpointId: number, reason: string): void
  /** Where this attempt starts from (two-phase sinks check it against what they committed). */
  readonly recovery: OperatorRecovery
  /** A line for the JobManager's log about `task`. */
  logTask(task: Task, level: 'debug' | 'info' | 'warn' | 'error', msg: string): void
}

/** What the synchronous phase of a checkpoint measured, for its acknowledgement. */
export interface SnapshotTiming {
  readonly syncMs: number
  readonly alignmentMs: number
  /** From the checkpoint's trigger until its first barrier reached this task (a source: until it took the trigger). */
  readonly startDelayMs: number
  readonly unaligned: boolean
  readonly operatorState?: Record<string, OperatorStateSnapshot>
  readonly stateUids?: string[]
}

type TaskState = 'running' | 'ended' | 'finished' | 'failed' | 'canceled'

/** Prefix of a decline that is not the checkpoint's fault (Flink's CHECKPOINT_DECLINED_TASK_CLOSING): not counted as a failure. */
export const TASK_NOT_RUNNING = 'TASK_NOT_RUNNING'

interface KeyedOperatorRuntime {
  readonly uid: string
  readonly operator: StreamOperator<unknown, unknown>
  readonly backend: KeyedStateBackend
  readonly timers: InternalTimerService
}


export class Task {
  state: TaskState = 'running'
  readonly operators: StreamOperator<unknown, unknown>[] = []
  /** uids parallel to `operators`. */
  private readonly operatorUids: string[] = []
  private readonly keyed: KeyedOperatorRuntime[] = []
  private readonly mail: Array<() => void> = []
  private head: StreamOperator<unknown, unknown> | null = null
  private reader: SourceReader<unknown, unknown> | null = null
  private readonly sourceUid: string | null = null
  private sourceOutput: SourceOutputs | null = null
  /** The timestamp of the record in flight, shared by the chain's operators and writers. */
  private readonly time: RecordTime = { value: NO_TIMESTAMP }
  /** Combines the input channels' watermarks (tasks with inputs). */
  private readonly valve: WatermarkValve | null
  private periodicHandle: NodeJS.Timeout | null = null
  private sourceWaiting = false
  /**
   * The stop-with-savepoint this source took the barrier of: it reads no more until that
   * savepoint completes (then the task stops) or is aborted (then it reads on, as in Flink).
   */
  private suspendedBy: number | null = null
  private endedChannels = 0
  private nextChannel = 0
  private timerHandle: NodeJS.Timeout | null = null
  private armedFor = Infinity
  private timersDue = false
  private readonly barriers: BarrierHandler | null
  /** In-flight records being recorded for an unaligned checkpoint, by input channel index. */
  private recording: { readonly id: number; readonly inputs: Map<number, unknown[]>; readonly active: Set<number>; resolve: () => void } | null = null
  private alignmentTimer: NodeJS.Timeout | null = null
  private readonly keyGroupRange: KeyGroupRange
  /** Shapes of the keyed states: restored ones are checked when an operator asks for them. */
  private readonly stateShapes = new StateShapeRegistry()
  /** Operators that can hold input back (sinks with asynchronous writes). */
  private readonly blockable: StreamOperator<unknown, unknown>[] = []
  /** Operators are closing (waiting for asynchronous work such as commits): no more input. */
  private closing = false
  readonly location: TaskLocation
  /** Busy / idle / back-pressured time, accounted by the run loop once per step. */
  readonly activity = new TaskTime(performance.now())
  /** Records (not watermarks) taken from the input channels. */
  recordsIn = 0
  /** Of the latest checkpoint this task took part in. */
  lastAlignmentMs = 0
  lastStartDelayMs = 0
  /** User metrics, one group per operator of the chain that registered any. */
  readonly metricGroups: OperatorMetricGroup[] = []

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

    // Build the chain from the tail backwards, so each operator gets its successor as output.
    for (const w of writers) w.time = this.time
    let output: Output<unknown> = new WritersOutput(writers, vertex.outputs.map((e) => e.outputTag ?? null))
    const isSource = headT.kind === 'source'
    const first = isSource ? 1 : 0
    for (let i = vertex.operators.length - 1; i >= first; i--) {
      const t = vertex.operators[i]!
      if (t.kind === 'source') throw new WeirError('WEIR_INTERNAL', 'a source can only head a chain')
      const operator = t.factory()
      operator.setup(this.operatorContext(i, t.kind === 'one-input' ? t.keySelector !== null : t.keySelector1 !== null, operator), output)
      this.operators.unshift(operator)
      this.operatorUids.unshift(vertex.uids[i]!)
      output = new ChainingOutput(operator)
      if (operator.isBlocked) this.blockable.push(operator)
    }
    if (isSource) {
      this.sourceOutput = new SourceOutputs(output, this.time, (headT as SourceTransformation).watermarkStrategy ?? null, subtaskIndex)
      this.sourceUid = vertex.uids[0]!
      this.reader = (headT as SourceTransformation).source.createReader(this.readerContext())
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
    this.barriers = inputs.length > 0
      ? new BarrierHandler({
          blockChannel: (c) => (this.inputs[c]!.blocked = true),
          unblockAllChannels: () => {
            for (const input of this.inputs) input.blocked = false
            this.host.wake()
          },
          snapshotAndForward: (barrier, alignmentMs) => this.checkpoint(barrier, alignmentMs, null),
          snapshotUnaligned: (barrier, done, alignmentMs) => this.checkpoint(barrier, alignmentMs, done),
          barrierReachedChannel: (channel, id) => this.recordInFlight(channel, id),
          isBarrierQueued: (channel, id) => this.inputs[channel]!.hasBarrierQueued(id),
          channelStateComplete: () => {
            this.recording?.resolve()
            this.recording = null
          },
          abortCheckpoint: (id, reason) => {
            if (this.recording?.id === id) {
              this.recording.resolve()
              this.recording = null
            }
            this.host.declineCheckpoint(this, id, reason)
          },
          now: () => performance.now(),
        }, inputs.length, host.exactlyOnce)
      : null
    if (this.barriers && host.exactlyOnce) {
      inputs.forEach((input, index) => {
        input.onPriorityBarrier = (barrier) => this.post(() => {
          if (this.state === 'running') this.barriers!.onPriorityBarrier(index, barrier)
        })
      })
    }
  }

  /** Restores state (if any), opens operators (tail first, so nothing emits into an unopened operator), starts the reader. */
  open(): void {
    this.guard(this.location, () => this.restoreState())
    const first = this.reader ? 1 : 0
    for (let i = this.operators.length - 1; i >= 0; i--) {
      const t = this.vertex.operators[i + first]!
      this.guard({ ...this.location, operatorName: t.name, uid: this.operatorUids[i]! }, () => this.operators[i]!.open())
    }
    if (this.reader) this.guard({ ...this.location, operatorName: this.vertex.operators[0]!.name }, () => this.reader!.start())
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
    return this.valve ? this.valve.current : (this.sourceOutput?.emitted ?? MIN_WATERMARK)
  }

  /** Every pipeline.auto-watermark-interval, periodic generators of the source and of assigner operators emit. */
  private startPeriodicWatermarks(): void {
    const interval = this.host.autoWatermarkInterval
    const periodicOperators = this.operators.filter((op) => typeof op.onPeriodicWatermark === 'function')
    const sourcePeriodic = this.sourceOutput?.periodic ?? false
    if (interval <= 0 || (!sourcePeriodic && periodicOperators.length === 0)) return
    const emit = () => {
      if (this.state !== 'running' || this.suspendedBy !== null) return
      if (sourcePeriodic) this.sourceOutput!.emitPeriodic()
      for (const op of periodicOperators) op.onPeriodicWatermark!()
    }
    this.periodicHandle = setInterval(() => this.post(emit), interval)
    this.periodicHandle.unref()
  }

  private stopPeriodicWatermarks(): void {
    if (this.periodicHandle) clearInterval(this.periodicHandle)
    this.periodicHandle = null
  }

  /** Records the source emitted (source tasks). */
  get recordsOut(): number {
    return this.sourceOutput?.count ?? 0
  }

  /** Records this task's chain sent to its outputs, counted per batch at the channels (each record once, also on broadcast edges). */
  get recordsEmitted(): number {
    let most = 0
    for (const w of this.writers) {
      let n = 0
      for (const c of w.channels) n += c.recordsSent
      if (w.fanOut > 1) n = Math.floor(n / w.fanOut)
      if (n > most) most = n
    }
    return most
  }

  /** Serialized bytes this task sent to and received from other slots. */
  get bytesOut(): number {
    let n = 0
    for (const w of this.writers) for (const c of w.channels) n += c.bytesSent
    return n
  }

  get bytesIn(): number {
    let n = 0
    for (const input of this.inputs) n += input.bytesReceived
    return n
  }

  /** Whether some output waits for credit: the task could work but may not. */
  isBackPressured(): boolean {
    for (const w of this.writers) if (w.isBlocked()) return true
    return false
  }

  /** Queues a control action to run on this task's turn. */
  post(action: () => void): void {
    this.mail.push(action)
    this.host.wake()
  }

  addSplits(splits: unknown[]): void {
    this.post(() => this.reader!.addSplits(splits))
  }

  noMoreSplits(): void {
    this.post(() => this.reader!.notifyNoMoreSplits())
  }

  /** A source task starts checkpoint n: snapshot, then barrier n goes downstream. */
  triggerCheckpoint(barrier: CheckpointBarrier): void {
    this.post(() => {
      if (this.state !== 'running') return this.host.declineCheckpoint(this, barrier.id, `${TASK_NOT_RUNNING}: task is ${this.state}`)
      this.checkpoint(barrier, 0, barrier.unaligned ? new Set() : null)
      // Stop with savepoint: nothing after the savepoint's barrier.
      if (barrier.stop) this.suspendedBy = barrier.id
      // A source has no input channels: its channel state (overtaken output) is complete at once.
      if (barrier.unaligned) {
        this.recording?.resolve()
        this.recording = null
      }
    })
  }

  /** The final checkpoint of a bounded job: all input is consumed and no channel carries data any more. */
  triggerFinalCheckpoint(barrier: CheckpointBarrier): void {
    this.post(() => {
      if (this.state === 'ended') this.checkpoint(barrier, 0, null)
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
      this.barriers?.onAbort(checkpointId)
      // A failed stop with savepoint: the source goes on reading (a failed stop never halts the job).
      if (this.suspendedBy === checkpointId) this.suspendedBy = null
      for (const op of this.operators) op.notifyCheckpointAborted?.(checkpointId)
    })
  }

  /** Stop with savepoint: the savepoint completed (and was notified); close without ending the input. */
  stopNow(): void {
    this.post(() => {
      if ((this.state !== 'running' && this.state !== 'ended') || this.closing) return
      this.clearTimer()
      this.closeAndFinish()
    })
  }

  /** Stop with savepoint and drain: a source ends its input now, as if it were exhausted. */
  drain(): void {
    this.post(() => {
      if (this.state === 'running' && this.reader) this.endOfInput()
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
    this.reader?.close()
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
    if (this.timersDue) {
      this.fireTimers()
      return true
    }
    for (const w of this.writers) if (w.isBlocked()) return false
    for (const op of this.blockable) if (op.isBlocked!()) return false
    if (this.reader !== null) return this.suspendedBy !== null ? false : this.pollSource()
    return this.processInput()
  }

  /** Sends partly filled batches and lets sinks write what they gathered. */
  flush(): void {
    if (this.state !== 'running' || this.closing) return
    for (const op of this.operators) op.onIdle()
    for (const w of this.writers) w.flush()
  }

  fail(): void {
    this.state = 'failed'
    this.clearTimer()
    this.clearAlignmentTimer()
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
    this.clearTimer()
    this.disposeOperators()
    this.disposeBackends()
    try {
      this.reader?.close()
    } catch {
      // closing on cancel: nothing more to do
    }
  }

  private pollSource(): boolean {
    if (this.sourceWaiting) return false
    let status: InputStatus
    try {
      status = this.reader!.pollNext(this.sourceOutput!)
    } catch (e) {
      // Errors from chained operators are already wrapped; the reader's own are user code too.
      throw e instanceof WeirError ? e : new UserFunctionError({ ...this.location, operatorName: this.vertex.operators[0]!.name }, e)
    }
    if (status === InputStatus.NOTHING_AVAILABLE) this.sourceWaiting = true
    else if (status === InputStatus.END_OF_INPUT) this.endOfInput()
    return true
  }

  private processInput(): boolean {
    const inputs = this.inputs
    const n = inputs.length
    for (let tried = 0; tried < n; tried++) {
      const index = this.nextChannel
      const channel = inputs[index]!
      this.nextChannel = index + 1 === n ? 0 : index + 1
      if (channel.blocked || !channel.hasItems()) continue
      const item = channel.take()
      if (Array.isArray(item)) {
        // Two slots per pair; watermarks are taken off below.
        this.recordsIn += item.length >> 1
        const recording = this.recording
        if (recording !== null && recording.active.has(index)) {
          const into = recording.inputs.get(index)!
          for (let i = 0; i < item.length; i++) into.push(item[i])
        }
        // Flat pairs: (record, timestamp), or (time, WATERMARK_TAG) for a watermark in its place.
        const head = this.head!
        const time = this.time
        const second = channel.inputIndex === 2
        for (let i = 0; i < item.length; i += 2) {
          const ts = item[i + 1] as number | string
          if (ts === WATERMARK_TAG) {
            this.recordsIn--
            this.valve!.onWatermark(index, item[i] as number)
            continue
          }
          time.value = ts as number
          if (second) head.processElement2!(item[i])
          else head.processElement(item[i])
        }
        channel.release(item)
      } else if (item.type === 'barrier') {
        this.barriers!.onBarrier(index, item)
        this.armAlignmentTimeout()
      } else if (item.type === 'watermark-status') {
        this.valve!.onStatus(index, item.idle)
      } else if (item.type === 'end-of-partition') {
        channel.blocked = true
        this.valve!.onEnd(index)
        this.barriers!.onEndOfPartition(index)
        if (++this.endedChannels === n) this.endOfInput()
      }
      return true
    }
    return false
  }

  /** All input consumed: let operators finish (head first), send end of partition, wait for finish. */
  private endOfInput(): void {
    // A source ends with the maximum watermark, so every event-time timer and window fires.
    if (this.sourceOutput !== null) this.sourceOutput.emitFinal(MAX_WATERMARK)
    for (const op of this.operators) op.endInput()
    for (const op of this.operators) op.onIdle()
    for (const w of this.writers) w.broadcastEvent(END_OF_PARTITION)
    this.clearTimer()
    this.state = 'ended'
    this.host.taskEnded(this)
  }

  /**
   * Synchronous phase of a checkpoint: capture every operator's state, then forward the barrier
   * (behind all records emitted before it; or, unaligned, ahead of them, keeping them as
   * channel state). Serializing and writing happen afterwards, in the host, while this task
   * keeps processing. `unalignedDone` (unaligned only) lists input channels whose barrier
   * already arrived in order, so that they have no in-flight records.
   */
  private checkpoint(barrier: CheckpointBarrier, alignmentMs: number, unalignedDone: ReadonlySet<number> | null): void {
    const started = performance.now()
    this.clearAlignmentTimer()
    const splits = this.reader ? this.reader.snapshotState(barrier.id) : null
    for (const op of this.operators) op.prepareSnapshot?.(barrier.id, barrier.timestamp)
    const captures = this.keyed.map((k) => ({ uid: k.uid, backend: k.backend, capture: k.backend.captureSnapshot(barrier.id, { savepoint: barrier.isSavepoint }), shapes: this.stateShapes.shapesOf(k.uid) }))
    const states = this.operators.map((op) => op.snapshotState?.(barrier.id))
    let operatorState: Record<string, OperatorStateSnapshot> | undefined
    this.operators.forEach((op, i) => {
      const s = op.snapshotOperatorState?.()
      if (s) (operatorState ??= {})[this.operatorUids[i]!] = s
    })
    let channels: ChannelState | null = null
    let ready: Promise<void> | null = null
    if (unalignedDone !== null) {
      const outputs: Record<string, unknown[]> = {}
      if (this.state === 'running') for (const w of this.writers) for (const c of w.channels) outputs[c.id] = c.sendPriorityEvent(barrier)
      const inputs = new Map<number, unknown[]>()
      const active = new Set<number>()
      this.inputs.forEach((_input, index) => {
        inputs.set(index, [])
        if (!unalignedDone.has(index)) active.add(index)
      })
      const recording = { id: barrier.id, inputs, active, resolve: () => {} }
      ready = new Promise<void>((resolve) => (recording.resolve = resolve))
      this.recording = recording
      const inputChannels = this.inputs
      channels = {
        outputs,
        get inputs() {
          const byId: Record<string, unknown[]> = {}
          for (const [index, records] of inputs) if (records.length > 0) byId[inputChannels[index]!.id] = records
          return byId
        },
      }
    } else if (this.state === 'running') {
      for (const w of this.writers) w.broadcastEvent(barrier)
    }
    const syncMs = performance.now() - started
    this.lastAlignmentMs = alignmentMs
    // The first barrier arrived when alignment began, alignmentMs before the snapshot started.
    this.lastStartDelayMs = Math.max(0, Date.now() - syncMs - alignmentMs - barrier.timestamp)
    const uids = this.operatorUids
    const sourceUid = this.sourceUid
    this.host.snapshotTaken(this, barrier, async () => {
      const operators: Record<string, OperatorSnapshot> = {}
      const entry = (uid: string) => (operators[uid] ??= {})
      if (sourceUid !== null && splits !== null) entry(sourceUid).splits = splits
      for (const c of captures) {
        entry(c.uid).keyed = await c.backend.materializeSnapshot(c.capture)
        if (c.shapes.length > 0) entry(c.uid).stateShapes = c.shapes
      }
      for (let i = 0; i < states.length; i++) {
        // A sink's pre-commit may still be in flight: the acknowledgement waits for it.
        const s = await states[i]
        if (s !== undefined) entry(uids[i]!).state = s
      }
      return channels ? { version: 1, operators, channels: { inputs: channels.inputs, outputs: channels.outputs } } : { version: 1, operators }
    }, { syncMs, alignmentMs, startDelayMs: this.lastStartDelayMs, unaligned: unalignedDone !== null, operatorState, stateUids: this.statefulUids(splits !== null, captures.map((c) => c.uid), states, operatorState) }, ready)
  }

  /** The operators of this task that store anything: they need a home on a restore. */
  private statefulUids(sourceState: boolean, keyedUids: string[], states: unknown[], operatorState: Record<string, unknown> | undefined): string[] {
    const uids = new Set(keyedUids)
    if (sourceState && this.sourceUid !== null) uids.add(this.sourceUid)
    states.forEach((s, i) => {
      if (s !== undefined) uids.add(this.operatorUids[i]!)
    })
    for (const uid of Object.keys(operatorState ?? {})) uids.add(uid)
    return [...uids]
  }

  /** Barrier `id` reached input channel `index`: what is still queued before it is in flight. */
  private recordInFlight(index: number, id: number): void {
    const recording = this.recording
    if (recording === null || recording.id !== id) return
    const into = recording.inputs.get(index)!
    for (const r of this.inputs[index]!.takeInFlightBefore(id)) into.push(r)
    recording.active.delete(index)
  }

  /** With an aligned-checkpoint timeout, an alignment that takes too long becomes unaligned. */
  private armAlignmentTimeout(): void {
    const timeout = this.host.alignedTimeoutMs
    const id = this.barriers!.aligningId
    if (timeout <= 0 || id === null || this.alignmentTimer !== null) return
    // Measured from the checkpoint's start, as in Flink: time the barrier spent behind full buffers counts.
    const barrierStart = this.barriers!.aligningTimestamp ?? Date.now()
    this.alignmentTimer = setTimeout(() => {
      this.alignmentTimer = null
      this.post(() => {
        if (this.state === 'running') this.barriers!.onAlignmentTimeout(id)
      })
    }, Math.max(0, barrierStart + timeout - Date.now()))
  }

  private clearAlignmentTimer(): void {
    if (this.alignmentTimer) clearTimeout(this.alignmentTimer)
    this.alignmentTimer = null
  }

  private restoreState(): void {
    const restore = this.restore
    if (!restore) {
      for (const op of this.operators) op.initializeState?.([], false)
      return
    }
    const range = this.keyGroupRange
    for (const k of this.keyed) {
      const r = restore.operators[k.uid]
      if (!r) continue
      this.stateShapes.addRestored(k.uid, r.shapes)
      for (const snapshot of r.keyed) k.backend.restore(snapshot, range)
      // Timers are keyed state: the backend restored this subtask's key groups of them.
      k.timers.restoreTimers()
    }
    this.operators.forEach((op, i) => {
      const uid = this.operatorUids[i]!
      op.initializeState?.(restore.operators[uid]?.states ?? [], true, restore.operatorState[uid] ?? {})
    })
    if (this.reader && this.sourceUid !== null) {
      const splits = restore.operators[this.sourceUid]?.splits ?? []
      if (splits.length > 0) this.reader.addSplits(splits)
    }
    if (restore.channels) this.restoreChannelState(restore.channels)
  }

  /** In-flight records of an unaligned checkpoint: inputs are processed first, outputs sent first. */
  private restoreChannelState(channels: ChannelState): void {
    for (const input of this.inputs) {
      const records = channels.inputs[input.id]
      if (records) input.prepend(records)
    }
    for (const w of this.writers) {
      for (const c of w.channels) {
        const records = channels.outputs[c.id]
        if (!records) continue
        for (let i = 0; i < records.length; i += 2) {
          if (records[i + 1] === WATERMARK_TAG) c.addWatermark(records[i] as number)
          else c.add(records[i], records[i + 1] as number)
        }
      }
    }
  }

  private fireTimers(): void {
    this.timersDue = false
    const now = Date.now()
    for (const k of this.keyed) k.timers.fireProcessingTimers(now, k.operator)
    this.armedFor = Infinity
    this.armTimer(this.nextTimerTime())
  }

  private nextTimerTime(): number {
    let next = Infinity
    for (const k of this.keyed) next = Math.min(next, k.timers.nextProcessingTime())
    return next
  }

  /** Makes sure the task wakes up at `time` (or earlier). */
  armTimer(time: number): void {
    if (time >= this.armedFor || time === Infinity) return
    this.clearTimer()
    this.armedFor = time
    this.timerHandle = setTimeout(() => {
      this.timerHandle = null
      this.armedFor = Infinity
      this.timersDue = true
      this.host.wake()
    }, Math.max(0, time - Date.now()))
  }

  private clearTimer(): void {
    this.stopPeriodicWatermarks()
    if (this.timerHandle) clearTimeout(this.timerHandle)
    this.timerHandle = null
    this.armedFor = Infinity
  }

  /** Runs user-facing setup code, naming the operator it belongs to when it throws. */
  private guard(location: TaskLocation, action: () => void): void {
    try {
      action()
    } catch (e) {
      throw e instanceof WeirError ? e : new UserFunctionError(location, e)
    }
  }

  private operatorContext(index: number, keyed: boolean, operator: StreamOperator<unknown, unknown>): OperatorContext {
    const t = this.vertex.operators[index]!
    const uid = this.vertex.uids[index]!
    const location: TaskLocation = { ...this.location, operatorName: t.name, uid }
    let backend: KeyedStateBackend | null = null
    let timerService: TimerService | null = null
    let internalTimers: InternalTimerService | null = null
    if (keyed) {
      backend = createKeyedStateBackend(this.host.stateBackend, { maxParallelism: this.vertex.maxParallelism, operatorUid: uid, subtaskIndex: this.subtaskIndex })
      const timers = new InternalTimerService(backend, this.time, (time) => this.armTimer(time))
      internalTimers = timers
      this.keyed.push({ uid, operator, backend, timers })
      timerService = {
        currentProcessingTime: () => Date.now(),
        registerProcessingTimeTimer: (time: number) => timers.registerProcessingTimeTimer(time),
        deleteProcessingTimeTimer: (time: number) => timers.deleteProcessingTimeTimer(time),
        currentWatermark: () => timers.currentWatermark,
        registerEventTimeTimer: (time: number) => timers.registerEventTimeTimer(time),
        deleteEventTimeTimer: (time: number) => timers.deleteEventTimeTimer(time),
      }
    }
    const vertex = this.vertex
    const keyedState = <D extends StateDescriptor>(descriptor: D): StateFor<D> => {
      if (!backend) throw new UserError('WEIR_INVALID_JOB', `state '${descriptor.name}' in '${t.name}': keyed state is only available on a keyed stream; call keyBy(...) first`)
      // Both backends: a restored state of another shape is refused before it is handed out.
      const migrateFrom = this.stateShapes.register(uid, t.name, descriptor)
      const state = backend.getState(descriptor)
      if (migrateFrom) migrateRestored(backend, descriptor, state)
      return state
    }
    let metricGroup: OperatorMetricGroup | null = null
    const runtimeContext: RuntimeContext = {
      getMetricGroup: () => {
        if (metricGroup === null) {
          metricGroup = new OperatorMetricGroup(t.name)
          this.metricGroups.push(metricGroup)
        }
        return metricGroup
      },
      jobName: this.host.jobName,
      operatorName: t.name,
      subtaskIndex: this.subtaskIndex,
      parallelism: vertex.parallelism,
      maxParallelism: vertex.maxParallelism,
      attemptNumber: this.host.attempt,
      getState: (d) => keyedState(d),
      getListState: (d) => keyedState(d),
      getMapState: (d) => keyedState(d),
      getReducingState: (d) => keyedState(d),
      getAggregatingState: (d) => keyedState(d),
    }
    return { location, runtimeContext, keyedBackend: backend, timerService, internalTimers, time: this.time, autoWatermarkInterval: this.host.autoWatermarkInterval, checkpointing: this.host.checkpointing, post: (action) => this.post(action), recovery: this.host.recovery, log: (level, msg) => this.host.logTask(this, level, msg) }
  }

  private readerContext(): SourceReaderContext {
    return {
      subtaskIndex: this.subtaskIndex,
      parallelism: this.vertex.parallelism,
      attemptNumber: this.host.attempt,
      sendSplitRequest: () => this.host.requestSplit(this.vertex.id, this.subtaskIndex),
      signalAvailable: () => {
        this.sourceWaiting = false
        this.host.wake()
      },
    }
  }
}
