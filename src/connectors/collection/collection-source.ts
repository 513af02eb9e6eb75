// A bounded source over an in-memory array (fromElements, fromCollection). Parallelism 1; its
// position is an index into the array, so it rewinds exactly.

import type { ReaderOutput, Source, SourceReaderContext, SplitEnumeratorContext } from '../../api/source.ts'
import { SplitQueueEnumerator, SplitQueueReader } from '../split-queue.ts'

export interface CollectionSplit {
  next: number
}

const BATCH = 1024

export class CollectionSource<T> implements Source<T, CollectionSplit, CollectionSplit[]> {
  readonly boundedness = 'bounded'
  readonly maxParallelism = 1
  constructor(readonly elements: readonly T[]) {}

  createEnumerator(ctx: SplitEnumeratorContext<CollectionSplit>, restored?: CollectionSplit[]) {
    return new SplitQueueEnumerator(ctx, restored ?? [{ next: 0 }])
  }

  createReader(ctx: SourceReaderContext) {
    return new CollectionReader(ctx, this.elements)
  }
}

class CollectionReader<T> extends SplitQueueReader<T, CollectionSplit> {
  constructor(ctx: SourceReaderContext, private readonly elements: readonly T[]) {
    super(ctx)
  }
  protected readSome(split: CollectionSplit, output: ReaderOutput<T>): boolean {
    const end = Math.min(split.next + BATCH, this.elements.length)
    for (let i = split.next; i < end; i++) {
      split.next = i + 1
      output.collect(this.elements[i]!)
    }
    return split.next >= this.elements.length
  }
  protected currentPosition(split: CollectionSplit): CollectionSplit {
    return { next: split.next }
  }
}
