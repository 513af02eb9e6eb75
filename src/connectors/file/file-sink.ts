// A transactional file sink (Flink's FileSink, row format). Each subtask writes lines into an
// in-progress part file; at a checkpoint the file is closed and becomes pending, and it is
// renamed to its final name only when that checkpoint completes. After a failure the job
// restores the last completed checkpoint: its pending files are committed, and in-progress or
// pending files written after it are deleted. So the finished files (`part-<subtask>-<n>`) hold
// every record exactly once; unfinished ones are hidden (their names start with '.').
// Without checkpointing, a bounded job's files are committed when it finishes.

import { closeSync, existsSync, fsyncSync, openSync, readdirSync, renameSync, unlinkSync, writeSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { Sink, SinkWriter, SinkWriterContext } from '../../api/sink.ts'
import { formatRecord } from '../print/format.ts'
import { WeirError } from '../../errors.ts'
import { ensureDirSync } from '../../io/directories.ts'

export interface FileSinkOptions<T> {
  /** How a record becomes a line (default: as print() shows it). */
  readonly format?: (record: T) => string
  /** Roll to a new part file beyond this many bytes (default 128 MiB). */
  readonly maxPartBytes?: number
}

interface PendingFile {
  readonly checkpointId: number
  readonly pending: string
  readonly final: string
}

interface FileSinkState {
  readonly nextCounter: number
  readonly pending: PendingFile[]
}

const BUFFER_CHARS = 64 * 1024

export class FileSink<T> implements Sink<T> {
  readonly dir: string
  constructor(dir: string, private readonly options: FileSinkOptions<T> = {}) {
    this.dir = resolve(dir)
  }
  createWriter(ctx: SinkWriterContext, restored: unknown[]): SinkWriter<T> {
    return new FileSinkWriter<T>(this.dir, ctx, restored as FileSinkState[], this.options.format ?? formatRecord, this.options.maxPartBytes ?? 128 * 1024 * 1024)
  }
}

class FileSinkWriter<T> implements SinkWriter<T> {
  private text = ''
  private fd = -1
  private current: { inProgress: string; pending: string; final: string } | null = null
  private bytes = 0
  private counter: number
  /** Closed part files waiting for the next checkpoint. */
  private rolled: Array<{ pending: string; final: string }> = []
  /** Pending files of checkpoints that have not completed yet. */
  private pending: PendingFile[] = []

  constructor(
    private readonly dir: string,
    private readonly ctx: SinkWriterContext,
    restored: FileSinkState[],
    private readonly format: (record: T) => string,
    private readonly maxPartBytes: number,
  ) {
    ensureDirSync(dir)
    let next = 0
    for (const state of restored) {
      next = Math.max(next, state.nextCounter)
      // Restored pending files belong to a completed checkpoint: commit them now.
      for (const p of state.pending) this.commit(p)
    }
    this.counter = Math.max(next, this.nextFreeCounter())
    this.discardUncommitted()
  }

  write(record: T): void {
    this.text += this.format(record) + '\n'
    if (this.text.length >= BUFFER_CHARS) this.writeOut()
  }

  flush(): void {
    this.writeOut()
  }

  snapshotState(checkpointId: number): FileSinkState {
    this.writeOut()
    this.roll()
    for (const r of this.rolled) this.pending.push({ checkpointId, ...r })
    this.rolled = []
    return { nextCounter: this.counter, pending: this.pending.map((p) => ({ ...p })) }
  }

  notifyCheckpointComplete(checkpointId: number): void {
    const still: PendingFile[] = []
    for (const p of this.pending) {
      if (p.checkpointId <= checkpointId) this.commit(p)
      else still.push(p)
    }
    const committed = still.length < this.pending.length
    this.pending = still
    if (committed) syncDir(this.dir)
  }

  close(): void {
    this.writeOut()
    if (!this.ctx.checkpointing) {
      // No checkpoints: the end of a bounded job is the only commit point.
      this.roll()
      for (const r of this.rolled) this.commit(r)
      this.rolled = []
      syncDir(this.dir)
    } else if (this.fd >= 0) {
      closeSync(this.fd)
      this.fd = -1
    }
  }

  private writeOut(): void {
    if (this.text.length === 0) return
    if (this.fd < 0) this.open()
    const buf = Buffer.from(this.text, 'utf8')
    this.text = ''
    let off = 0
    while (off < buf.length) off += writeSync(this.fd, buf, off)
    this.bytes += buf.length
    if (this.bytes >= this.maxPartBytes) this.roll()
  }

  private open(): void {
    const name = `part-${this.ctx.subtaskIndex}-${this.counter++}`
    this.current = { inProgress: join(this.dir, `.${name}.inprogress`), pending: join(this.dir, `.${name}.pending`), final: join(this.dir, name) }
    this.fd = openSync(this.current.inProgress, 'w')
    this.bytes = 0
  }

  /** Closes the in-progress file (if any) and makes it pending. */
  private roll(): void {
    if (this.fd < 0 || !this.current) return
    fsyncSync(this.fd)
    closeSync(this.fd)
    this.fd = -1
    renameSync(this.current.inProgress, this.current.pending)
    this.rolled.push({ pending: this.current.pending, final: this.current.final })
    this.current = null
  }

  /** Pending -> final; idempotent (a restore may commit what was already committed). */
  private commit(p: { pending: string; final: string }): void {
    if (existsSync(p.pending)) {
      renameSync(p.pending, p.final)
    } else if (!existsSync(p.final)) {
      throw new WeirError('WEIR_SINK_FAILED', `file sink: ${p.pending} belongs to a completed checkpoint but is gone, and ${p.final} does not exist either; its records are lost`, { domain: 'external' })
    }
  }

  /** Deletes this subtask's in-progress and pending files that no completed checkpoint covers. */
  private discardUncommitted(): void {
    const mine = new RegExp(`^\\.part-${this.ctx.subtaskIndex}-\\d+\\.(inprogress|pending)$`)
    for (const name of readdirSync(this.dir)) if (mine.test(name)) unlinkSync(join(this.dir, name))
  }

  /** One past the highest part number this subtask used in the directory (finished or not). */
  private nextFreeCounter(): number {
    const mine = new RegExp(`^\\.?part-${this.ctx.subtaskIndex}-(\\d+)(\\.inprogress|\\.pending)?$`)
    let next = 0
    for (const name of readdirSync(this.dir)) {
      const m = mine.exec(name)
      if (m) next = Math.max(next, Number(m[1]) + 1)
    }
    return next
  }
}

function syncDir(dir: string): void {
  const fd = openSync(dir, 'r')
  try {
    fsyncSync(fd)
  } catch {
    // not supported everywhere; the renames are atomic regardless
  } finally {
    closeSync(fd)
  }
}
