// Both ends of a network channel (one upstream subtask to one downstream subtask on one
// edge), with credit-based flow control. The receiver grants a fixed number of credits, one
// per batch it can hold; the sender spends one per batch and gets it back when the receiver
// has processed that batch. A sender without credit keeps its batches in a backlog, which
// blocks its task, so back-pressure travels upstream to the sources and memory stays
// bounded. Events (end of partition, later barriers) need no credit but queue behind any
// backlogged records, so they never overtake them.
//
// Local channels (both subtasks in one thread) hand arrays of records over directly; remote
// channels serialize each batch and move it through the PeerLink to the other slot
// (transport.ts: a MessagePort between threads, a socket between processes). Neither side
// knows which one it has.

import { WATERMARK_TAG, type ChannelEvent, type CheckpointBarrier } from './events.ts'
import { decodeBatch, encodeBatch } from './batch-codec.ts'
import type { PeerLink } from './transport.ts'

/**
 * What moves through a channel: a batch (as objects or bytes) or an event. A batch is flat pairs
 * [record, timestamp, ...], a watermark a pair (time, WATERMARK_TAG) among them (events.ts):
 * timestamps ride beside the records, with no wrapper object per record.
 */
export type ChannelItem = unknown[] | Uint8Array | ChannelEvent

/** The sending end. */
export abstract class OutputChannel {
  /**
   * The batch being filled, up to `filled`; a reused array keeps its length (and its capacity:
   * `length = 0` would drop the backing store, and every batch would grow it again, ~60 bytes of
   * garbage and copies per record), and is cut to `filled` only when sent part full.
   */
  private pending: unknown[]
  private filled = 0
  /** Batch length in array slots: two per record. */
  private readonly batchSlots: number
  private readonly backlog: Array<unknown[] | ChannelEvent> = []
  protected credits: number
  /** Records (not watermarks) and serialized bytes sent so far, counted per batch (metrics). */
  recordsSent = 0
  /** Watermarks in the pending batch: its pairs that are not records. */
  private pendingWatermarks = 0
  bytesSent = 0
  /** Called when a blocked channel becomes writable again. */
  onUnblocked: () => void = () => {}

  constructor(readonly id: number, private readonly batchSize: number, credits: number) {
    this.credits = credits
    this.pending = []
    this.batchSlots = 2 * batchSize
  }

  /** Queues a record with its timestamp (NO_TIMESTAMP when it has none). */
  add(record: unknown, timestamp: number): void {
    const pending = this.pending
    const at = this.filled
    pending[at] = record
    pending[at + 1] = timestamp
    if ((this.filled = at + 2) >= this.batchSlots) this.flush()
  }

  /** Queues a watermark in its place among the records. */
  addWatermark(time: number): void {
    const pending = this.pending
    const at = this.filled
    pending[at] = time
    pending[at + 1] = WATERMARK_TAG
    this.pendingWatermarks++
    if ((this.filled = at + 2) >= this.batchSlots) this.flush()
  }

  /** Sends the partly filled batch, if any (or queues it behind the backlog). */
  flush(): void {
    const filled = this.filled
    if (filled === 0) return
    const batch = this.pending
    if (batch.length !== filled) batch.length = filled
    this.recordsSent += (filled >> 1) - this.pendingWatermarks
    this.pendingWatermarks = 0
    if (this.backlog.length === 0 && this.credits > 0) {
      this.credits--
      this.sendBatch(batch)
    } else {
      this.backlog.push(batch)
    }
    this.pending = this.takeEmptyBatch()
    this.filled = 0
  }

  sendEvent(event: ChannelEvent): void {
    this.flush()
    if (this.backlog.length === 0) this.transmitEvent(event)
    else this.backlog.push(event)
  }

  /**
   * Sends an event ahead of every record not yet sent (an unaligned barrier) and returns those
   * records, in order (as flat [record, timestamp] pairs): they are this channel's in-flight
   * output for the checkpoint. They are still sent afterwards, as usual.
   */
  sendPriorityEvent(event: ChannelEvent): unknown[] {
    const overtaken: unknown[] = []
    for (const item of this.backlog) if (Array.isArray(item)) for (const r of item) overtaken.push(r)
    for (let i = 0; i < this.filled; i++) overtaken.push(this.pending[i])
    this.transmitEvent(event)
    return overtaken
  }

  /** True while batches wait for credit: the task must not produce more. */
  isBlocked(): boolean {
    return this.backlog.length > 0
  }

  /** The receiver returned credit; send what waited for it. */
  protected addCredit(n: number): void {
    this.credits += n
    const backlog = this.backlog
    if (backlog.length === 0) return
    while (backlog.length > 0) {
      const head = backlog[0]!
      if (Array.isArray(head)) {
        if (this.credits === 0) return
        this.credits--
        backlog.shift()
        this.sendBatch(head)
      } else {
        backlog.shift()
        this.transmitEvent(head)
      }
    }
    this.onUnblocked()
  }

  protected abstract sendBatch(batch: unknown[]): void
  protected abstract transmitEvent(event: ChannelEvent): void
  protected abstract takeEmptyBatch(): unknown[]
}

/** The receiving end: a FIFO of batches and events, consumed by the task's input gate. */
export abstract class InputChannel {
  readonly queue: ChannelItem[] = []
  private head = 0
  /** Set while the channel's barrier is aligned (exactly-once) or after its end of partition. */
  blocked = false
  /** Serialized bytes that arrived on this channel (remote channels; metrics). */
  bytesReceived = 0
  /** Set by the input gate: wakes the task when something arrives. */
  onData: () => void = () => {}
  /** Called when an unaligned barrier arrives, before anything queued ahead of it is processed. */
  onPriorityBarrier: ((barrier: CheckpointBarrier) => void) | null = null
  /** Records restored from an unaligned checkpoint, processed before anything that arrives. */
  private readonly restored: unknown[][] = []
  private readonly restoredBatches = new WeakSet<unknown[]>()

  constructor(readonly id: number, readonly inputIndex: 1 | 2) {}

  enqueue(item: ChannelItem): void {
    this.queue.push(item)
    if (this.queue.length - this.head === 1) this.onData()
    if (this.onPriorityBarrier !== null && !Array.isArray(item) && !(item instanceof Uint8Array) && item.type === 'barrier' && item.unaligned) {
      this.onPriorityBarrier(item)
    }
  }

  /** Queues restored in-flight records (flat pairs) ahead of everything else; they carry no credit. */
  prepend(records: unknown[]): void {
    if (records.length === 0) return
    this.restoredBatches.add(records)
    this.restored.push(records)
    this.onData()
  }

  hasItems(): boolean {
    return this.restored.length > 0 || this.head < this.queue.length
  }

  /**
   * The records queued ahead of barrier `id`, as flat pairs (decoded copies; they stay queued and are
   * processed as usual), and removes the barrier itself: for an unaligned snapshot.
   */
  takeInFlightBefore(id: number): unknown[] {
    const records: unknown[] = []
    for (const batch of this.restored) for (const r of batch) records.push(r)
    for (let i = this.head; i < this.queue.length; i++) {
      const item = this.queue[i]!
      if (Array.isArray(item)) {
        for (const r of item) records.push(r)
      } else if (item instanceof Uint8Array) {
        for (const r of decodeBatch(item)) records.push(r)
      } else if (item.type === 'barrier' && item.id === id) {
        this.queue.splice(i, 1)
        return records
      }
    }
    return records
  }

  /** Whether barrier `id` is queued (not yet processed). */
  hasBarrierQueued(id: number): boolean {
    for (let i = this.head; i < this.queue.length; i++) {
      const item = this.queue[i]!
      if (!Array.isArray(item) && !(item instanceof Uint8Array) && item.type === 'barrier' && item.id === id) return true
    }
    return false
  }

  /** Takes the next item; a batch comes back as an array of records, decoded if needed. */
  take(): unknown[] | ChannelEvent {
    if (this.restored.length > 0) return this.restored.shift()!
    const item = this.queue[this.head]!
    this.queue[this.head++] = undefined as unknown as ChannelItem
    if (this.head > 64 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head)
      this.head = 0
    }
    if (item instanceof Uint8Array) return this.decode(item)
    return item
  }

  /** The task processed a batch taken from this channel: give the sender its credit back. */
  release(batch: unknown[]): void {
    if (this.restoredBatches.has(batch)) return
    this.returnCredit(batch)
  }

  protected abstract returnCredit(batch: unknown[]): void

  protected decode(bytes: Uint8Array): unknown[] {
    const records = decodeBatch(bytes)
    this.releaseBytes(bytes)
    return records
  }

  protected releaseBytes(_bytes: Uint8Array): void {}
}

/** A channel whose two ends live in the same thread: arrays move by reference. */
export class LocalChannel {
  readonly output: LocalOutputChannel
  readonly input: LocalInputChannel

  constructor(id: number, inputIndex: 1 | 2, batchSize: number, credits: number) {
    this.input = new LocalInputChannel(id, inputIndex)
    this.output = new LocalOutputChannel(id, batchSize, credits, this.input)
    this.input.sender = this.output
  }
}

export class LocalOutputChannel extends OutputChannel {
  private readonly spare: unknown[][] = []

  constructor(id: number, batchSize: number, credits: number, private readonly receiver: LocalInputChannel) {
    super(id, batchSize, credits)
  }
  protected sendBatch(batch: unknown[]): void {
    this.receiver.enqueue(batch)
  }
  protected transmitEvent(event: ChannelEvent): void {
    this.receiver.enqueue(event)
  }
  protected takeEmptyBatch(): unknown[] {
    return this.spare.pop() ?? []
  }
  /** The receiver hands the processed array back with the credit; it is reused at its length (see `pending`). */
  returnCredit(batch: unknown[]): void {
    // Drop the records (they would otherwise live on in the spare array) but keep the capacity.
    batch.fill(undefined)
    this.spare.push(batch)
    this.addCredit(1)
  }
}

export class LocalInputChannel extends InputChannel {
  sender!: LocalOutputChannel
  protected returnCredit(batch: unknown[]): void {
    this.sender.returnCredit(batch)
  }
}

export class RemoteOutputChannel extends OutputChannel {
  constructor(id: number, batchSize: number, credits: number, private readonly link: PeerLink) {
    super(id, batchSize, credits)
  }
  protected sendBatch(batch: unknown[]): void {
    // encodeBatch returns a view of a reused buffer; the link copies it out.
    const bytes = encodeBatch(batch)
    this.bytesSent += bytes.length
    this.link.sendData(this.id, bytes)
    batch.fill(undefined)
    this.spareBatch = batch
  }
  private spareBatch: unknown[] | null = null
  protected transmitEvent(event: ChannelEvent): void {
    this.link.sendEvent(this.id, event)
  }
  protected takeEmptyBatch(): unknown[] {
    const b = this.spareBatch ?? []
    this.spareBatch = null
    return b
  }
  /** Credit arrived from the remote receiver. */
  receiveCredit(n: number): void {
    this.addCredit(n)
  }
}

export class RemoteInputChannel extends InputChannel {
  constructor(id: number, inputIndex: 1 | 2, private readonly link: PeerLink) {
    super(id, inputIndex)
  }
  protected returnCredit(): void {
    this.link.sendCredit(this.id, 1)
  }
}
