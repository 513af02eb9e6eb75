// A bounded, parallel source of the integers from..to (inclusive), cut into splits that
// readers take on request. A split's position is the next number, so it rewinds exactly.

import type { ReaderOutput, Source, SourceReaderContext, SplitEnumeratorContext } from '../../api/source.ts'
import { SplitQueueEnumerator, SplitQueueReader } from '../split-queue.ts'
import { UserError } from '../../errors.ts'

export interface SequenceSplit {
  next: number
  readonly to: number
}

const BATCH = 1024

export class SequenceSource implements Source<number, SequenceSplit, SequenceSplit[]> {
  readonly boundedness = 'bounded'
  constructor(readonly from: number, readonly to: number) {
    if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to)) throw new UserError('WEIR_INVALID_ARGUMENT', `fromSequence: from and to must be safe integers, got ${from} and ${to}`)
  }

  createEnumerator(ctx: SplitEnumeratorContext<SequenceSplit>, restored?: SequenceSplit[]) {
    return new SplitQueueEnumerator(ctx, restored ?? this.split(ctx.parallelism * 4))
  }

  createReader(ctx: SourceReaderContext) {
    return new SequenceReader(ctx)
  }

  private split(count: number): SequenceSplit[] {
    const total = this.to - this.from + 1
    if (total <= 0) return []
    const n = Math.min(count, total)
    const splits: SequenceSplit[] = []
    for (let i = 0; i < n; i++) {
      const start = this.from + Math.floor((total * i) / n)
      const end = this.from + Math.floor((total * (i + 1)) / n) - 1
      splits.push({ next: start, to: end })
    }
    return splits
  }
}

class SequenceReader extends SplitQueueReader<number, SequenceSplit> {
  protected readSome(split: SequenceSplit, output: ReaderOutput<number>): boolean {
    const end = Math.min(split.next + BATCH - 1, split.to)
    for (let v = split.next; v <= end; v++) {
      split.next = v + 1
      output.collect(v)
    }
    return split.next > split.to
  }
  protected currentPosition(split: SequenceSplit): SequenceSplit {
    return { next: split.next, to: split.to }
  }
}
