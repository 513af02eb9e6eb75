// A NATS JetStream sink. Each record is published with a message id derived from its origin:
// `<job>:<operator uid>:<subtask>:<run>:<n>`, the n-th record this subtask wrote in this run (a
// run starts with a fresh start of the job and goes on through restores; n is stored in every
// checkpoint). A restore from checkpoint c replays the records after c in the same order, so
// they get the same ids as before the failure and JetStream drops them as duplicates (the id
// cannot be the checkpoint's plus an offset: the replay's checkpoints fall elsewhere than the
// original run's). A fresh start gets a new run, so rerunning a job is not mistaken for a
// replay. Exactly-once, as long
// as (1) the restore happens within the stream's duplicate window (`duplicate_window`, 2 minutes
// by default) and (2) the records reach the sink in a deterministic order (the sink is chained
// to the source, or has one upstream channel) and at the same parallelism. Otherwise the sink is
// at-least-once. A checkpoint waits until every earlier publish is acknowledged.

import type { NatsConnection } from '@nats-io/transport-node'
import type { JetStreamClient } from '@nats-io/jetstream'
import type { Committer, CommittingSinkWriter, SinkWriterContext, TwoPhaseCommittingSink } from '../../api/sink.ts'
import { WeirError } from '../../errors.ts'
import { checkPositive, checkServers, type JetStreamSinkOptions } from './options.ts'
import { connectTo, jetStreamPackage } from './jetstream-source.ts'
import { randomBytes } from 'node:crypto'

const encoder = new TextEncoder()

interface WriterState {
  readonly run: string
  /** Records this subtask wrote in the run before the checkpoint. */
  readonly written: number
}
const NO_COMMITS: Committer<never> = { commit() {}, close() {} }

export class JetStreamSink<T> implements TwoPhaseCommittingSink<T, never> {
  readonly servers: string[]
  private readonly maxInFlight: number
  constructor(private readonly options: JetStreamSinkOptions<T>) {
    this.servers = checkServers('JetStreamSink', options.servers)
    if (typeof options.subject !== 'function' && (typeof options.subject !== 'string' || options.subject === '')) {
      throw new WeirError('WEIR_INVALID_ARGUMENT', `JetStreamSink: subject must be a subject or a function of the record, got ${JSON.stringify(options.subject)}`, { domain: 'user' })
    }
    this.maxInFlight = checkPositive('JetStreamSink', 'maxInFlight', options.maxInFlight, 2048)
  }

  createWriter(ctx: SinkWriterContext, restored: unknown[]): CommittingSinkWriter<T, never> {
    return new JetStreamWriter<T>(this.servers, this.options, this.maxInFlight, ctx, restored as WriterState[])
  }

  createCommitter(): Committer<never> {
    return NO_COMMITS
  }
}

class JetStreamWriter<T> implements CommittingSinkWriter<T, never> {
  private js: JetStreamClient | null = null
  private nc: NatsConnection | null = null
  private readonly connected: Promise<void>
  /** Records written before the connection was up. */
  private early: Array<{ subject: string; payload: Uint8Array; id: string }> = []
  private seq: number
  private inFlight = 0
  private failure: WeirError | null = null
  private idle: Array<() => void> = []
  private wasBusy = false
  private readonly prefix: string
  private readonly run: string
  private readonly subject: (record: T) => string
  private readonly serialize: (record: T) => Uint8Array

  constructor(servers: string[], options: JetStreamSinkOptions<T>, private readonly maxInFlight: number, private readonly ctx: SinkWriterContext, restored: WriterState[]) {
    // At another parallelism several old subtasks' states arrive: the replay order is not theirs, so duplicates are possible then.
    const mine = restored.find((s) => typeof s?.run === 'string')
    this.run = mine?.run ?? randomBytes(6).toString('hex')
    this.seq = mine?.written ?? 0
    const clean = (s: string) => s.replace(/[^A-Za-z0-9_.-]/g, '_')
    this.prefix = `${clean(ctx.jobName)}:${clean(ctx.operatorUid)}:${ctx.subtaskIndex}:${this.run}:`
    const subject = options.subject
    this.subject = typeof subject === 'function' ? subject : () => subject
    const serialize = options.serialize
    this.serialize = (record) => {
      const v = serialize ? serialize(record) : typeof record === 'string' ? record : JSON.stringify(record)
      return typeof v === 'string' ? encoder.encode(v) : v
    }
    this.connected = connectTo(servers, 'JetStreamSink').then(
      (nc) => {
        this.nc = nc
        this.js = jetStreamPackage().jetstream(nc)
        const early = this.early
        this.early = []
        for (const m of early) this.publish(m.subject, m.payload, m.id)
      },
      (e: unknown) => this.fail(e),
    )
  }

  write(record: T): void {
    if (this.failure) throw this.failure
    const id = `${this.prefix}${this.seq++}`
    const subject = this.subject(record)
    const payload = this.serialize(record)
    if (this.js === null) this.early.push({ subject, payload, id })
    else this.publish(subject, payload, id)
  }

  private publish(subject: string, payload: Uint8Array, id: string): void {
    this.inFlight++
    this.js!.publish(subject, payload, { msgID: id }).then(
      () => this.settled(),
      (e: unknown) => {
        this.fail(e)
        this.settled()
      },
    )
  }

  private settled(): void {
    this.inFlight--
    if (this.inFlight === 0) for (const resolve of this.idle.splice(0)) resolve()
    if (this.wasBusy && this.inFlight <= this.maxInFlight / 2) {
      this.wasBusy = false
      this.ctx.post(() => {})
    }
  }

  private fail(e: unknown): void {
    if (this.failure) return
    this.failure = e instanceof WeirError ? e : new WeirError('WEIR_SINK_FAILED', `JetStreamSink (subtask ${this.ctx.subtaskIndex}): publishing failed: ${(e as Error).message}`, { cause: e, domain: 'external', retriable: true })
    const failure = this.failure
    this.ctx.post(() => {
      throw failure
    })
  }

  flush(): void {}

  snapshotState(): WriterState {
    return { run: this.run, written: this.seq }
  }

  /** Waits until every record written before the checkpoint is acknowledged. */
  async prepareCommit(): Promise<never[]> {
    await this.drained()
    return []
  }

  private async drained(): Promise<void> {
    await this.connected
    if (this.inFlight > 0) await new Promise<void>((resolve) => this.idle.push(resolve))
    if (this.failure) throw this.failure
  }

  isBusy(): boolean {
    const busy = this.inFlight + this.early.length > this.maxInFlight
    if (busy) this.wasBusy = true
    return busy
  }

  async close(): Promise<void> {
    try {
      await this.drained()
    } finally {
      await this.nc?.close().catch(() => {})
    }
  }

  abandon(): void {
    void this.nc?.close().catch(() => {})
  }
}
