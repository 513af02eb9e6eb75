// A transactional file sink (Flink's FileSink, row format) on the two-phase commit sink API.
// Each subtask writes lines into an in-progress part file; at a checkpoint the writer closes it
// as pending and hands it over as a committable, which the committer renames to its final name
// when that checkpoint completes. After a failure the job restores the last completed
// checkpoint: its pending files are committed, and in-progress or pending files written after
// it are deleted. So the finished files (`part-<subtask>-<n>`) hold every record exactly once;
// unfinished ones are hidden (their names start with '.'). Without checkpointing, a bounded
// job's files are committed when it finishes.
// After its renames, each commit records in `.weir-committed-<subtask>` the checkpoint it
// committed and the run it belongs to, so that a restore from an older checkpoint of that run (its
// newer _metadata lost) is refused instead of committing the same records again.

import { closeSync, existsSync, fsyncSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { CommittedCheckpoint, CommittedCheckpointsQuery, Committer, CommitRequest, CommitterContext, CommittingSinkWriter, SinkWriterContext, TwoPhaseCommittingSink } from '../../api/sink.ts'
import { formatRecord } from '../print/format.ts'
import { WeirError, isWeirError } from '../../errors.ts'
import { ensureDirSync } from '../../io/directories.ts'
import { FileKind, unframe, writeFramedFileSync } from '../../checkpoint/file-format.ts'

export interface FileSinkOptions<T> {
  /** How a record becomes a line (default: as print() shows it). */
  readonly format?: (record: T) => string
  /** Roll to a new part file beyond this many bytes (default 128 MiB). */
  readonly maxPartBytes?: number
}

/** A closed part file waiting for its checkpoint to complete. */
export interface FileCommittable {
  readonly pending: string
  readonly final: string
}

/** The writer's own state: the next part number (so names are never reused). */
interface FileWriterState {
  readonly nextCounter: number
}

const BUFFER_CHARS = 64 * 1024

export class FileSink<T> implements TwoPhaseCommittingSink<T, FileCommittable> {
  readonly dir: string
  constructor(dir: string, private readonly options: FileSinkOptions<T> = {}) {
    this.dir = resolve(dir)
  }
  createWriter(ctx: SinkWriterContext, restored: unknown[]): CommittingSinkWriter<T, FileCommittable> {
    return new FileSinkWriter<T>(this.dir, ctx, restored as FileWriterState[], this.options.format ?? formatRecord, this.options.maxPartBytes ?? 128 * 1024 * 1024)
  }
  createCommitter(ctx: CommitterContext): Committer<FileCommittable> {
    return new FileCommitter(this.dir, ctx)
  }
  committedCheckpoints(query: CommittedCheckpointsQuery): CommittedCheckpoint[] {
    return readCommitMarkers(this.dir, query.run)
  }
}

class FileCommitter implements Committer<FileCommittable> {
  constructor(private readonly dir: string, private readonly ctx: CommitterContext) {}
  commit(requests: readonly CommitRequest<FileCommittable>[]): void {
    if (requests.length === 0) return
    for (const r of requests) commitFile(r.committable)
    // After the renames: a marker never claims output that is not there.
    let newest = 0
    for (const r of requests) newest = Math.max(newest, r.checkpointId)
    writeCommitMarker(this.dir, { run: this.ctx.run, subtaskIndex: this.ctx.subtaskIndex, checkpointId: newest })
    syncDir(this.dir)
  }
  close(): void {}
}

/** What `.weir-committed-<subtask>` holds. */
interface CommitMarker {
  readonly run: string
  readonly subtaskIndex: number
  readonly checkpointId: number
}

const MARKER = /^\.weir-committed-(\d+)$/
const MARKER_VERSION = 1

export function commitMarkerPath(dir: string, subtaskIndex: number): string {
  return join(dir, `.weir-committed-${subtaskIndex}`)
}

function writeCommitMarker(dir: string, marker: CommitMarker): void {
  const payload = Buffer.from(JSON.stringify({ version: MARKER_VERSION, ...marker }), 'utf8')
  writeFramedFileSync(commitMarkerPath(dir, marker.subtaskIndex), FileKind.SINK_COMMIT_MARKER, payload)
}

/** Every subtask's marker in `dir` that belongs to `run`; a damaged marker is refused, naming it. */
function readCommitMarkers(dir: string, run: string): CommittedCheckpoint[] {
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [] // nothing written yet
    throw e
  }
  const out: CommittedCheckpoint[] = []
  for (const name of names) {
    if (!MARKER.test(name)) continue
    const path = join(dir, name)
    let marker: CommitMarker
    try {
      const parsed = JSON.parse(Buffer.from(unframe(readFileSync(path), FileKind.SINK_COMMIT_MARKER, path)).toString('utf8')) as CommitMarker & { version: number }
      if (parsed.version !== MARKER_VERSION || typeof parsed.run !== 'string' || !Number.isSafeInteger(parsed.checkpointId) || !Number.isSafeInteger(parsed.subtaskIndex)) throw new Error(`unexpected content (version ${parsed.version})`)
      marker = parsed
    } catch (e) {
      const why = isWeirError(e) ? e.message : `${path}: ${(e as Error).message}`
      throw new WeirError('WEIR_SINK_FAILED', `file sink: cannot read its record of committed output: ${why}. It guards restores against duplicating output; delete ${path} to restore without that guard for its subtask`, { cause: e, domain: 'external' })
    }
    if (marker.run === run) out.push({ subtaskIndex: marker.subtaskIndex, checkpointId: marker.checkpointId })
  }
  return out
}

/** Pending -> final; idempotent (a restore may commit what was already committed). */
function commitFile(p: FileCommittable): void {
  if (existsSync(p.pending)) {
    renameSync(p.pending, p.final)
  } else if (!existsSync(p.final)) {
    throw new WeirError('WEIR_SINK_FAILED', `file sink: ${p.pending} belongs to a completed checkpoint but is gone, and ${p.final} does not exist either; its records are lost`, { domain: 'external' })
  }
}

class FileSinkWriter<T> implements CommittingSinkWriter<T, FileCommittable> {
  private text = ''
  private fd = -1
  private current: { inProgress: string; pending: string; final: string } | null = null
  private bytes = 0
  private counter: number
  /** Closed part files waiting for the next checkpoint. */
  private rolled: FileCommittable[] = []

  constructor(
    private readonly dir: string,
    private readonly ctx: SinkWriterContext,
    restored: FileWriterState[],
    private readonly format: (record: T) => string,
    private readonly maxPartBytes: number,
  ) {
    ensureDirSync(dir)
    let next = 0
    for (const state of restored) next = Math.max(next, state.nextCounter)
    this.counter = Math.max(next, this.nextFreeCounter())
    this.discardUncommitted(new Set((ctx.recovered as FileCommittable[]).map((c) => c.pending)))
  }

  write(record: T): void {
    this.text += this.format(record) + '\n'
    if (this.text.length >= BUFFER_CHARS) this.writeOut()
  }

  flush(): void {
    this.writeOut()
  }

  snapshotState(): FileWriterState {
    return { nextCounter: this.counter }
  }

  prepareCommit(): FileCommittable[] {
    this.writeOut()
    this.roll()
    const rolled = this.rolled
    this.rolled = []
    return rolled
  }

  close(): void {
    this.writeOut()
    if (this.fd >= 0) {
      closeSync(this.fd)
      this.fd = -1
    }
  }

  abandon(): void {
    if (this.fd >= 0) closeSync(this.fd)
    this.fd = -1
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

  /** Deletes this subtask's in-progress and pending files that no completed checkpoint covers. */
  private discardUncommitted(keep: ReadonlySet<string>): void {
    const mine = new RegExp(`^\\.part-${this.ctx.subtaskIndex}-\\d+\\.(inprogress|pending)$`)
    for (const name of readdirSync(this.dir)) if (mine.test(name) && !keep.has(join(this.dir, name))) unlinkSync(join(this.dir, name))
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
