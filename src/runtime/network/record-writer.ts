// Record writers: the end of a task's operator chain for one outgoing edge. Each picks the
// channel(s) for a record according to the edge's partitioner. One class per partitioner,
// so that each collect() call site stays monomorphic.

import type { Collector } from '../../api/functions.ts'
import type { KeySelector } from '../../api/functions.ts'
import type { PartitionerSpec } from '../../graph/transformation.ts'
import { assignToKeyGroup, operatorIndexForKeyGroup } from '../../state/key-groups.ts'
import type { OutputChannel } from './channels.ts'
import { NO_TIMESTAMP, type ChannelEvent } from './events.ts'
import type { RecordTime } from '../../operators/operator.ts'

export abstract class RecordWriter implements Collector<unknown> {
  /** The timestamp of the record being emitted; the task shares its cell with every writer. */
  time: RecordTime = { value: NO_TIMESTAMP }
  /** How many channels each record goes to (broadcast: all), for counting records once. */
  get fanOut(): number {
    return 1
  }

  constructor(readonly channels: readonly OutputChannel[]) {}

  abstract collect(record: unknown): void

  /** A watermark goes to every channel, in order with the records. */
  emitWatermark(time: number): void {
    for (const c of this.channels) c.addWatermark(time)
  }

  flush(): void {
    for (const c of this.channels) c.flush()
  }

  broadcastEvent(event: ChannelEvent): void {
    for (const c of this.channels) c.sendEvent(event)
  }

  isBlocked(): boolean {
    for (const c of this.channels) if (c.isBlocked()) return true
    return false
  }
}

class ForwardWriter extends RecordWriter {
  private readonly channel: OutputChannel
  constructor(channels: readonly OutputChannel[]) {
    super(channels)
    this.channel = channels[0]!
  }
  collect(record: unknown): void {
    this.channel.add(record, this.time.value)
  }
}

/** Everything to the first subtask; events still reach every subtask. */
class GlobalWriter extends RecordWriter {
  collect(record: unknown): void {
    this.channels[0]!.add(record, this.time.value)
  }
}

class RebalanceWriter extends RecordWriter {
  private next: number
  constructor(channels: readonly OutputChannel[], start: number) {
    super(channels)
    this.next = start % channels.length
  }
  collect(record: unknown): void {
    this.channels[this.next]!.add(record, this.time.value)
    if (++this.next === this.channels.length) this.next = 0
  }
}

class BroadcastWriter extends RecordWriter {
  override get fanOut(): number {
    return this.channels.length
  }
  collect(record: unknown): void {
    const ts = this.time.value
    for (const c of this.channels) c.add(record, ts)
  }
}

class KeyGroupWriter extends RecordWriter {
  constructor(channels: readonly OutputChannel[], private readonly keySelector: KeySelector<unknown, unknown>, private readonly maxParallelism: number) {
    super(channels)
  }
  collect(record: unknown): void {
    const keyGroup = assignToKeyGroup(this.keySelector(record), this.maxParallelism)
    this.channels[operatorIndexForKeyGroup(this.maxParallelism, this.channels.length, keyGroup)]!.add(record, this.time.value)
  }
}

/**
 * A writer for an edge. `channels` holds one channel per downstream subtask (or the single
 * channel of a forward edge), in subtask order.
 */
export function createRecordWriter(spec: PartitionerSpec, channels: readonly OutputChannel[], subtaskIndex: number, downstreamMaxParallelism: number): RecordWriter {
  switch (spec.type) {
    case 'forward':
      return new ForwardWriter(channels)
    case 'global':
      return new GlobalWriter(channels)
    case 'rebalance':
    case 'rescale':
      return new RebalanceWriter(channels, subtaskIndex)
    case 'broadcast':
      return new BroadcastWriter(channels)
    case 'hash':
      // One downstream subtask owns every key group: no need to hash.
      if (channels.length === 1) return new ForwardWriter(channels)
      return new KeyGroupWriter(channels, spec.keySelector, downstreamMaxParallelism)
  }
}
