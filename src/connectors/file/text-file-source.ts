// A bounded source of the lines of a text file (or of every file in a directory). Files are
// cut into byte ranges; each line belongs to the range its first byte falls in, so readers can
// start anywhere: a reader that starts mid-file skips to the first line that starts in its
// range and reads past its end to finish its last line. Reads are synchronous, in 1 MiB
// chunks into one reused buffer. A line that is not valid UTF-8 fails the job with the file
// and byte offset; nothing is skipped.

import { closeSync, openSync, readSync, readdirSync, statSync } from 'node:fs'
import { isUtf8 } from 'node:buffer'
import { join, resolve } from 'node:path'
import type { ReaderOutput, Source, SourceReaderContext, SplitEnumeratorContext } from '../../api/source.ts'
import { SplitQueueEnumerator, SplitQueueReader } from '../split-queue.ts'
import { UserError, WeirError } from '../../errors.ts'

export interface FileSplit {
  readonly path: string
  readonly start: number
  readonly end: number
  /** Byte offset of the next line to read; -1 before the first line has been located. */
  offset: number
}

const MIN_SPLIT_BYTES = 1 << 20
const MAX_SPLIT_BYTES = 32 << 20
const SPLITS_PER_READER = 16
const CHUNK_BYTES = 1 << 20
/**
 * Bytes of lines emitted per pollNext call (about a network batch of words). Small on purpose:
 * whatever a poll emits waits in batches until the tasks behind it run, so a poll of 64 KiB kept
 * ~10k records alive across young-generation collections, which copied 44 MB per million words
 * of the word count instead of 26 MB at 8 KiB.
 */
export const POLL_BYTES = 8 << 10

export class TextFileSource implements Source<string, FileSplit, FileSplit[]> {
  readonly boundedness = 'bounded'
  readonly path: string
  constructor(path: string) {
    this.path = resolve(path)
  }

  createEnumerator(ctx: SplitEnumeratorContext<FileSplit>, restored?: FileSplit[]) {
    return new SplitQueueEnumerator(ctx, restored ?? this.computeSplits(ctx.parallelism))
  }

  createReader(ctx: SourceReaderContext) {
    return new TextFileReader(ctx)
  }

  /**
   * Lists the files and cuts them into about SPLITS_PER_READER ranges per reader (at least 1 MiB
   * each). Readers take splits as they finish the previous one, so the last split decides how long
   * one reader works alone at the end: with four splits per reader a 3 M-word file (18 MiB) at -p 2
   * had 2.25 MiB splits, ~0.3 s of one slot's work, of which half went idle on average.
   */
  computeSplits(parallelism: number): FileSplit[] {
    const files = listFiles(this.path)
    const total = files.reduce((sum, f) => sum + f.size, 0)
    const target = Math.min(MAX_SPLIT_BYTES, Math.max(MIN_SPLIT_BYTES, Math.ceil(total / (parallelism * SPLITS_PER_READER))))
    return files.flatMap((f) => splitFile(f.path, f.size, target))
  }
}

/** Cuts one file into byte ranges of `target` bytes (the last one shorter). */
export function splitFile(path: string, size: number, target: number = MIN_SPLIT_BYTES): FileSplit[] {
  const splits: FileSplit[] = []
  for (let start = 0; start < size; start += target) splits.push({ path, start, end: Math.min(size, start + target), offset: -1 })
  return splits
}

function listFiles(path: string): Array<{ path: string; size: number }> {
  let st
  try {
    st = statSync(path)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    throw new UserError('WEIR_INVALID_INPUT', code === 'ENOENT' ? `input file not found: ${path}` : `cannot read input ${path}: ${(e as Error).message}`)
  }
  if (st.isFile()) return [{ path, size: st.size }]
  if (st.isDirectory()) {
    return readdirSync(path)
      .filter((name) => !name.startsWith('.') && !name.startsWith('_'))
      .sort()
      .flatMap((name) => listFiles(join(path, name)))
  }
  return []
}

/** Reads FileSplits line by line; also the reader of the monitored-directory source. */
export class TextFileReader extends SplitQueueReader<string, FileSplit> {
  private buffer = Buffer.allocUnsafe(CHUNK_BYTES)
  /** Valid bytes are buffer[pos, limit); buffer[0] sits at file offset bufferOffset. */
  private pos = 0
  private limit = 0
  private bufferOffset = 0
  private fd = -1
  private fdPath = ''
  private eof = false
  /** The buffer starts inside a line of the previous split: skip it when validating. */
  private midLine = false

  protected readSome(split: FileSplit, output: ReaderOutput<string>): boolean {
    if (split.offset < 0) this.seekToFirstLine(split)
    else if (this.fdPath !== split.path || split.offset !== this.bufferOffset + this.pos) this.seek(split, split.offset)
    let emitted = 0
    while (emitted < POLL_BYTES) {
      if (split.offset >= split.end) return true
      let nl = this.buffer.indexOf(10, this.pos)
      if (nl < 0 || nl >= this.limit) {
        if (!this.eof) {
          this.fill()
          continue
        }
        if (this.pos >= this.limit) return true
        nl = this.limit // last line without a newline
      }
      const lineEnd = nl > this.pos && this.buffer[nl - 1] === 13 ? nl - 1 : nl
      const line = this.buffer.toString('utf8', this.pos, lineEnd)
      emitted += nl - this.pos + 1
      this.pos = nl + 1
      split.offset = this.bufferOffset + this.pos
      output.collect(line)
    }
    return split.offset >= split.end || (this.eof && this.pos >= this.limit)
  }

  protected currentPosition(split: FileSplit): FileSplit {
    return { ...split }
  }

  protected override onSplitFinished(): void {
    this.closeFile()
  }

  override close(): void {
    this.closeFile()
  }

  private seekToFirstLine(split: FileSplit): void {
    if (split.start === 0) {
      this.seek(split, 0)
      split.offset = 0
      return
    }
    // The line that contains byte start-1 belongs to the previous split.
    this.seek(split, split.start - 1, true)
    for (;;) {
      const nl = this.buffer.indexOf(10, this.pos)
      if (nl >= 0 && nl < this.limit) {
        this.pos = nl + 1
        break
      }
      this.pos = this.limit
      if (this.eof) break
      this.fill()
    }
    split.offset = this.bufferOffset + this.pos
  }

  private seek(split: FileSplit, offset: number, midLine = false): void {
    if (this.fdPath !== split.path) {
      this.closeFile()
      try {
        this.fd = openSync(split.path, 'r')
      } catch (e) {
        throw new WeirError('WEIR_SOURCE_FAILED', `cannot open input file ${split.path}: ${(e as Error).message}`, { cause: e, domain: 'external', retriable: true })
      }
      this.fdPath = split.path
    }
    this.bufferOffset = offset
    this.pos = 0
    this.limit = 0
    this.eof = false
    this.midLine = midLine
    this.fill()
  }

  /** Moves the unread bytes to the front and reads more behind them; validates complete lines as UTF-8. */
  private fill(): void {
    const remaining = this.limit - this.pos
    if (this.pos > 0) {
      this.buffer.copy(this.buffer, 0, this.pos, this.limit)
      this.bufferOffset += this.pos
      this.pos = 0
      this.limit = remaining
    }
    if (this.limit === this.buffer.length) {
      // A line longer than the buffer: grow it.
      const bigger = Buffer.allocUnsafe(this.buffer.length * 2)
      this.buffer.copy(bigger, 0, 0, this.limit)
      this.buffer = bigger
    }
    const n = readSync(this.fd, this.buffer, this.limit, this.buffer.length - this.limit, this.bufferOffset + this.limit)
    if (n === 0) this.eof = true
    const checkedUpTo = this.limit
    this.limit += n
    this.validate(checkedUpTo)
  }

  private validate(from: number): void {
    // Check up to the last newline (a multi-byte character may straddle the read boundary).
    const lastNl = this.eof ? this.limit : this.buffer.lastIndexOf(10, this.limit - 1) + 1
    // Back up to the start of the line that `from` is in, so a line is checked as a whole.
    let lineStart = from === 0 ? 0 : this.buffer.lastIndexOf(10, from - 1) + 1
    if (this.midLine) {
      // The first bytes belong to a line of the previous split (and may start mid-character).
      const nl = this.buffer.indexOf(10)
      if (nl < 0 || nl >= this.limit) return
      this.midLine = false
      lineStart = Math.max(lineStart, nl + 1)
    }
    // At the end of the file, the last line (without a newline) is complete: check it too.
    if (lastNl <= lineStart) return
    if (isUtf8(this.buffer.subarray(lineStart, lastNl))) return
    let start = lineStart
    while (start < lastNl) {
      let end = this.buffer.indexOf(10, start)
      if (end < 0 || end > lastNl) end = lastNl
      if (!isUtf8(this.buffer.subarray(start, end))) {
        throw new WeirError('WEIR_INVALID_INPUT', `${this.fdPath}: the line at byte offset ${this.bufferOffset + start} is not valid UTF-8`, { domain: 'user' })
      }
      start = end + 1
    }
  }

  private closeFile(): void {
    if (this.fd >= 0) closeSync(this.fd)
    this.fd = -1
    this.fdPath = ''
  }
}
