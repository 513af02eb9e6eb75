// The contract every sink runs (DESIGN.md: one contract suite per pluggable interface): commit on
// checkpoint completion, aborted checkpoints, recovery after each phase of the two-phase commit,
// duplicates across restarts, rescaling, and the end of a bounded job. An implementation's test
// calls sinkContract() with a way to make an empty destination and read back what it committed.
// Records are numbered; `committed()` returns the numbers found at the destination.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Sink, TwoPhaseCommittingSink } from '../../src/api/sink.ts'
import { SinkSubtask, type SubtaskOptions } from '../helpers/sink-harness.ts'
import { isWeirError, type WeirError } from '../../src/errors.ts'

export type Guarantee = 'exactly-once' | 'at-least-once' | 'idempotent'

export interface SinkDestination<T> {
  /** A new sink writing to this destination (called once per subtask and restart). */
  sink(): Sink<T> | TwoPhaseCommittingSink<T, unknown>
  /** The numbers of the records the destination holds now (committed, visible to readers), duplicates included. */
  committed(): Promise<number[]>
  /** Subtask options for this destination (e.g. its own job name, so that runs do not share names in the external system). */
  readonly subtaskOptions?: SubtaskOptions
}

export interface SinkUnderTest<T> {
  readonly name: string
  /** exactly-once: each record once, visible only after its checkpoint completed; idempotent: each once (by key or message id), visible before its checkpoint completed; at-least-once: each at least once. */
  readonly guarantee: Guarantee
  /** An empty destination. */
  fresh(): Promise<SinkDestination<T>>
  /** Record number i. */
  record(i: number): T
  /** Subtask options every subtask of this suite gets (e.g. a job name). */
  readonly options?: SubtaskOptions
  /** The sink reports what it committed (TwoPhaseCommittingSink.committedCheckpoints): restores older than that are refused. */
  readonly reportsCommitted?: boolean
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i)
}

/** Two subtasks of a job at parallelism 2, records 0-4 and 5-9 written, both at checkpoint 1: them and their states. */
async function twoSubtasksAtCheckpoint1<T>(
  subtask: (d: SinkDestination<T>, options?: SubtaskOptions) => SinkSubtask<T>,
  write: (s: SinkSubtask<T>, from: number, to: number) => void,
  d: SinkDestination<T>,
  jobId: string,
) {
  const a = subtask(d, { subtaskIndex: 0, parallelism: 2, jobId })
  const b = subtask(d, { subtaskIndex: 1, parallelism: 2, jobId })
  write(a, 0, 5)
  write(b, 5, 10)
  return { a, b, ca: await a.checkpoint(1), cb: await b.checkpoint(1) }
}

export function sinkContract<T>(impl: SinkUnderTest<T>): void {
  const name = impl.name
  const subtask = (d: SinkDestination<T>, options: SubtaskOptions = {}) => new SinkSubtask<T>(d.sink(), { ...impl.options, ...d.subtaskOptions, ...options })
  const write = (s: SinkSubtask<T>, from: number, to: number) => s.write(...range(from, to).map((i) => impl.record(i)))

  /** The destination holds exactly `expected` (at-least-once: every one of them, and nothing else). */
  async function assertHolds(d: SinkDestination<T>, expected: number[], what: string): Promise<void> {
    const got = (await d.committed()).sort((a, b) => a - b)
    if (impl.guarantee === 'at-least-once') {
      assert.deepEqual([...new Set(got)], [...expected].sort((a, b) => a - b), `${name}: ${what}: every record at least once, nothing else`)
    } else {
      assert.deepEqual(got, [...expected].sort((a, b) => a - b), `${name}: ${what}: every record exactly once`)
    }
  }

  test(`${name}: records become visible when their checkpoint completes${impl.guarantee === 'exactly-once' ? ', not before' : ''}`, async () => {
    const d = await impl.fresh()
    const s = subtask(d)
    write(s, 0, 10)
    await s.checkpoint(1)
    if (impl.guarantee === 'exactly-once') assert.deepEqual(await d.committed(), [], `${name}: nothing is visible before checkpoint 1 completed`)
    await s.complete(1)
    await assertHolds(d, range(0, 10), 'after checkpoint 1 completed')
    await s.finish()
  })

  test(`${name}: an aborted checkpoint's records are committed with the next checkpoint that completes`, async () => {
    const d = await impl.fresh()
    const s = subtask(d)
    write(s, 0, 5)
    await s.checkpoint(1)
    s.abort(1)
    write(s, 5, 10)
    await s.checkpoint(2)
    if (impl.guarantee === 'exactly-once') assert.deepEqual(await d.committed(), [])
    await s.complete(2)
    await assertHolds(d, range(0, 10), 'checkpoint 2 subsumes the aborted checkpoint 1')
    await s.finish()
  })

  test(`${name}: a failure before the pre-commit is recovered from the previous checkpoint without duplicates`, async () => {
    const d = await impl.fresh()
    const s1 = subtask(d)
    write(s1, 0, 5)
    const c1 = await s1.checkpoint(1)
    await s1.complete(1)
    write(s1, 5, 10)
    s1.crash()
    const s2 = subtask(d, { attemptNumber: 1, restored: [c1], restoredFrom: 1 })
    await s2.whenCommitted()
    write(s2, 5, 10) // the source rewinds to checkpoint 1
    await s2.checkpoint(2)
    await s2.complete(2)
    await assertHolds(d, range(0, 10), 'after the restore')
    await s2.finish()
  })

  test(`${name}: a failure after the pre-commit, before its checkpoint completed, drops what that checkpoint staged`, async () => {
    const d = await impl.fresh()
    const s1 = subtask(d)
    write(s1, 0, 5)
    const c1 = await s1.checkpoint(1)
    await s1.complete(1)
    write(s1, 5, 10)
    await s1.checkpoint(2) // never completes
    s1.crash()
    const s2 = subtask(d, { attemptNumber: 1, restored: [c1], restoredFrom: 1 })
    await s2.whenCommitted()
    if (impl.guarantee === 'exactly-once') await assertHolds(d, range(0, 5), 'checkpoint 2 never completed: its records are not visible')
    write(s2, 5, 10)
    await s2.checkpoint(2)
    await s2.complete(2)
    await assertHolds(d, range(0, 10), 'after the restore and a new checkpoint 2')
    await s2.finish()
  })

  test(`${name}: a failure after the checkpoint completed, before the commit, is committed by the restore`, async () => {
    const d = await impl.fresh()
    const s1 = subtask(d)
    write(s1, 0, 10)
    const c1 = await s1.checkpoint(1)
    s1.crash() // checkpoint 1 completed, but the subtask died before it heard so
    const s2 = subtask(d, { attemptNumber: 1, restored: [c1], restoredFrom: 1 })
    await s2.whenCommitted()
    await assertHolds(d, range(0, 10), 'the restore committed what checkpoint 1 staged')
    write(s2, 10, 15)
    await s2.checkpoint(2)
    await s2.complete(2)
    await assertHolds(d, range(0, 15), 'after checkpoint 2')
    await s2.finish()
  })

  test(`${name}: restoring the same committed checkpoint again and again commits nothing twice`, async () => {
    const d = await impl.fresh()
    const s1 = subtask(d)
    write(s1, 0, 10)
    const c1 = await s1.checkpoint(1)
    await s1.complete(1)
    s1.crash()
    for (let attempt = 1; attempt <= 3; attempt++) {
      const s = subtask(d, { attemptNumber: attempt, restored: [c1], restoredFrom: 1 })
      await s.whenCommitted()
      write(s, 10, 12) // fails again before its next checkpoint
      s.crash()
    }
    const last = subtask(d, { attemptNumber: 4, restored: [c1], restoredFrom: 1 })
    await last.whenCommitted()
    write(last, 10, 12)
    await last.checkpoint(2)
    await last.complete(2)
    await assertHolds(d, range(0, 12), 'after four restores of checkpoint 1')
    await last.finish()
  })

  test(`${name}: two subtasks restored as one (rescaling from 2 to 1) commit both subtasks' staged records`, async () => {
    const d = await impl.fresh()
    const { a, b, ca, cb } = await twoSubtasksAtCheckpoint1(subtask, write, d, 'rescaled-job')
    a.crash()
    b.crash()
    const one = subtask(d, { subtaskIndex: 0, parallelism: 1, attemptNumber: 1, restored: [ca, cb], restoredFrom: 1 })
    await one.whenCommitted()
    await assertHolds(d, range(0, 10), 'both restored states committed')
    write(one, 10, 12)
    await one.checkpoint(2)
    await one.complete(2)
    await assertHolds(d, range(0, 12), 'after checkpoint 2 at parallelism 1')
    await one.finish()
  })

  test(`${name}: without checkpoints, the end of a bounded job commits everything written`, async () => {
    const d = await impl.fresh()
    const s = subtask(d, { checkpointing: false })
    write(s, 0, 10)
    await s.finish()
    await assertHolds(d, range(0, 10), 'after the end of input')
  })

  test(`${name}: ${impl.reportsCommitted ? 'reports' : 'does not report'} which checkpoints it committed`, async () => {
    const d = await impl.fresh()
    const sink = d.sink() as TwoPhaseCommittingSink<T, unknown>
    assert.equal(typeof sink.committedCheckpoints === 'function', impl.reportsCommitted === true, `${name}: committedCheckpoints is ${impl.reportsCommitted ? 'missing' : 'there, but the suite does not know it'}`)
  })

  if (impl.reportsCommitted) restoreGuardContract(impl, subtask, write, assertHolds)

  if (impl.guarantee === 'exactly-once') {
    test(`${name}: with checkpoints, finishing commits nothing that no completed checkpoint covers`, async () => {
      const d = await impl.fresh()
      const s = subtask(d)
      write(s, 0, 5)
      await s.checkpoint(1)
      await s.complete(1)
      write(s, 5, 10)
      await s.finish()
      await assertHolds(d, range(0, 5), 'records after checkpoint 1 are not committed')
    })
  }
}

/** How a restore ended: the refusal (thrown by open, or posted by an asynchronous check), or the subtask. */
async function restoreOutcome<T>(make: () => SinkSubtask<T>): Promise<{ refused: WeirError } | { subtask: SinkSubtask<T> }> {
  let s: SinkSubtask<T>
  try {
    s = make()
  } catch (e) {
    assert.ok(isWeirError(e), `a refusal is a WeirError, got ${String(e)}`)
    return { refused: e }
  }
  await s.opened()
  const failure = s.failures[0]
  if (failure === undefined) return { subtask: s }
  assert.ok(isWeirError(failure), `a refusal is a WeirError, got ${String(failure)}`)
  return { refused: failure }
}

/** For sinks that report what they committed: restores older than that are refused, unless forced. */
function restoreGuardContract<T>(
  impl: SinkUnderTest<T>,
  subtask: (d: SinkDestination<T>, options?: SubtaskOptions) => SinkSubtask<T>,
  write: (s: SinkSubtask<T>, from: number, to: number) => void,
  assertHolds: (d: SinkDestination<T>, expected: number[], what: string) => Promise<void>,
): void {
  const name = impl.name

  /** A run that committed checkpoints 1 and 2 (records 0-5 and 5-10) and died; c1 is checkpoint 1's stored state. */
  async function committedTwo(d: SinkDestination<T>, jobId: string): Promise<Uint8Array> {
    const s = subtask(d, { jobId })
    write(s, 0, 5)
    const c1 = await s.checkpoint(1)
    await s.complete(1)
    write(s, 5, 10)
    await s.checkpoint(2)
    await s.complete(2)
    s.crash()
    return c1
  }

  test(`${name}: a restore from a checkpoint older than committed output is refused, naming both checkpoints and how to force it`, async () => {
    const d = await impl.fresh()
    const c1 = await committedTwo(d, 'guarded-job')
    const outcome = await restoreOutcome(() => subtask(d, { attemptNumber: 1, restored: [c1], restoredFrom: 1, jobId: 'resumed-job' }))
    assert.ok('refused' in outcome, `${name}: restoring checkpoint 1 after checkpoint 2 was committed must be refused`)
    const e = outcome.refused
    assert.equal(e.code, 'WEIR_RESTORE_BEHIND_COMMITTED_OUTPUT')
    assert.equal(e.retriable, false, 'a restart would be refused again')
    assert.match(e.message, /cannot restore checkpoint 1 into .*operator 'Sink'.*subtask 1\/1/)
    assert.match(e.message, /committed the output of checkpoint 2/)
    assert.match(e.message, /execution\.state-recovery\.allow-duplicate-output: true \(weir run --allow-duplicate-output\)/)
    await assertHolds(d, range(0, 10), 'a refused restore commits and deletes nothing')
  })

  test(`${name}: a forced restore from an older checkpoint warns and writes the records after it again`, async () => {
    const d = await impl.fresh()
    const c1 = await committedTwo(d, 'forced-job')
    const outcome = await restoreOutcome(() => subtask(d, { attemptNumber: 1, restored: [c1], restoredFrom: 1, jobId: 'forcing-job', allowDuplicateOutput: true }))
    assert.ok('subtask' in outcome, `${name}: a forced restore goes on`)
    const s = outcome.subtask
    assert.equal(s.logs.length, 1)
    assert.match(s.logs[0]!, /^Warning: restoring checkpoint 1 .* although this sink already committed the output of checkpoint 2/)
    await s.whenCommitted()
    write(s, 5, 10) // the source rewinds to checkpoint 1
    const c2 = await s.checkpoint(2)
    await s.complete(2)
    await assertHolds(d, [...range(0, 10), ...range(5, 10)], 'the records after checkpoint 1 twice, as the user accepted')
    s.crash()
    // The forced restore began a new run: a later ordinary restore of it is judged by that run alone.
    const again = await restoreOutcome(() => subtask(d, { attemptNumber: 2, restored: [c2], restoredFrom: 2, jobId: 'forcing-job' }))
    assert.ok('subtask' in again, `${name}: a restart after the forced restore goes on (its refusal: ${'refused' in again ? again.refused.message : ''})`)
    await again.subtask.finish()
  })

  test(`${name}: a restore from the newest committed checkpoint, and a fresh start in the same destination, go on`, async () => {
    const d = await impl.fresh()
    const s1 = subtask(d, { jobId: 'newest-job' })
    write(s1, 0, 5)
    await s1.checkpoint(1)
    await s1.complete(1)
    write(s1, 5, 10)
    const c2 = await s1.checkpoint(2)
    await s1.complete(2)
    s1.crash()
    const resumed = await restoreOutcome(() => subtask(d, { attemptNumber: 1, restored: [c2], restoredFrom: 2, jobId: 'next-job' }))
    assert.ok('subtask' in resumed, `${name}: checkpoint 2 is the newest committed one`)
    await resumed.subtask.whenCommitted()
    await resumed.subtask.finish()
    // A new run of the job (no restore): its checkpoint ids start again at 1; nothing to compare.
    const fresh = subtask(d, { jobId: 'fresh-job' })
    write(fresh, 10, 12)
    const f1 = await fresh.checkpoint(1)
    await fresh.complete(1)
    fresh.crash()
    const restarted = await restoreOutcome(() => subtask(d, { attemptNumber: 1, restored: [f1], restoredFrom: 1, jobId: 'fresh-job' }))
    assert.ok('subtask' in restarted, `${name}: the new run's checkpoint 1 is not judged by the old run's checkpoint 2`)
    await restarted.subtask.finish()
    await assertHolds(d, range(0, 12), 'both runs, each record once')
  })

  test(`${name}: after rescaling from 2 to 1, a restore older than what either old subtask committed is refused, naming that subtask`, async () => {
    const d = await impl.fresh()
    const { a, b, ca, cb } = await twoSubtasksAtCheckpoint1(subtask, write, d, 'scaled-job')
    await a.complete(1)
    await b.complete(1)
    write(b, 10, 12) // only subtask 1 has output in checkpoint 2
    await a.checkpoint(2)
    await b.checkpoint(2)
    await a.complete(2)
    await b.complete(2)
    a.crash()
    b.crash()
    const outcome = await restoreOutcome(() => subtask(d, { subtaskIndex: 0, parallelism: 1, attemptNumber: 1, restored: [ca, cb], restoredFrom: 1, jobId: 'scaled-up' }))
    assert.ok('refused' in outcome, `${name}: old subtask 1 committed checkpoint 2`)
    assert.match(outcome.refused.message, /checkpoint 2 \(recorded by its subtask with index 1\)/)
    // Scaling up from checkpoint 1 is refused on every new subtask, also one that inherits only the run (union state).
    const third = await restoreOutcome(() => subtask(d, { subtaskIndex: 2, parallelism: 3, attemptNumber: 1, restored: [], unionStateOf: [ca, cb], restoredFrom: 1, jobId: 'scaled-up' }))
    assert.ok('refused' in third, `${name}: new subtask 3/3 inherits no committables, but knows the run and refuses too`)
    assert.match(third.refused.message, /subtask 3\/3: this sink already committed the output of checkpoint 2/)
    await assertHolds(d, range(0, 12), 'nothing committed twice')
  })
}
