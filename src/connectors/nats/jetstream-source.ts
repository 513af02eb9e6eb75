// A NATS JetStream source. Each split reads one subject filter of a stream (or the whole stream)
// through an ordered consumer, starting at a stored stream sequence; the split's position (the
// sequence after the last message emitted) is what a checkpoint stores, so a restore rewinds to
// exactly the next message. Messages are fetched in batches into a bounded buffer and emitted
// synchronously by pollNext. Continuous by default; `bounded` reads up to the last message the
// stream held when the job started. A record's timestamp is its message's JetStream timestamp
// (when the stream stored it); a WatermarkStrategy given to fromSource runs once per split.

import type * as NatsTransport from '@nats-io/transport-node'
import type { NatsConnection } from '@nats-io/transport-node'
import type * as JetStream from '@nats-io/jetstream'
import type { Consumer, JsMsg } from '@nats-io/jetstream'
import { lazyPackage } from '../../io/lazy-package.ts'
import { InputStatus, type ReaderOutput, type Source, type SourceReader, type SourceReaderContext, type SplitEnumerator, type SplitEnumeratorContext } from '../../api/source.ts'
import { WeirError } from '../../errors.ts'
import { readReplySubject, type MessagePosition } from './reply-subject.ts'
import { checkName, checkPositive, checkServers, type JetStreamSourceOptions, type NatsMessageInfo } from './options.ts'

/** The NATS client packages, loaded when a job first connects (lazy-package.ts). */
const natsTransport = lazyPackage<typeof NatsTransport>('@nats-io/transport-node')
export const jetStreamPackage = lazyPackage<typeof JetStream>('@nats-io/jetstream')

export interface JetStreamSplit {
  readonly id: string
  readonly stream: string
  /** Subject filter, or null for the whole stream. */
  readonly subject: string | null
  /** The stream sequence of the next message to emit. */
  nextSeq: number
  /** Bounded: the last stream sequence to read (null: continuous; 0: nothing to read). Set when a bounded job opens a split without one. */
  endSeq: number | null
  /** Set instead of a real split when the stream could not be read: the reader fails with it. */
  readonly failure?: string
}

/** Unassigned splits; null until the stream was asked for them (a restore then asks again). */
export type JetStreamEnumeratorState = { readonly splits: JetStreamSplit[] | null }

const decoder = new TextDecoder()
const EMIT_PER_POLL = 4096
const NO_INFO: NatsMessageInfo = { subject: '', seq: 0, timestamp: 0 }

export class JetStreamSource<T = string> implements Source<T, JetStreamSplit, JetStreamEnumeratorState> {
  readonly boundedness
  readonly servers: string[]
  /**
   * One reader per split at most: a reader without a split of a continuous stream would hold
   * every event-time window downstream back (it has no watermark), so the source's default
   * parallelism is capped at its number of subject filters (1 for the whole stream).
   */
  readonly maxParallelism: number
  private readonly fetchMessages: number
  constructor(private readonly options: JetStreamSourceOptions<T>) {
    const where = 'JetStreamSource'
    this.servers = checkServers(where, options.servers)
    checkName(where, 'stream', options.stream)
    if (options.subjects !== undefined && (!Array.isArray(options.subjects) || options.subjects.length === 0)) throw new WeirError('WEIR_INVALID_ARGUMENT', `${where}: subjects must be a non-empty list of subject filters`, { domain: 'user' })
    if (options.startSequence !== undefined) checkPositive(where, 'startSequence', options.startSequence, 1)
    this.fetchMessages = checkPositive(where, 'fetchMessages', options.fetchMessages, 10_000)
    this.boundedness = options.bounded ? ('bounded' as const) : ('continuous' as const)
    this.maxParallelism = options.subjects?.length ?? 1
  }

  createEnumerator(ctx: SplitEnumeratorContext<JetStreamSplit>, restored?: JetStreamEnumeratorState): SplitEnumerator<JetStreamSplit, JetStreamEnumeratorState> {
    return new JetStreamEnumerator(ctx, this.servers, this.options, restored)
  }

  createReader(ctx: SourceReaderContext): SourceReader<T, JetStreamSplit> {
    return new JetStreamReader<T>(ctx, this.servers, this.options.deserialize, this.fetchMessages, this.boundedness === 'bounded')
  }
}

/**
 * Makes the splits once it has asked the server for the stream (does it exist, what is its last
 * sequence), and answers split requests that came meanwhile then. If the stream cannot be read,
 * requests are answered with a split that carries the failure, which fails the reader's task
 * (and so the job's attempt, which the restart strategy may retry).
 */
class JetStreamEnumerator<T> implements SplitEnumerator<JetStreamSplit, JetStreamEnumeratorState> {
  private queue: JetStreamSplit[] | null
  private readonly waiting: number[] = []
  private failure: string | null = null

  constructor(private readonly ctx: SplitEnumeratorContext<JetStreamSplit>, private readonly servers: string[], private readonly options: JetStreamSourceOptions<T>, restored?: JetStreamEnumeratorState) {
    this.queue = restored?.splits ? [...restored.splits] : null
  }

  async start(): Promise<void> {
    if (this.queue !== null) return
    try {
      this.queue = await this.discover()
    } catch (e) {
      this.failure = (e as Error).message
    }
    for (const subtask of this.waiting.splice(0)) this.handleSplitRequest(subtask)
  }

  private async discover(): Promise<JetStreamSplit[]> {
    const nc = await connectTo(this.servers, 'JetStreamSource')
    try {
      const jsm = await jetStreamPackage().jetstreamManager(nc)
      let lastSeq: number
      try {
        lastSeq = (await jsm.streams.info(this.options.stream)).state.last_seq
      } catch (e) {
        throw new Error(`JetStreamSource: stream '${this.options.stream}' cannot be read at ${this.servers.join(',')}: ${(e as Error).message}`)
      }
      return (this.options.subjects ?? [null]).map((subject) => ({
        id: `${this.options.stream}:${subject ?? '>'}`, stream: this.options.stream, subject,
        nextSeq: this.options.startSequence ?? 1, endSeq: this.options.bounded ? lastSeq : null,
      }))
    } finally {
      await nc.close().catch(() => {})
    }
  }

  handleSplitRequest(subtask: number): void {
    if (this.failure !== null) return this.ctx.assignSplit({ id: 'failed', stream: this.options.stream, subject: null, nextSeq: 0, endSeq: 0, failure: this.failure }, subtask)
    if (this.queue === null) {
      if (!this.waiting.includes(subtask)) this.waiting.push(subtask)
      return
    }
    const next = this.queue.shift()
    if (next === undefined) this.ctx.signalNoMoreSplits(subtask)
    else this.ctx.assignSplit(next, subtask)
  }

  addSplitsBack(splits: JetStreamSplit[]): void {
    this.queue?.unshift(...splits)
  }

  addReader(): void {}

  snapshotState(): JetStreamEnumeratorState {
    return { splits: this.queue ? [...this.queue] : null }
  }

  close(): void {}
}

/** One split being read: its position, its buffer of fetched messages, its fetch loop. */
class SplitReader {
  readonly buffer: JsMsg[] = []
  /** Each buffered message's stream sequence and timestamp (ms), read once when it arrived. */
  readonly seqs: number[] = []
  readonly times: number[] = []
  private readonly position: MessagePosition = { seq: 0, timestampMs: 0, pending: 0 }
  head = 0
  done = false
  failure: WeirError | null = null
  /** Where this split's records go (its own watermark generator); set on the first poll. */
  output: ReaderOutput<unknown> | null = null
  released = false
  private closed = false
  private fetching = false
  private consumer: Consumer | null = null

  private nc: NatsConnection | null = null

  /** `endAtLatest`: a bounded job's split without an end (restored from a continuous run) ends at the stream's last message. */
  constructor(readonly split: JetStreamSplit, connection: Promise<NatsConnection>, private readonly fetchMessages: number, private readonly wake: () => void, private endAtLatest = false) {
    connection.then((nc) => {
      this.nc = nc
      this.fill()
    }, () => {})
    if (split.endSeq !== null && split.nextSeq > split.endSeq) this.done = true
  }

  get buffered(): number {
    return this.buffer.length - this.head
  }

  /** Keeps the buffer filled: one fetch at a time, another once it drained below one fetch's worth. */
  fill(): void {
    if (this.nc === null || this.fetching || this.closed || this.done || this.failure || this.buffered >= this.fetchMessages) return
    this.fetching = true
    void this.fetchOnce().then(
      (got) => {
        this.fetching = false
        if (got > 0 || this.done) this.wake()
        this.fill()
      },
      (e: unknown) => {
        this.fetching = false
        this.failure = new WeirError('WEIR_SOURCE_FAILED', `JetStreamSource: reading stream '${this.split.stream}' (${this.split.subject ?? 'all subjects'}) from sequence ${this.split.nextSeq} failed: ${(e as Error).message}`, { cause: e, domain: 'external', retriable: true })
        this.wake()
      },
    )
  }

  private async fetchOnce(): Promise<number> {
    if (this.endAtLatest) {
      const info = await (await jetStreamPackage().jetstreamManager(this.nc!)).streams.info(this.split.stream)
      this.split.endSeq = info.state.last_seq
      this.endAtLatest = false
      if (this.split.nextSeq > this.split.endSeq) {
        this.done = true
        return 0
      }
    }
    if (!this.consumer) {
      const js = jetStreamPackage().jetstream(this.nc!)
      const from = this.buffered > 0 ? this.seqs[this.seqs.length - 1]! + 1 : this.split.nextSeq
      this.consumer = await js.consumers.get(this.split.stream, {
        deliver_policy: jetStreamPackage().DeliverPolicy.StartSequence, opt_start_seq: from,
        ...(this.split.subject !== null ? { filter_subjects: this.split.subject } : {}),
      })
      if (this.split.endSeq !== null) {
        const info = await this.consumer.info(true)
        if (info.num_pending === 0) {
          this.done = true
          return 0
        }
      }
    }
    const messages = await this.consumer.fetch({ max_messages: this.fetchMessages, expires: 1000 })
    let got = 0
    for await (const m of messages) {
      if (this.closed) break
      const at = this.position
      // The client's message has its reply subject, though its type does not say so.
      if (!readReplySubject((m as JsMsg & { readonly reply?: string }).reply ?? '', at)) {
        const info = m.info
        at.seq = info.streamSequence
        at.timestampMs = Math.floor(info.timestampNanos / 1_000_000)
        at.pending = info.pending
      }
      if (this.split.endSeq !== null && at.seq > this.split.endSeq) {
        this.done = true
        break
      }
      this.buffer.push(m)
      this.seqs.push(at.seq)
      this.times.push(at.timestampMs)
      got++
      if (this.split.endSeq !== null && (at.seq >= this.split.endSeq || at.pending === 0)) {
        this.done = true
        break
      }
    }
    return got
  }

  /** Drops the emitted part of the buffer now and then, so it does not grow. */
  compact(): void {
    if (this.head > 0 && this.head >= this.buffer.length / 2) {
      this.buffer.splice(0, this.head)
      this.seqs.splice(0, this.head)
      this.times.splice(0, this.head)
      this.head = 0
    }
  }

  close(): void {
    this.closed = true
  }
}

class JetStreamReader<T> implements SourceReader<T, JetStreamSplit> {
  private nc: NatsConnection | null = null
  private connecting: Promise<NatsConnection> | null = null
  private readonly splits: SplitReader[] = []
  private noMoreSplits = false
  private requested = false
  private failure: WeirError | null = null

  /** The default deserializer ignores the message's info: no object per message for it. */
  private readonly wantsInfo: boolean
  private readonly deserialize: (data: Uint8Array, info: NatsMessageInfo) => T

  constructor(private readonly ctx: SourceReaderContext, private readonly servers: string[], deserialize: ((data: Uint8Array, info: NatsMessageInfo) => T) | undefined, private readonly fetchMessages: number, private readonly bounded: boolean) {
    this.wantsInfo = deserialize !== undefined
    this.deserialize = deserialize ?? ((data) => decoder.decode(data) as T)
  }

  start(): void {
    this.request()
  }

  private request(): void {
    if (this.requested || this.noMoreSplits) return
    this.requested = true
    this.ctx.sendSplitRequest()
  }

  addSplits(splits: JetStreamSplit[]): void {
    this.requested = false
    if (this.connecting === null) {
      this.connecting = connectTo(this.servers, 'JetStreamSource')
      this.connecting.then((nc) => (this.nc = nc), (e: unknown) => {
        this.failure = e instanceof WeirError ? e : new WeirError('WEIR_SOURCE_FAILED', String(e), { domain: 'external', retriable: true })
        this.ctx.signalAvailable()
      })
    }
    for (const s of splits) if (s.failure !== undefined) this.failure = new WeirError('WEIR_SOURCE_FAILED', s.failure, { domain: 'external', retriable: true })
    // Added at once (not when connected): a checkpoint taken meanwhile must store these splits.
    // Boundedness is the job's configuration, not the checkpoint's: a split restored from a run
    // of the other kind takes this job's (a bounded job reads up to the stream's last message
    // when the split is opened; a continuous one reads on past a stored end).
    for (const s of splits) {
      if (s.failure !== undefined) continue
      const split: JetStreamSplit = this.bounded ? { ...s } : { ...s, endSeq: null }
      this.splits.push(new SplitReader(split, this.connecting, this.fetchMessages, () => this.ctx.signalAvailable(), this.bounded && split.endSeq === null))
    }
    this.ctx.signalAvailable()
  }

  notifyNoMoreSplits(): void {
    this.requested = false
    this.noMoreSplits = true
    this.ctx.signalAvailable()
  }

  pollNext(output: ReaderOutput<T>): InputStatus {
    if (this.failure) throw this.failure
    let emitted = 0
    let open = 0
    const deserialize = this.deserialize
    const wantsInfo = this.wantsInfo
    for (const r of this.splits) {
      if (r.failure) throw r.failure
      const split = r.split
      const buffer = r.buffer
      const seqs = r.seqs
      const times = r.times
      // Each split emits through its own output, so that a WatermarkStrategy runs per split (as
      // per partition in Flink's Kafka source) and the reader's watermark is their minimum.
      const out = (r.output ??= output.createOutputForSplit?.(split.id) ?? output)
      while (r.head < buffer.length && emitted < EMIT_PER_POLL) {
        const i = r.head++
        const m = buffer[i]!
        const seq = seqs[i]!
        const timestamp = times[i]!
        split.nextSeq = seq + 1
        out.collect(wantsInfo ? deserialize(m.data, { subject: m.subject, seq, timestamp }) : deserialize(m.data, NO_INFO), timestamp)
        emitted++
      }
      r.compact()
      if (r.buffered === 0 && r.done) {
        if (!r.released) {
          r.released = true
          output.releaseOutputForSplit?.(split.id)
        }
        continue
      }
      open++
      r.fill()
    }
    if (emitted > 0) return InputStatus.MORE_AVAILABLE
    // A continuous reader without splits stays idle (not finished), as Flink's do.
    if (open === 0 && this.noMoreSplits && this.bounded) return InputStatus.END_OF_INPUT
    if (!this.noMoreSplits) this.request()
    return InputStatus.NOTHING_AVAILABLE
  }

  snapshotState(): JetStreamSplit[] {
    return this.splits.map((r) => ({ ...r.split }))
  }

  close(): void {
    for (const r of this.splits) r.close()
    void this.nc?.close().catch(() => {})
  }
}

export async function connectTo(servers: string[], where: string): Promise<NatsConnection> {
  try {
    return await natsTransport().connect({ servers, name: 'weir' })
  } catch (e) {
    throw new WeirError('WEIR_SOURCE_FAILED', `${where}: cannot connect to NATS at ${servers.join(',')}: ${(e as Error).message}`, { cause: e, domain: 'external', retriable: true })
  }
}
