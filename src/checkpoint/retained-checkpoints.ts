// The completed checkpoints a job retains (execution.checkpointing.num-retained), like Flink's
// CompletedCheckpointStore: the newest ones, the shared files each references (incremental state
// reused across checkpoints, deleted when no retained checkpoint references it any more), and the
// deletions of dropped and aborted checkpoints, which run in the background and are awaited when
// the job ends.

import { rm } from 'node:fs/promises'
import type { CheckpointStorage, CompletedCheckpointRef } from './storage/checkpoint-storage.ts'

export class RetainedCheckpoints {
  /** Oldest first. */
  readonly completed: CompletedCheckpointRef[] = []
  /** Shared files each retained checkpoint references, for reference counting. */
  private readonly sharedFiles = new Map<number, readonly string[]>()
  /** Deletions not awaited where they start (nothing may run between a completion and its notification), but awaited at shutdown. */
  private readonly deletions = new Set<Promise<void>>()

  constructor(private readonly storage: CheckpointStorage) {}

  get latest(): CompletedCheckpointRef | null {
    return this.completed.at(-1) ?? null
  }

  ids(): number[] {
    return this.completed.map((c) => c.id)
  }

  /** Retains a completed checkpoint that references `sharedFiles`. */
  add(ref: CompletedCheckpointRef, sharedFiles: readonly string[]): void {
    this.sharedFiles.set(ref.id, sharedFiles)
    this.completed.push(ref)
  }

  /**
   * Drops a retained checkpoint: its files are deleted in the background, and so are the shared
   * files no other retained checkpoint references. Not awaited: see `deletions`.
   */
  drop(id: number): void {
    const i = this.completed.findIndex((c) => c.id === id)
    if (i >= 0) this.completed.splice(i, 1)
    const files = this.sharedFiles.get(id) ?? []
    this.sharedFiles.delete(id)
    this.release(files)
    this.background(this.storage.discard(id))
  }

  /** Deletes those of the given shared files (an aborted checkpoint's) that no retained checkpoint references. */
  release(candidates: readonly string[]): void {
    if (candidates.length === 0) return
    const referenced = new Set<string>()
    for (const files of this.sharedFiles.values()) for (const f of files) referenced.add(f)
    for (const f of candidates) if (!referenced.has(f)) this.background(rm(f, { force: true }))
  }

  /** Runs a deletion in the background; `settle` waits for it. */
  background(work: Promise<void>): void {
    const p: Promise<void> = work.catch(() => {}).finally(() => this.deletions.delete(p))
    this.deletions.add(p)
  }

  /** Waits for the deletions under way; with `discardAll`, then deletes every retained checkpoint too. */
  async settle(discardAll: boolean): Promise<void> {
    await Promise.all(this.deletions)
    if (!discardAll) return
    for (const c of this.completed.splice(0)) await this.storage.discard(c.id).catch(() => {})
    this.sharedFiles.clear()
    await this.storage.discardAll?.().catch(() => {})
  }
}
