// Building blocks for sources whose work is a fixed list of splits: an enumerator that hands
// them out one at a time on request (so fast readers take more), and a reader base class that
// asks for the next split whenever it has none.

import { InputStatus, type ReaderOutput, type SourceReader, type SourceReaderContext, type SplitEnumerator, type SplitEnumeratorContext } from '../api/source.ts'

export class SplitQueueEnumerator<Split> implements SplitEnumerator<Split, Split[]> {
  private readonly queue: Split[]
  constructor(private readonly ctx: SplitEnumeratorContext<Split>, splits: Split[]) {
    this.queue = [...splits]
  }
  start(): void {}
  handleSplitRequest(subtaskIndex: number): void {
    const next = this.queue.shift()
    if (next === undefined) this.ctx.signalNoMoreSplits(subtaskIndex)
    else this.ctx.assignSplit(next, subtaskIndex)
  }
  addSplitsBack(splits: Split[]): void {
    this.queue.unshift(...splits)
  }
  addReader(): void {}
  snapshotState(): Split[] {
    return [...this.queue]
  }
  close(): void {}
}

/** Reads assigned splits one after another; subclasses read one split in bounded steps. */
export abstract class SplitQueueReader<T, Split> implements SourceReader<T, Split> {
  protected readonly splits: Split[] = []
  private noMoreSplits = false
  private requested = false

  constructor(protected readonly ctx: SourceReaderContext) {}

  start(): void {
    this.request()
  }

  pollNext(output: ReaderOutput<T>): InputStatus {
    const split = this.splits[0]
    if (split === undefined) {
      if (this.noMoreSplits) return InputStatus.END_OF_INPUT
      this.request()
      return InputStatus.NOTHING_AVAILABLE
    }
    if (this.readSome(split, output)) {
      this.splits.shift()
      this.onSplitFinished(split)
      if (this.splits.length === 0 && !this.noMoreSplits) this.request()
    }
    return this.splits.length > 0 || this.noMoreSplits ? InputStatus.MORE_AVAILABLE : InputStatus.NOTHING_AVAILABLE
  }

  addSplits(splits: Split[]): void {
    this.requested = false
    this.splits.push(...splits)
    this.ctx.signalAvailable()
  }

  notifyNoMoreSplits(): void {
    this.requested = false
    this.noMoreSplits = true
    this.ctx.signalAvailable()
  }

  snapshotState(): Split[] {
    return this.splits.map((s) => this.currentPosition(s))
  }

  close(): void {}

  /** Emits a bounded number of records of the split; true when the split is finished. */
  protected abstract readSome(split: Split, output: ReaderOutput<T>): boolean
  /** The split as it stands now, with its read position, for a checkpoint. */
  protected abstract currentPosition(split: Split): Split
  protected onSplitFinished(_split: Split): void {}

  private request(): void {
    if (this.requested || this.noMoreSplits) return
    this.requested = true
    this.ctx.sendSplitRequest()
  }
}
