// Lines from a TCP socket (socketTextStream), for trying things out with `nc -lk 9000`.
// Parallelism 1. It cannot rewind, as in Flink: on a failure it loses the records read since
// the last completed checkpoint, those that arrive while the job is down, and what sat in the
// connection's buffers when it was reset (README, 'Checkpoints, recovery and savepoints').
// The socket's data events fill a queue; pollNext drains it on the task thread.
// Where to connect is configuration, so it always comes from the job: a split restored from a
// checkpoint or savepoint only says that this reader owns the socket, and the host and port the
// resumed job names win over the ones stored with it.

import { connect, type Socket } from 'node:net'
import { InputStatus, type ReaderOutput, type Source, type SourceReader, type SourceReaderContext, type SplitEnumeratorContext } from '../../api/source.ts'
import { SplitQueueEnumerator } from '../split-queue.ts'
import { WeirError } from '../../errors.ts'

export interface SocketSplit {
  readonly host: string
  readonly port: number
}

const POLL_LINES = 1024

export class SocketTextSource implements Source<string, SocketSplit, SocketSplit[]> {
  readonly boundedness = 'continuous'
  readonly rewindable = false
  readonly maxParallelism = 1
  constructor(readonly host: string, readonly port: number, readonly delimiter = '\n') {}

  createEnumerator(ctx: SplitEnumeratorContext<SocketSplit>) {
    return new SplitQueueEnumerator(ctx, [{ host: this.host, port: this.port }])
  }

  createReader(ctx: SourceReaderContext): SourceReader<string, SocketSplit> {
    return new SocketReader(ctx, { host: this.host, port: this.port }, this.delimiter)
  }
}

class SocketReader implements SourceReader<string, SocketSplit> {
  private socket: Socket | null = null
  private split: SocketSplit | null = null
  private readonly lines: string[] = []
  private head = 0
  private partial = ''
  private ended = false
  private noMoreSplits = false
  private failure: Error | null = null

  constructor(private readonly ctx: SourceReaderContext, private readonly target: SocketSplit, private readonly delimiter: string) {}

  start(): void {
    this.ctx.sendSplitRequest()
  }

  addSplits(splits: SocketSplit[]): void {
    if (splits.length === 0 || this.socket) return
    // Not the stored host and port: those of the job as it runs now.
    const split = this.target
    this.split = split
    const socket = connect({ host: split.host, port: split.port })
    this.socket = socket
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => this.onData(chunk))
    socket.on('end', () => {
      if (this.partial.length > 0) this.lines.push(stripCr(this.partial))
      this.partial = ''
      this.ended = true
      this.ctx.signalAvailable()
    })
    socket.on('error', (e: NodeJS.ErrnoException) => {
      const hint = e.code === 'ECONNREFUSED' ? `; nothing listens there: start a server first, e.g. \`nc -lk ${split.port}\`` : ''
      this.failure = new WeirError('WEIR_SOURCE_FAILED', `socket source ${split.host}:${split.port}: ${e.code ?? e.message}${hint}`, { cause: e, domain: 'external', retriable: true })
      this.ctx.signalAvailable()
    })
  }

  notifyNoMoreSplits(): void {
    this.noMoreSplits = true
    if (!this.split) this.ctx.signalAvailable()
  }

  pollNext(output: ReaderOutput<string>): InputStatus {
    if (this.failure) throw this.failure
    let n = 0
    while (this.head < this.lines.length && n < POLL_LINES) {
      output.collect(this.lines[this.head++]!)
      n++
    }
    if (this.head === this.lines.length) {
      this.lines.length = 0
      this.head = 0
      if (this.ended || (this.noMoreSplits && !this.split)) return InputStatus.END_OF_INPUT
      return InputStatus.NOTHING_AVAILABLE
    }
    return InputStatus.MORE_AVAILABLE
  }

  snapshotState(): SocketSplit[] {
    return this.split ? [this.split] : []
  }

  close(): void {
    this.socket?.destroy()
    this.socket = null
  }

  private onData(chunk: string): void {
    const parts = (this.partial + chunk).split(this.delimiter)
    this.partial = parts.pop()!
    for (const p of parts) this.lines.push(stripCr(p))
    if (parts.length > 0) this.ctx.signalAvailable()
  }
}

function stripCr(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line
}
