// The input side of a task with input channels: takes one item per step from the next
// non-blocked channel (round robin), hands records to the chain's head with their timestamps,
// watermarks to the valve, barriers to the barrier handler, and counts ended partitions.
// During an unaligned checkpoint it also records the in-flight records of the channels whose
// barrier has not arrived yet (the checkpoint's channel state).
//
// This is the hot path of every non-source task: one call per batch, a plain loop over the
// batch's flat (record, timestamp) pairs, no closure or allocation per record.

import type { StreamOperator, RecordTime } from '../../operators/operator.ts'
import type { InputChannel } from '../network/channels.ts'
import { WATERMARK_TAG } from '../network/events.ts'
import type { WatermarkValve } from './watermark-valve.ts'
import type { BarrierHandler } from './barrier-handler.ts'

/** What the input processor reports back to its task. */
export interface InputEvents {
  /** A barrier was taken from a channel (the task may arm its alignment timeout). */
  barrierTaken(): void
  /** Every input channel has ended. */
  allInputsEnded(): void
}

/** In-flight records of an unaligned checkpoint, by input channel index. */
interface ChannelRecording {
  readonly id: number
  readonly inputs: Map<number, unknown[]>
  /** Channels whose barrier has not arrived yet: what they deliver is in flight. */
  readonly active: Set<number>
  resolve: () => void
}

export class InputProcessor {
  /** Records (not watermarks) taken from the input channels. */
  recordsIn = 0
  private nextChannel = 0
  private endedChannels = 0
  private recording: ChannelRecording | null = null

  constructor(
    private readonly inputs: InputChannel[],
    private readonly head: StreamOperator<unknown, unknown>,
    private readonly valve: WatermarkValve,
    private readonly barriers: BarrierHandler,
    private readonly time: RecordTime,
    private readonly events: InputEvents,
  ) {}

  /** Processes one item of one channel; false when no channel had anything to take. */
  processInput(): boolean {
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
        const head = this.head
        const time = this.time
        const second = channel.inputIndex === 2
        for (let i = 0; i < item.length; i += 2) {
          const ts = item[i + 1] as number | string
          if (ts === WATERMARK_TAG) {
            this.recordsIn--
            this.valve.onWatermark(index, item[i] as number)
            continue
          }
          time.value = ts as number
          if (second) head.processElement2!(item[i])
          else head.processElement(item[i])
        }
        channel.release(item)
      } else if (item.type === 'barrier') {
        this.barriers.onBarrier(index, item)
        this.events.barrierTaken()
      } else if (item.type === 'watermark-status') {
        this.valve.onStatus(index, item.idle)
      } else if (item.type === 'end-of-partition') {
        channel.blocked = true
        this.valve.onEnd(index)
        this.barriers.onEndOfPartition(index)
        if (++this.endedChannels === n) this.events.allInputsEnded()
      }
      return true
    }
    return false
  }

  /**
   * Starts recording the in-flight records of unaligned checkpoint `id`: those of every
   * channel not in `done` until its barrier arrives. Returns when the recording is complete
   * and a view of the records by channel id, read in the checkpoint's asynchronous phase.
   */
  startRecording(id: number, done: ReadonlySet<number>): { ready: Promise<void>; inputsById: () => Record<string, unknown[]> } {
    const inputs = new Map<number, unknown[]>()
    const active = new Set<number>()
    this.inputs.forEach((_input, index) => {
      inputs.set(index, [])
      if (!done.has(index)) active.add(index)
    })
    const recording: ChannelRecording = { id, inputs, active, resolve: () => {} }
    const ready = new Promise<void>((resolve) => (recording.resolve = resolve))
    this.recording = recording
    const channels = this.inputs
    return {
      ready,
      inputsById: () => {
        const byId: Record<string, unknown[]> = {}
        for (const [index, records] of inputs) if (records.length > 0) byId[channels[index]!.id] = records
        return byId
      },
    }
  }

  /** Barrier `id` reached input channel `index`: what is still queued before it is in flight. */
  recordInFlight(index: number, id: number): void {
    const recording = this.recording
    if (recording === null || recording.id !== id) return
    const into = recording.inputs.get(index)!
    for (const r of this.inputs[index]!.takeInFlightBefore(id)) into.push(r)
    recording.active.delete(index)
  }

  /** Every barrier of the recorded checkpoint arrived (or, with `id`, that checkpoint was aborted). */
  completeRecording(id?: number): void {
    if (this.recording === null || (id !== undefined && this.recording.id !== id)) return
    this.recording.resolve()
    this.recording = null
  }
}
