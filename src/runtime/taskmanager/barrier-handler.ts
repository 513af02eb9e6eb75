// Barrier handling for a task with input channels, as an explicit state machine: each state is
// a value and each event returns the next state through the host's actions.
//
// Exactly-once (aligned): the first barrier n starts alignment; each channel that delivered
// barrier n is blocked (its later records belong after the snapshot) until every live channel
// has delivered it; then the task snapshots, forwards the barrier and unblocks everything.
// At-least-once: the same counting, but nothing is blocked, so records after the barrier on a
// fast channel may enter the snapshot and be replayed after a restore (duplicates, no loss).
// A channel that ended counts as aligned. A barrier for a newer checkpoint while aligning an
// older one aborts the older one (it can no longer complete: its barrier was skipped upstream).

import type { CheckpointBarrier } from '../network/events.ts'

export interface BarrierHandlerHost {
  blockChannel(channel: number): void
  unblockAllChannels(): void
  /** All barriers of a checkpoint arrived: snapshot and forward the barrier. */
  snapshotAndForward(barrier: CheckpointBarrier, alignmentMs: number): void
  /** A checkpoint cannot complete in this task. */
  abortCheckpoint(checkpointId: number, reason: string): void
  now(): number
}

type HandlerState =
  | { readonly kind: 'idle' }
  | { readonly kind: 'aligning'; readonly barrier: CheckpointBarrier; readonly startedAt: number; readonly seen: Set<number> }

export class BarrierHandler {
  private state: HandlerState = { kind: 'idle' }
  private readonly ended = new Set<number>()
  /** The newest checkpoint this task completed or aborted; older barriers are stale. */
  private lastHandled = 0

  constructor(private readonly host: BarrierHandlerHost, private readonly numChannels: number, private readonly exactlyOnce: boolean) {}

  onBarrier(channel: number, barrier: CheckpointBarrier): void {
    if (barrier.id <= this.lastHandled) return
    let state = this.state
    if (state.kind === 'aligning' && barrier.id > state.barrier.id) {
      this.abortCurrent(`barrier ${barrier.id} arrived before checkpoint ${state.barrier.id} was aligned`)
      state = this.state
    }
    if (state.kind === 'idle') {
      state = { kind: 'aligning', barrier, startedAt: this.host.now(), seen: new Set() }
      this.state = state
    }
    if (state.kind === 'aligning' && state.barrier.id === barrier.id) {
      state.seen.add(channel)
      if (this.exactlyOnce) this.host.blockChannel(channel)
      this.completeIfAligned()
    }
  }

  onEndOfPartition(channel: number): void {
    this.ended.add(channel)
    this.completeIfAligned()
  }

  /** The coordinator aborted a checkpoint: stop aligning it. */
  onAbort(checkpointId: number): void {
    if (this.state.kind === 'aligning' && this.state.barrier.id <= checkpointId) this.abortCurrent('the checkpoint was aborted')
    this.lastHandled = Math.max(this.lastHandled, checkpointId)
  }

  get isAligning(): boolean {
    return this.state.kind === 'aligning'
  }

  private completeIfAligned(): void {
    const state = this.state
    if (state.kind !== 'aligning') return
    for (let c = 0; c < this.numChannels; c++) if (!state.seen.has(c) && !this.ended.has(c)) return
    this.state = { kind: 'idle' }
    this.lastHandled = state.barrier.id
    this.host.snapshotAndForward(state.barrier, this.host.now() - state.startedAt)
    if (this.exactlyOnce) this.host.unblockAllChannels()
  }

  private abortCurrent(reason: string): void {
    const state = this.state
    if (state.kind !== 'aligning') return
    this.state = { kind: 'idle' }
    this.lastHandled = state.barrier.id
    if (this.exactlyOnce) this.host.unblockAllChannels()
    this.host.abortCheckpoint(state.barrier.id, reason)
  }
}
