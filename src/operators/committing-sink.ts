// Runs a TwoPhaseCommittingSink (src/api/sink.ts): the writer pre-commits at each checkpoint's
// synchronous phase, the committables are stored in that checkpoint together with every
// earlier one not committed yet, and the Committer commits them when the checkpoint completes
// (Flink's SinkWriterOperator and CommitterOperator in one operator, since both run in the same
// subtask here). A restore commits the restored committables first. Commits run one batch at a
// time in checkpoint order, off the task thread; a failed commit is retried, then fails the task.
// Before a restore goes on, a sink that reports what it committed (committedCheckpoints) is asked,
// and a restore from a checkpoint older than committed output is refused (restore-guard.ts).

import { SinkOperator } from './sink.ts'
import type { CommitRequest, CommittedCheckpoint, Committer, CommittingSinkWriter, SinkWriterContext, TwoPhaseCommittingSink } from '../api/sink.ts'
import { WeirError, isWeirError } from '../errors.ts'
import type { OperatorStateSnapshot } from '../state/operator-state-store.ts'
import { judgeRestore, restoreRefusal, forcedRestoreWarning } from './restore-guard.ts'

/** The end of input of a job without checkpoints commits under this id. */
export const END_OF_INPUT_CHECKPOINT = Number.MAX_SAFE_INTEGER

interface PendingCommittable {
  readonly checkpointId: number
  readonly committable: unknown
  retries: number
}

/** What the operator stores in a checkpoint. */
export interface CommittingSinkState {
  readonly version: 1
  readonly writer?: unknown
  readonly committables: readonly { readonly checkpointId: number; readonly committable: unknown }[]
}

/**
 * The run (SinkWriterContext.run) travels as union operator state, so that every subtask learns
 * it on a restore, also one that inherits no other state of the sink (after scaling up).
 */
export const RUN_STATE = 'weir.committing-sink.run'

const RETRY_DELAY_MS = 100
const DEFAULT_COMMIT_RETRIES = 3
const RESOLVED: Promise<unknown> = Promise.resolve()

export class CommittingSinkOperator<T, C> extends SinkOperator<T> {
  /** Pre-committed, not committed yet (in checkpoint order). */
  private pending: PendingCommittable[] = []
  private readonly committing = new Set<PendingCommittable>()
  private restoredWriter: unknown[] = []
  private committer!: Committer<C>
  private commits: Promise<void> = Promise.resolve()
  /** The previous checkpoint's pre-commit: a later snapshot waits for it, so it carries its committables. */
  private prepares: Promise<unknown> = RESOLVED
  private failure: WeirError | null = null
  /** The newest checkpoint whose committables are all committed (-1: none yet). */
  lastCommittedCheckpoint = -1
  /** The run this subtask writes in (set in open). */
  run = ''
  /** The run of the checkpoint restored (null: a fresh start, or a checkpoint from before runs were stored). */
  private restoredRun: string | null = null
  /** While an asynchronous committedCheckpoints() answer is awaited: input is held back, nothing runs. */
  opening: Promise<void> | null = null

  constructor(private readonly twoPhase: TwoPhaseCommittingSink<T, C>) {
    super(null)
  }

  override initializeState(states: unknown[], _isRestored = false, operatorState: OperatorStateSnapshot = {}): void {
    const run = operatorState[RUN_STATE]?.values.find((v) => typeof v === 'string')
    if (typeof run === 'string') this.restoredRun = run
    for (const raw of states) {
      const state = raw as CommittingSinkState
      if (state === null || typeof state !== 'object' || state.version !== 1 || !Array.isArray(state.committables)) {
        throw new WeirError('WEIR_RESTORE_FAILED', `the stored state of sink '${this.ctx.location.operatorName}' is not a two-phase sink's state (was the sink replaced by another kind?)`, { domain: 'user' })
      }
      if (state.writer !== undefined) this.restoredWriter.push(state.writer)
      for (const c of state.committables) this.pending.push({ checkpointId: c.checkpointId, committable: c.committable, retries: 0 })
    }
  }

  override open(): void {
    const recovery = this.ctx.recovery
    const restoring = recovery?.checkpointId ?? null
    const freshRun = recovery?.jobId ?? 'local'
    const ask = this.twoPhase.committedCheckpoints
    if (restoring === null || this.restoredRun === null || !ask) {
      this.start(restoring !== null ? (this.restoredRun ?? freshRun) : freshRun)
      return
    }
    const run = this.restoredRun
    let answer: ReturnType<typeof ask>
    try {
      answer = ask.call(this.twoPhase, { jobName: this.ctx.runtimeContext.jobName, operatorUid: this.ctx.location.uid, run })
    } catch (e) {
      // A sink's own typed error (a damaged record of its commits) says more than a wrapper would.
      throw isWeirError(e) ? e : this.userError(e)
    }
    if (!(answer instanceof Promise)) {
      this.start(this.judge(answer, restoring, run, freshRun))
      return
    }
    // Nothing may run before the answer: not the writer (it cleans up leftovers), not the commits.
    this.opening = answer.then(
      (committed) => new Promise<void>((resolve) => this.ctx.post(() => {
        this.opening = null
        resolve()
        this.start(this.judge(committed, restoring, run, freshRun))
      })),
      (e) => {
        this.opening = null
        this.fail(e, `reading which checkpoints it committed`)
      },
    )
  }

  /** The run to go on in, or throws the refusal (not wrapped: it is not the user function's failure). */
  private judge(committed: readonly CommittedCheckpoint[], restoring: number, run: string, freshRun: string): string {
    const verdict = judgeRestore(restoring, committed)
    if (verdict.ok) return run
    if (!this.ctx.recovery!.allowDuplicateOutput) throw restoreRefusal(this.ctx.location, restoring, verdict.newest)
    this.ctx.log?.('warn', forcedRestoreWarning(this.ctx.location, restoring, verdict.newest))
    // A new run: what the old one committed no longer speaks against the restores that follow.
    return freshRun
  }

  private start(run: string): void {
    this.run = run
    const rc = this.ctx.runtimeContext
    this.committer = this.call(() => this.twoPhase.createCommitter({ subtaskIndex: rc.subtaskIndex, parallelism: rc.parallelism, jobName: rc.jobName, operatorUid: this.ctx.location.uid, run }))
    const recovered = this.pending.map((p) => p.committable)
    // Restored committables belong to a completed checkpoint (the one restored): commit them now.
    if (this.pending.length > 0) this.commitDue(Math.max(...this.pending.map((p) => p.checkpointId)))
    this.writer = this.call(() => this.twoPhase.createWriter(this.writerContext(recovered), this.restoredWriter))
    this.restoredWriter = []
  }

  protected override writerContext(recovered: readonly unknown[]): SinkWriterContext {
    return { ...super.writerContext(recovered), run: this.run }
  }

  override isBlocked(): boolean {
    return this.opening !== null || super.isBlocked()
  }

  override onIdle(): void {
    if (this.opening === null) super.onIdle()
  }

  override snapshotOperatorState(): OperatorStateSnapshot {
    return { [RUN_STATE]: { mode: 'union', values: [this.run] } }
  }

  private get committingWriter(): CommittingSinkWriter<T, C> {
    return this.writer as CommittingSinkWriter<T, C>
  }

  override snapshotState(checkpointId: number): CommittingSinkState | Promise<CommittingSinkState> {
    this.throwIfFailed()
    const carried = this.pending.slice()
    const writerState = this.writer.snapshotState ? this.call(() => this.writer.snapshotState!(checkpointId)) : undefined
    const prepared = this.call(() => this.committingWriter.prepareCommit(checkpointId))
    const assemble = (committables: unknown[]): CommittingSinkState => {
      const fresh = committables.map((committable) => ({ checkpointId, committable, retries: 0 }))
      this.pending.push(...fresh)
      // Everything due up to here: what was pending at the synchronous phase (some of it may have
      // been committed since; committing again is harmless) and what earlier pre-commits added.
      const all = new Set<PendingCommittable>(carried)
      for (const p of this.pending) if (p.checkpointId <= checkpointId) all.add(p)
      return { version: 1, ...(writerState !== undefined ? { writer: writerState } : {}), committables: [...all].map((p) => ({ checkpointId: p.checkpointId, committable: p.committable })) }
    }
    if (Array.isArray(prepared) && this.prepares === RESOLVED) return assemble(prepared)
    const result = Promise.all([this.prepares, prepared]).then(([, committables]) => assemble(committables))
    const chained = result.catch(() => {})
    this.prepares = chained
    void chained.then(() => {
      if (this.prepares === chained) this.prepares = RESOLVED
    })
    return result
  }

  override notifyCheckpointComplete(checkpointId: number): void {
    this.throwIfFailed()
    this.call(() => this.writer.notifyCheckpointComplete?.(checkpointId))
    this.commitDue(checkpointId)
  }

  override endInput(): void {
    super.endInput()
    if (this.ctx.checkpointing) return // the final checkpoint commits
    // No checkpoints: the end of a bounded job is the only commit point.
    const prepared = this.call(() => this.committingWriter.prepareCommit(END_OF_INPUT_CHECKPOINT))
    const add = (committables: unknown[]) => {
      for (const committable of committables) this.pending.push({ checkpointId: END_OF_INPUT_CHECKPOINT, committable, retries: 0 })
      this.commitDue(END_OF_INPUT_CHECKPOINT)
    }
    if (Array.isArray(prepared)) add(prepared)
    else this.commits = this.commits.then(() => prepared).then(add, (e) => this.fail(e, 'pre-committing at the end of input'))
  }

  /** Resolves when every commit started so far has finished (for tests and close). */
  async whenCommitted(): Promise<void> {
    let seen: Promise<void>
    do {
      seen = this.commits
      await seen
    } while (seen !== this.commits)
    if (this.failure) throw this.failure
  }

  override close(): Promise<void> {
    return (async () => {
      await this.opening
      await this.whenCommitted()
      try {
        await this.writer.close()
        await this.committer.close()
      } catch (e) {
        throw this.closeError(e)
      }
    })()
  }

  override dispose(): void {
    super.dispose()
    try {
      const closed = this.committer?.close()
      if (closed instanceof Promise) closed.catch(() => {})
    } catch {
      // best effort
    }
  }

  /** Commits, in order, every pending committable of checkpoints up to `checkpointId`. */
  private commitDue(checkpointId: number): void {
    const due = this.pending.filter((p) => p.checkpointId <= checkpointId && !this.committing.has(p))
    if (due.length === 0) return
    for (const p of due) this.committing.add(p)
    this.commits = this.commits.then(() => this.commitWithRetries(due, checkpointId))
  }

  private async commitWithRetries(due: PendingCommittable[], checkpointId: number): Promise<void> {
    if (this.failure) return
    const retries = this.twoPhase.maxCommitRetries ?? DEFAULT_COMMIT_RETRIES
    for (;;) {
      try {
        const requests: CommitRequest<C>[] = due.map((p) => ({ committable: p.committable as C, checkpointId: p.checkpointId, retries: p.retries }))
        await this.committer.commit(requests)
        break
      } catch (e) {
        if (due[0]!.retries >= retries) return this.fail(e, `committing checkpoint ${checkpointId} after ${retries} retries`)
        for (const p of due) p.retries++
        await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY_MS * 2 ** (due[0]!.retries - 1)))
      }
    }
    const done = new Set(due)
    this.pending = this.pending.filter((p) => !done.has(p))
    for (const p of due) this.committing.delete(p)
    this.committed(checkpointId)
  }

  /** Every committable of checkpoints up to `checkpointId` is committed: the one place that knows what this sink committed last. */
  private committed(checkpointId: number): void {
    if (!this.pending.some((p) => p.checkpointId <= checkpointId)) this.lastCommittedCheckpoint = Math.max(this.lastCommittedCheckpoint, checkpointId)
  }

  private fail(e: unknown, what: string): void {
    this.failure ??= new WeirError('WEIR_SINK_FAILED', `sink '${this.ctx.location.operatorName}' (subtask ${this.ctx.runtimeContext.subtaskIndex}) failed ${what}: ${(e as Error)?.message ?? e}`, { cause: e, domain: 'external', retriable: true })
    const failure = this.failure
    this.ctx.post(() => {
      throw failure
    })
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure
  }
}

