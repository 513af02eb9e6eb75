// Runs a source's split enumerator on the JobManager and relays between it and the readers.

import type { Source, SplitEnumerator, SplitEnumeratorContext } from '../../api/source.ts'
import type { ToWorker } from '../messages.ts'

export class SourceCoordinator {
  readonly enumerator: SplitEnumerator<unknown, unknown>

  constructor(
    readonly vertex: number,
    readonly parallelism: number,
    source: Source<unknown, unknown, unknown>,
    private readonly sendToSubtask: (subtask: number, message: ToWorker) => void,
    restored?: unknown,
  ) {
    const ctx: SplitEnumeratorContext<unknown> = {
      parallelism,
      assignSplit: (split, subtask) => this.sendToSubtask(subtask, { type: 'assign-splits', vertex, subtask, splits: [split] }),
      assignSplits: (splits, subtask) => this.sendToSubtask(subtask, { type: 'assign-splits', vertex, subtask, splits: [...splits] }),
      signalNoMoreSplits: (subtask) => this.sendToSubtask(subtask, { type: 'no-more-splits', vertex, subtask }),
    }
    this.enumerator = source.createEnumerator(ctx, restored)
  }

  start(): void {
    void this.enumerator.start()
    for (let i = 0; i < this.parallelism; i++) this.enumerator.addReader(i)
  }

  handleSplitRequest(subtask: number): void {
    this.enumerator.handleSplitRequest(subtask)
  }

  close(): void {
    this.enumerator.close()
  }
}
