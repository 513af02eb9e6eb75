// Barrier handling for a task with input channels, as an explicit state machine: each state is
// a value and each event moves to the next state through the host's actions.
//
// Aligned (exactly-once): the first barrier n starts alignment; each channel that delivered
// barrier n is blocked (its later records belong after the snapshot) until every live channel
// has delivered it; then the task snapshots, forwards the barrier and unblocks everything.
// At-least-once: the same counting, but nothing is blocked, so records after the barrier on a
// fast channel may enter the snapshot and be replayed after a restore (duplicates, no loss).
// Unaligned: the first barrier n to *arrive* (even behind queued records) triggers the
// snapshot at once; the barrier is forwarded ahead of the task's unsent output, and the records
// still in front of barrier n on each channel (in the input queues, and arriving until that
// channel's barrier n) are recorded as channel state. With an aligned-checkpoint timeout, an
// alignment that takes too long switches to unaligned in the same way.
// A channel that ended counts as aligned. A barrier for a newer checkpoint while an older one
// is in progress aborts the older one (its barrier was skipped upstream; it cannot complete).

import type { CheckpointBarrier } from '../network/events.ts'

export interface BarrierHandlerHost {
  blockChannel(channel: number): void
  unblockAllChannels(): void
  /** All barriers of a checkpoint arrived: snapshot and forward the barrier. */
  snapshotAndForward(barrier: CheckpointBarrier, alignmentMs: number): void
  /**
   * Take an unaligned snapshot now and forward the barrier ahead of buffered output; start
   * recording in-flight records on every live channel not in `done`.
   */
  snapshotUnaligned(barrier: CheckpointBarrier, done: ReadonlySet<number>, alignmentMs: number): void
  /** Barrier `id` reached a recording channel: record what is queued before it, stop recording it. */
  barrierReachedChannel(channel: number, id: number): void
  /** Whether barrier `id` already waits in the channel's queue, behind records. */
  isBarrierQueued(channel: number, id: number): boolean
  /** Every channel's in-flight records for checkpoint `id` are recorded. */
  channelStateComplete(id: number): void
  /** A checkpoint cannot complete in this task. */
  abortCheckpoint(checkpointId: number, reason: string): void
  now(): number
}

type HandlerState =
  | { readonly kind: 'idle' }
  | { readonly kind: 'aligning'; readonly barrier: CheckpointBarrier; readonly startedAt: number; readonly seen: Set<number> }
  | { readonly kind: 'recording'; readonly barrier: CheckpointBarrier; readonly waiting: Set<number> }

export class BarrierHandler {
  private state: HandlerState = { kind: 'idle' }
  private readonly ended = new Set<number>()
  /** The newest checkpoint this task completed or aborted; older barriers are stale. */
  private lastHandled = 0

  constructor(private readonly host: BarrierHandlerHost, private readonly numChannels: number, private readonly exactlyOnce: boolean) {}

  /** A barrier was taken from `channel` in order (aligned and at-least-once barriers). */
  onBarrier(channel: number, barrier: CheckpointBarrier): void {
    if (barrier.id <= this.lastHandled) return
    if (barrier.unaligned) return this.onPriorityBarrier(channel, barrier)
    let state = this.state
    if (state.kind !== 'idle' && barrier.id > state.barrier.id) {
      this.abortCurrent(`barrier ${barrier.id} arrived before checkpoint ${state.barrier.id} was complete`)
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
    } else if (state.kind === 'recording' && state.barrier.id === barrier.id) {
      // After a switch to unaligned, the barrier arrived in order on a recording channel.
      this.reached(channel)
    }
  }

  /** An unaligned barrier arrived on `channel` (possibly behind queued records). */
  onPriorityBarrier(channel: number, barrier: CheckpointBarrier): void {
    if (barrier.id <= this.lastHandled) return
    let state = this.state
    if (state.kind !== 'idle' && barrier.id > state.barrier.id) {
      this.abortCurrent(`barrier ${barrier.id} arrived before checkpoint ${state.barrier.id} was complete`)
      state = this.state
    }
    if (state.kind === 'idle') {
      const waiting = new Set<number>()
      for (let c = 0; c < this.numChannels; c++) if (!this.ended.has(c)) waiting.add(c)
      this.state = { kind: 'recording', barrier, waiting }
      this.host.snapshotUnaligned(barrier, new Set(), 0)
      this.reached(channel)
      return
    }
    if (state.kind === 'recording' && state.barrier.id === barrier.id) this.reached(channel)
  }

  /** The aligned-checkpoint timeout of checkpoint `id` elapsed: switch to unaligned if still aligning it. */
  onAlignmentTimeout(id: number): void {
    const state = this.state
    if (state.kind !== 'aligning' || state.barrier.id !== id) return
    const waiting = new Set<number>()
    for (let c = 0; c < this.numChannels; c++) if (!state.seen.has(c) && !this.ended.has(c)) waiting.add(c)
    this.state = { kind: 'recording', barrier: state.barrier, waiting }
    this.host.snapshotUnaligned(state.barrier, state.seen, this.host.now() - state.startedAt)
    this.host.unblockAllChannels()
    // Barriers already queued behind records overtake them now.
    for (const c of [...waiting]) if (this.host.isBarrierQueued(c, id)) this.reached(c)
    this.completeIfRecorded()
  }

  onEndOfPartition(channel: number): void {
    this.ended.add(channel)
    if (this.state.kind === 'recording') {
      this.state.waiting.delete(channel)
      this.completeIfRecorded()
    } else {
      this.completeIfAligned()
    }
  }

  /** The coordinator aborted a checkpoint: stop working on it. */
  onAbort(checkpointId: number): void {
    if (this.state.kind !== 'idle' && this.state.barrier.id <= checkpointId) this.abortCurrent('the checkpoint was aborted')
    this.lastHandled = Math.max(this.lastHandled, checkpointId)
  }

  get isAligning(): boolean {
    return this.state.kind === 'aligning'
  }

  /** When the checkpoint being aligned was triggered (its barrier's timestamp), if any. */
  get aligningTimestamp(): number | null {
    return this.state.kind === 'aligning' ? this.state.barrier.timestamp : null
  }

  /** The checkpoint whose alignment is in progress, if any. */
  get aligningId(): number | null {
    return this.state.kind === 'aligning' ? this.state.barrier.id : null
  }

  private reached(channel: number): void {
    const state = this.state
    if (state.kind !== 'recording' || !state.waiting.has(channel)) return
    state.waiting.delete(channel)
    this.host.barrierReachedChannel(channel, state.barrier.id)
    this.completeIfRecorded()
  }

  private completeIfRecorded(): void {
    const state = this.state
    if (state.kind !== 'recording' || state.waiting.size > 0) return
    this.state = { kind: 'idle' }
    this.lastHandled = state.barrier.id
    this.host.channelStateComplete(state.barrier.id)
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
    if (state.kind === 'idle') return
    this.state = { kind: 'idle' }
    this.lastHandled = state.barrier.id
    if (this.exactlyOnce) this.host.unblockAllChannels()
    this.host.abortCheckpoint(state.barrier.id, reason)
  }
}
