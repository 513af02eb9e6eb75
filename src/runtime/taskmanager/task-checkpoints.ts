// A task's part in checkpoints: the barrier handler that aligns its input channels (or lets
// barriers overtake records, unaligned), the alignment timeout that turns a slow aligned
// checkpoint unaligned, and the synchronous phase itself: capture the chain's state, forward the
// barrier, hand the capture to the host, whose snapshot writer serializes and writes it while the
// task keeps processing. task.ts decides when (its mail, its lifecycle); this file does what.

import type { RecordWriter } from '../network/record-writer.ts'
import type { InputChannel } from '../network/channels.ts'
import type { CheckpointBarrier } from '../network/events.ts'
import { BarrierHandler } from './barrier-handler.ts'
import type { ChannelState } from './task-snapshot.ts'
import type { TaskHost } from './task-host.ts'
import type { InputProcessor } from './input-processor.ts'
import type { TaskTimers } from './task-timers.ts'
import { captureChain, materializeChain, statefulUids, type ChainParts } from './chain-state.ts'
import type { Task } from './task.ts'

/** What a task's checkpoints use of the task. */
export interface TaskCheckpointParts {
  readonly task: Task
  readonly host: TaskHost
  readonly inputs: readonly InputChannel[]
  readonly writers: readonly RecordWriter[]
  readonly chain: ChainParts
  readonly timers: TaskTimers
  /** The task's input processor (built after the barrier handler, which it needs). */
  input(): InputProcessor | null
}

export class TaskCheckpoints {
  /** Aligns barriers across the input channels (tasks with inputs). */
  readonly barriers: BarrierHandler | null
  /** Of the latest checkpoint this task took part in. */
  lastAlignmentMs = 0
  lastStartDelayMs = 0

  constructor(private readonly p: TaskCheckpointParts) {
    const { task, host, inputs } = p
    this.barriers = inputs.length > 0
      ? new BarrierHandler({
          blockChannel: (c) => (inputs[c]!.blocked = true),
          unblockAllChannels: () => {
            for (const input of inputs) input.blocked = false
            host.wake()
          },
          snapshotAndForward: (barrier, alignmentMs) => this.take(barrier, alignmentMs, null),
          snapshotUnaligned: (barrier, done, alignmentMs) => this.take(barrier, alignmentMs, done),
          barrierReachedChannel: (channel, id) => p.input()!.recordInFlight(channel, id),
          isBarrierQueued: (channel, id) => inputs[channel]!.hasBarrierQueued(id),
          channelStateComplete: () => p.input()!.completeRecording(),
          abortCheckpoint: (id, reason) => {
            p.input()!.completeRecording(id)
            host.declineCheckpoint(task, id, reason)
          },
          now: () => performance.now(),
        }, inputs.length, host.exactlyOnce)
      : null
    const barriers = this.barriers
    if (barriers !== null && host.exactlyOnce) {
      // Unaligned barriers jump the queue: they are taken on the task's next turn.
      inputs.forEach((input, index) => {
        input.onPriorityBarrier = (barrier) => task.post(() => {
          if (task.state === 'running') barriers.onPriorityBarrier(index, barrier)
        })
      })
    }
  }

  /**
   * Synchronous phase of a checkpoint: capture every operator's state, then forward the barrier
   * (behind all records emitted before it; or, unaligned, ahead of them, keeping them as
   * channel state). Serializing and writing happen afterwards, in the host, while the task
   * keeps processing. `unalignedDone` (unaligned only) lists input channels whose barrier
   * already arrived in order, so that they have no in-flight records.
   */
  take(barrier: CheckpointBarrier, alignmentMs: number, unalignedDone: ReadonlySet<number> | null): void {
    const { task, chain } = this.p
    const started = performance.now()
    this.p.timers.clearAlignment()
    const capture = captureChain(chain, barrier)
    let channels: ChannelState | null = null
    let ready: Promise<void> | null = null
    if (unalignedDone !== null) {
      const outputs: Record<string, unknown[]> = {}
      if (task.state === 'running') for (const w of this.p.writers) for (const c of w.channels) outputs[c.id] = c.sendPriorityEvent(barrier)
      // A source has no input channels: its channel state (the overtaken output) is complete at once.
      const recording = this.p.input()?.startRecording(barrier.id, unalignedDone) ?? null
      ready = recording?.ready ?? null
      channels = {
        outputs,
        get inputs() {
          return recording ? recording.inputsById() : {}
        },
      }
    } else if (task.state === 'running') {
      for (const w of this.p.writers) w.broadcastEvent(barrier)
    }
    const syncMs = performance.now() - started
    this.lastAlignmentMs = alignmentMs
    // The first barrier arrived when alignment began, alignmentMs before the snapshot started.
    this.lastStartDelayMs = Math.max(0, Date.now() - syncMs - alignmentMs - barrier.timestamp)
    this.p.host.snapshotTaken(task, barrier, () => materializeChain(chain, capture, channels),
      { syncMs, alignmentMs, startDelayMs: this.lastStartDelayMs, unaligned: unalignedDone !== null, operatorState: capture.operatorState, stateUids: statefulUids(chain, capture) },
      ready)
  }

  /** With an aligned-checkpoint timeout, an alignment that takes too long becomes unaligned. */
  armAlignmentTimeout(): void {
    const { task, host, timers } = this.p
    const barriers = this.barriers!
    const timeout = host.alignedTimeoutMs
    const id = barriers.aligningId
    if (timeout <= 0 || id === null) return
    // Measured from the checkpoint's start, as in Flink: time the barrier spent behind full buffers counts.
    const barrierStart = barriers.aligningTimestamp ?? Date.now()
    timers.armAlignment(barrierStart + timeout, () => task.post(() => {
      if (task.state === 'running') barriers.onAlignmentTimeout(id)
    }))
  }
}
