// NexmarkSource: the Nexmark generator as a bounded, splittable, rewindable source. Each split is
// one parallel timeline of the generator (the repository splits the same way: disjoint event-id
// ranges, the same base time); a split's position is the number of events it emitted, so a
// restore re-generates exactly the events after it. Readers emit each split through its own
// output with the event's time as the record timestamp, so a WatermarkStrategy given to
// env.fromSource (Nexmark's is forBoundedOutOfOrderness(4000)) runs per split. Each split has a
// fixed owner reader, which gets all its splits at once (split-owner.ts).

import { InputStatus, type ReaderOutput, type Source, type SourceReader, type SourceReaderContext, type SplitEnumerator, type SplitEnumeratorContext } from '../../api/source.ts'
import { SplitOwnerEnumerator } from '../split-owner.ts'
import { NexmarkGenerator, splitConfigs, type NexmarkSplitConfig } from './generator.ts'
import type { NexmarkEvent } from './model.ts'
import { NEXMARK_DEFAULTS, type NexmarkOptions } from './options.ts'
import { UserError } from '../../errors.ts'

export interface NexmarkSplit extends NexmarkSplitConfig {
  /** Events of this split emitted so far. */
  emitted: number
}

export class NexmarkSource implements Source<NexmarkEvent, NexmarkSplit, NexmarkSplit[]> {
  readonly boundedness = 'bounded'
  readonly options: NexmarkOptions

  constructor(options: Partial<NexmarkOptions> = {}) {
    this.options = { ...NEXMARK_DEFAULTS, ...options }
    const o = this.options
    if (!Number.isInteger(o.events) || o.events < 0) throw new UserError('WEIR_INVALID_ARGUMENT', `NexmarkSource: events must be a non-negative integer, got ${o.events}`)
    if (!(o.firstEventRate > 0)) throw new UserError('WEIR_INVALID_ARGUMENT', `NexmarkSource: firstEventRate must be positive, got ${o.firstEventRate}`)
    if (!(o.lingerMs >= 0)) throw new UserError('WEIR_INVALID_ARGUMENT', `NexmarkSource: lingerMs must be a non-negative number of ms (or Infinity), got ${o.lingerMs}`)
    if (!Number.isInteger(o.outOfOrderGroupSize) || o.outOfOrderGroupSize < 1) throw new UserError('WEIR_INVALID_ARGUMENT', `NexmarkSource: outOfOrderGroupSize must be a positive integer, got ${o.outOfOrderGroupSize}`)
  }

  createEnumerator(ctx: SplitEnumeratorContext<NexmarkSplit>, restored?: NexmarkSplit[]): SplitEnumerator<NexmarkSplit, NexmarkSplit[]> {
    // Splits are parallel timelines from the same base time: each reader reads its own together
    // (split i on subtask i mod p, as the repository runs generator i on subtask i), never one
    // after another, or the later ones would be behind the reader's watermark.
    const splits = restored ?? splitConfigs(this.options, this.options.splits ?? ctx.parallelism).map((c) => ({ ...c, emitted: 0 }))
    return new SplitOwnerEnumerator(ctx, splits, (split, p) => split.index % p)
  }

  createReader(ctx: SourceReaderContext): SourceReader<NexmarkEvent, NexmarkSplit> {
    return new NexmarkReader(ctx, this.options)
  }

  /** Every event of the run, split by split (for reference computations in tests). */
  *allEvents(numSplits: number): Generator<NexmarkEvent> {
    for (const c of splitConfigs(this.options, numSplits)) {
      const g = new NexmarkGenerator(this.options, c)
      for (let i = 0; i < c.maxEvents; i++) yield g.event(i)
    }
  }
}

/** Reads all its splits at once, round-robin, each through its own split output. */
class NexmarkReader implements SourceReader<NexmarkEvent, NexmarkSplit> {
  private readonly splits: Array<{ split: NexmarkSplit; generator: NexmarkGenerator; output: ReaderOutput<NexmarkEvent> | null }> = []
  private noMoreSplits = false
  private requested = false
  private output: ReaderOutput<NexmarkEvent> | null = null

  constructor(private readonly ctx: SourceReaderContext, private readonly options: NexmarkOptions) {}

  start(): void {
    this.request()
  }

  private lingerUntil: number | null = null
  private lingerTimer: NodeJS.Timeout | null = null

  /** END_OF_INPUT, after lingerMs if set; never when it is Infinity. */
  private end(): InputStatus {
    const linger = this.options.lingerMs
    if (linger <= 0) return InputStatus.END_OF_INPUT
    if (linger === Infinity) return InputStatus.NOTHING_AVAILABLE
    this.lingerUntil ??= Date.now() + linger
    const left = this.lingerUntil - Date.now()
    if (left <= 0) return InputStatus.END_OF_INPUT
    this.lingerTimer ??= setTimeout(() => {
      this.lingerTimer = null
      this.ctx.signalAvailable()
    }, left)
    return InputStatus.NOTHING_AVAILABLE
  }

  pollNext(output: ReaderOutput<NexmarkEvent>): InputStatus {
    this.output = output
    if (this.splits.length === 0) {
      if (this.noMoreSplits) return this.end()
      this.request()
      return InputStatus.NOTHING_AVAILABLE
    }
    const batch = this.options.batch
    for (let s = 0; s < this.splits.length; s++) {
      const entry = this.splits[s]!
      const split = entry.split
      const out = (entry.output ??= output.createOutputForSplit?.(String(split.index)) ?? output)
      const g = entry.generator
      const end = Math.min(split.emitted + batch, split.maxEvents)
      for (let i = split.emitted; i < end; i++) {
        const e = g.event(i)
        split.emitted = i + 1
        out.collect(e, e.dateTime)
      }
      if (split.emitted >= split.maxEvents) {
        output.releaseOutputForSplit?.(String(split.index))
        this.splits.splice(s--, 1)
      }
    }
    // A reader asks for its next split when it has none left, so splits spread over the readers.
    if (!this.noMoreSplits && this.splits.length === 0) this.request()
    if (this.splits.length > 0) return InputStatus.MORE_AVAILABLE
    return this.noMoreSplits ? this.end() : InputStatus.NOTHING_AVAILABLE
  }

  addSplits(splits: NexmarkSplit[]): void {
    this.requested = false
    for (const split of splits) this.splits.push({ split: { ...split }, generator: new NexmarkGenerator(this.options, split), output: null })
    this.ctx.signalAvailable()
  }

  notifyNoMoreSplits(): void {
    this.requested = false
    this.noMoreSplits = true
    this.ctx.signalAvailable()
  }

  snapshotState(): NexmarkSplit[] {
    return this.splits.map((e) => ({ ...e.split }))
  }

  close(): void {
    void this.output
    if (this.lingerTimer) clearTimeout(this.lingerTimer)
  }

  private request(): void {
    if (this.requested || this.noMoreSplits) return
    this.requested = true
    this.ctx.sendSplitRequest()
  }
}
