// An enumerator for sources whose splits run side by side in event time (parallel timelines of a
// generator, partitions of a log): every split has one owner reader (Flink's Kafka enumerator does
// the same), and a reader gets all its splits together, on its first request. Handing them out
// one at a time on request (split-queue.ts) would let a fast reader take a slow reader's split
// after finishing its own: it would read that split's early events after its watermark had passed
// them, so they would all be late.

import type { SplitEnumerator, SplitEnumeratorContext } from '../api/source.ts'

export class SplitOwnerEnumerator<Split> implements SplitEnumerator<Split, Split[]> {
  /** Splits not yet handed out, by owner subtask. */
  private readonly pending = new Map<number, Split[]>()

  /** `ownerOf(split, parallelism)`: the subtask that reads it. */
  constructor(private readonly ctx: SplitEnumeratorContext<Split>, splits: readonly Split[], private readonly ownerOf: (split: Split, parallelism: number) => number) {
    this.add(splits)
  }

  start(): void {}

  /** A reader asks (at its start, and when it ran out): its splits, all in one assignment, then no more. */
  handleSplitRequest(subtaskIndex: number): void {
    const mine = this.pending.get(subtaskIndex)
    if (mine === undefined) return this.ctx.signalNoMoreSplits(subtaskIndex)
    this.pending.delete(subtaskIndex)
    this.ctx.assignSplits(mine, subtaskIndex)
  }

  addSplitsBack(splits: Split[]): void {
    this.add(splits)
  }

  addReader(): void {}

  snapshotState(): Split[] {
    return [...this.pending.values()].flat()
  }

  close(): void {}

  private add(splits: readonly Split[]): void {
    const p = this.ctx.parallelism
    for (const split of splits) {
      const owner = this.ownerOf(split, p)
      const list = this.pending.get(owner)
      if (list) list.push(split)
      else this.pending.set(owner, [split])
    }
  }
}
