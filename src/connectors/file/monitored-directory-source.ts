// A continuous source of the lines of the files in a directory, as Flink's
// FileSource...monitorContinuously(interval): every interval the enumerator (on the
// JobManager) lists the directory and turns each file it has not seen into splits; readers
// (TextFileReader) read each file once. Files whose names start with '.' or '_' are ignored:
// write a file under such a name and rename it when it is complete. The files seen and the
// splits not yet handed out are the enumerator's checkpointed state, and each reader's
// checkpoint holds its splits with their positions, so after a restore no file is read twice
// or skipped. The job never ends by itself.

import { readdirSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { Source, SourceReaderContext, SplitEnumerator, SplitEnumeratorContext } from '../../api/source.ts'
import { UserError, WeirError } from '../../errors.ts'
import { TextFileReader, splitFile, type FileSplit } from './text-file-source.ts'

export interface MonitoredDirectoryState {
  /** Every file discovered so far (its splits are done, being read, or pending). */
  readonly seen: string[]
  /** Splits discovered and not yet handed to a reader. */
  readonly pending: FileSplit[]
}

export class MonitoredDirectorySource implements Source<string, FileSplit, MonitoredDirectoryState> {
  readonly boundedness = 'continuous'
  readonly path: string

  constructor(path: string, readonly monitorIntervalMs: number) {
    this.path = resolve(path)
    if (!(monitorIntervalMs > 0)) throw new UserError('WEIR_INVALID_ARGUMENT', `readTextFile(${path}): monitorInterval must be a positive duration, got ${monitorIntervalMs}`)
  }

  createEnumerator(ctx: SplitEnumeratorContext<FileSplit>, restored?: MonitoredDirectoryState): SplitEnumerator<FileSplit, MonitoredDirectoryState> {
    return new MonitoringEnumerator(ctx, this.path, this.monitorIntervalMs, restored)
  }

  createReader(ctx: SourceReaderContext): TextFileReader {
    return new TextFileReader(ctx)
  }
}

class MonitoringEnumerator implements SplitEnumerator<FileSplit, MonitoredDirectoryState> {
  private readonly seen: Set<string>
  private readonly pending: FileSplit[]
  /** Readers that asked for a split when there was none, in the order they asked. */
  private readonly waiting: number[] = []
  private timer: NodeJS.Timeout | null = null

  constructor(private readonly ctx: SplitEnumeratorContext<FileSplit>, private readonly dir: string, private readonly intervalMs: number, restored?: MonitoredDirectoryState) {
    this.seen = new Set(restored?.seen ?? [])
    this.pending = [...(restored?.pending ?? [])]
  }

  start(): void {
    this.discover()
    this.timer = setInterval(() => {
      try {
        this.discover()
      } catch {
        // The directory could not be listed this time (removed, permissions): nothing was
        // marked seen, so the next round finds the same files.
      }
    }, this.intervalMs)
    this.timer.unref()
  }

  handleSplitRequest(subtaskIndex: number): void {
    const next = this.pending.shift()
    if (next) this.ctx.assignSplit(next, subtaskIndex)
    else if (!this.waiting.includes(subtaskIndex)) this.waiting.push(subtaskIndex)
  }

  addSplitsBack(splits: FileSplit[]): void {
    this.pending.unshift(...splits)
    this.serveWaiting()
  }

  addReader(): void {}

  snapshotState(): MonitoredDirectoryState {
    return { seen: [...this.seen], pending: this.pending.map((s) => ({ ...s })) }
  }

  close(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
  }

  /** Lists the directory and queues the splits of every new, visible file (oldest name first). */
  private discover(): void {
    let names: string[]
    try {
      names = readdirSync(this.dir)
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      if (code === 'ENOENT') throw new WeirError('WEIR_INVALID_INPUT', `the monitored directory ${this.dir} does not exist`, { domain: 'user' })
      throw new WeirError('WEIR_SOURCE_FAILED', `cannot list the monitored directory ${this.dir}: ${(e as Error).message}`, { cause: e, domain: 'external', retriable: true })
    }
    for (const name of names.sort()) {
      if (name.startsWith('.') || name.startsWith('_')) continue
      const path = join(this.dir, name)
      if (this.seen.has(path)) continue
      let size: number
      try {
        const st = statSync(path)
        if (!st.isFile()) continue
        size = st.size
      } catch {
        continue // renamed or removed between the listing and now: the next round sees it
      }
      this.seen.add(path)
      this.pending.push(...splitFile(path, size))
    }
    this.serveWaiting()
  }

  private serveWaiting(): void {
    while (this.waiting.length > 0 && this.pending.length > 0) this.ctx.assignSplit(this.pending.shift()!, this.waiting.shift()!)
  }
}
