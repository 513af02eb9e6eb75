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
import { InputStatus, type SourceReader, type SourceReaderContext } from '../../api/source.ts'
import type { StreamOperator, OperatorContext } from '../../operators/operator.ts'
import type { RecordWriter } from '../network/record-writer.ts'
import type { InputChannel } from '../network/channels.ts'
import { END_OF_PARTITION, type CheckpointBarrier } from '../network/events.ts'
import type { KeyedStateBackend, StateFor } from '../../state/keyed-state-backend.ts'
import { createKeyedStateBackend, type BackendSettings } from '../../state/backend-factory.ts'
import { ProcessingTimeTimers } from './timer-service.ts'
import { BarrierHandler } from './barrier-handler.ts'
import type { TaskRestore, TaskSnapshot, OperatorSnapshot, ChannelState } from './task-snapshot.ts'
import type { OperatorStateSnapshot } from '../../state/operator-state-store.ts'
import { UserError, UserFunctionError, WeirError, type TaskLocation } from '../../errors.ts'
import type { SourceTransformation } from '../../graph/transformation.ts'
import { assignToKeyGroup, keyGroupRangeForOperator, type KeyGroupRange } from '../../state/key-groups.ts'

/** What a task needs from the worker it runs in. */
export interface TaskHost {
  readonly jobName: string
  readonly attempt: number
  readonly checkpointing: boolean
  readonly exactlyOnce: boolean
  /** With unaligned checkpoints on: how long alignment may take before switching to unaligned (0: off). */
  readonly alignedTimeoutMs: number
  readonly stateBackend: BackendSettings
  /** Schedules the run loop: something became runnable. */
  wake(): void
  requestSplit(vertex: number, subtask: number): void
  /** All input consumed and end of partition sent. */
  taskEnded(task: Task): void
  taskFinished(task: Task): void
  /** The synchronous phase of checkpoint `id` is done; `complete` runs the asynchronous phase. */
  snapshotTaken(task: Task, barrier: CheckpointBarrier, snapshot: () => Promise<TaskSnapshot>, timing: { syncMs: number; alignmentMs: number; operatorState?: Record<string, OperatorStateSnapshot>; stateUids?: string[] }, channelStateReady: Promise<void> | null): void
  declineCheckpoint(task: Task, checkpointId: number, reason: string): void
}

type TaskState = 'running' | 'ended' | 'finished' | 'failed' | 'canceled'

/** Prefix of a decline that is not the checkpoint's fault (Flink's CHECKPOINT_DECLINED_TASK_CLOSING): not counted as a failure. */
export const TASK_NOT_RUNNING = 'TASK_NOT_RUNNING'

/** Per-record hand-off to the next operator of the chain. */
class ChainingOutput implements Collector<unknown> {
  constructor(private readonly next: StreamOperator<unknown, unknown>) {}
  collect(record: unknown): void {
    this.next.processElement(record)
  }
}

class BroadcastingOutput implements Collector<unknown> {
  constructor(private readonly outputs: readonly Collector<unknown>[]) {}
  collect(record: unknown): void {
    for (const o of this.outputs) o.collect(record)
  }
}

class CountingOutput implements Collector<unknown> {
  count = 0
  constructor(private readonly next: Collector<unknown>) {}
  collect(record: unknown): void {
    this.count++
    this.next.collect(record)
  }
}

const DISCARD: Collector<unknown> = { collect() {} }

interface KeyedOperatorRuntime {
  readonly uid: string
  readonly operator: StreamOperator<unknown, unknown>
  readonly backend: KeyedStateBackend
  readonly timers: ProcessingTimeTimers
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
  private sourceOutput: CountingOutput | null = null
  private sourceWaiting = false
  /** A source that took a stop-with-savepoint barrier reads no more. */
  private suspended = false
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
  readonly location: TaskLocation

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
    const tailOutput: Collector<unknown> = writers.length === 0 ? DISCARD : writers.length === 1 ? writers[0]! : new BroadcastingOutput(writers)
    let output = tailOutput
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
    }
    if (isSource) {
      this.sourceOutput = new CountingOutput(output)
      this.sourceUid = vertex.uids[0]!
      this.reader = (headT as SourceTransformation).source.createReader(this.readerContext())
    } else {
      this.head = this.operators[0]!
    }
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
  }

  get recordsOut(): number {
    return this.sourceOutput?.count ?? 0
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
      if (barrier.stop) this.suspended = true
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
      for (const op of this.operators) op.notifyCheckpointAborted?.(checkpointId)
    })
  }

  /** Stop with savepoint: the savepoint completed (and was notified); close without ending the input. */
  stopNow(): void {
    this.post(() => {
      if (this.state !== 'running' && this.state !== 'ended') return
      this.clearTimer()
      for (const op of this.operators) op.close()
      this.reader?.close()
      this.state = 'finished'
      this.disposeBackends()
      this.host.taskFinished(this)
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
      if (this.state !== 'ended') return
      for (const op of this.operators) op.close()
      this.reader?.close()
      this.state = 'finished'
      this.disposeBackends()
      this.host.taskFinished(this)
    })
  }

  /** One bounded piece of work; false when there was nothing this task could do now. */
  step(): boolean {
    if (this.state !== 'running' && this.state !== 'ended') return false
    if (this.mail.length > 0) {
      const action = this.mail.shift()!
      action()
      return true
    }
    if (this.state !== 'running') return false
    if (this.timersDue) {
      this.fireTimers()
      return true
    }
    for (const w of this.writers) if (w.isBlocked()) return false
    if (this.reader !== null) return this.suspended ? false : this.pollSource()
    return this.processInput()
  }

  /** Sends partly filled batches and lets sinks write what they gathered. */
  flush(): void {
    if (this.state !== 'running') return
    for (const op of this.operators) op.onIdle()
    for (const w of this.writers) w.flush()
  }

  fail(): void {
    this.state = 'failed'
    this.clearTimer()
    this.clearAlignmentTimer()
    this.disposeBackends()
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
        const recording = this.recording
        if (recording !== null && recording.active.has(index)) {
          const into = recording.inputs.get(index)!
          for (let i = 0; i < item.length; i++) into.push(item[i])
        }
        const head = this.head!
        if (channel.inputIndex === 1) {
          for (let i = 0; i < item.length; i++) head.processElement(item[i])
        } else {
          for (let i = 0; i < item.length; i++) head.processElement2!(item[i])
        }
        channel.release(item)
      } else if (item.type === 'barrier') {
        this.barriers!.onBarrier(index, item)
        this.armAlignmentTimeout()
      } else if (item.type === 'end-of-partition') {
        channel.blocked = true
        this.barriers!.onEndOfPartition(index)
        if (++this.endedChannels === n) this.endOfInput()
      }
      return true
    }
    return false
  }

  /** All input consumed: let operators finish (head first), send end of partition, wait for finish. */
  private endOfInput(): void {
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
    const captures = this.keyed.map((k) => ({ uid: k.uid, backend: k.backend, capture: k.backend.captureSnapshot(barrier.id, { savepoint: barrier.isSavepoint }), timers: this.timerSnapshot(k) }))
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
    const uids = this.operatorUids
    const sourceUid = this.sourceUid
    this.host.snapshotTaken(this, barrier, async () => {
      const operators: Record<string, OperatorSnapshot> = {}
      const entry = (uid: string) => (operators[uid] ??= {})
      if (sourceUid !== null && splits !== null) entry(sourceUid).splits = splits
      for (const c of captures) {
        entry(c.uid).keyed = await c.backend.materializeSnapshot(c.capture)
        if (c.timers.length > 0) entry(c.uid).timers = c.timers
      }
      states.forEach((s, i) => {
        if (s !== undefined) entry(uids[i]!).state = s
      })
      return channels ? { version: 1, operators, channels: { inputs: channels.inputs, outputs: channels.outputs } } : { version: 1, operators }
    }, { syncMs, alignmentMs, operatorState, stateUids: this.statefulUids(splits !== null, captures.map((c) => c.uid), states, operatorState) }, ready)
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

  private timerSnapshot(k: KeyedOperatorRuntime): unknown[] {
    const flat: unknown[] = []
    for (const t of k.timers.all()) flat.push(assignToKeyGroup(t.key, this.vertex.maxParallelism), t.time, t.key)
    return flat
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
      for (const snapshot of r.keyed) k.backend.restore(snapshot, range)
      for (const flat of r.timers) {
        for (let i = 0; i < flat.length; i += 3) {
          const kg = flat[i] as number
          if (kg < range.start || kg > range.end) continue
          k.backend.setCurrentKey(flat[i + 2])
          k.timers.register(flat[i + 1] as number, k.backend.currentKey, k.backend.currentMapKey)
        }
      }
      this.armTimer(k.timers.nextTime())
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
        if (records) for (const r of records) c.add(r)
      }
    }
  }

  private fireTimers(): void {
    this.timersDue = false
    const now = Date.now()
    for (const k of this.keyed) {
      for (let t = k.timers.pollDue(now); t !== undefined; t = k.timers.pollDue(now)) {
        k.backend.setCurrentKey(t.key)
        k.operator.onProcessingTime!(t.time)
      }
    }
    this.armedFor = Infinity
    this.armTimer(this.nextTimerTime())
  }

  private nextTimerTime(): number {
    let next = Infinity
    for (const k of this.keyed) next = Math.min(next, k.timers.nextTime())
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
    if (keyed) {
      backend = createKeyedStateBackend(this.host.stateBackend, { maxParallelism: this.vertex.maxParallelism, operatorUid: uid, subtaskIndex: this.subtaskIndex })
      const timers = new ProcessingTimeTimers()
      this.keyed.push({ uid, operator, backend, timers })
      const b = backend
      timerService = {
        currentProcessingTime: () => Date.now(),
        registerProcessingTimeTimer: (time: number) => {
          if (timers.register(time, b.currentKey, b.currentMapKey)) this.armTimer(time)
        },
        deleteProcessingTimeTimer: (time: number) => timers.delete(time, b.currentMapKey),
      }
    }
    const vertex = this.vertex
    const keyedState = <D extends StateDescriptor>(descriptor: D): StateFor<D> => {
      if (!backend) throw new UserError('WEIR_INVALID_JOB', `state '${descriptor.name}' in '${t.name}': keyed state is only available on a keyed stream; call keyBy(...) first`)
      return backend.getState(descriptor)
    }
    const runtimeContext: RuntimeContext = {
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
    return { location, runtimeContext, keyedBackend: backend, timerService, checkpointing: this.host.checkpointing }
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
