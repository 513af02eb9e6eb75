// The committing sink operator's guard on restore (src/operators/committing-sink.ts), with an
// in-memory two-phase sink whose committedCheckpoints() answers when the test says so: nothing
// (no writer, no committer, no commit of restored committables, no input) runs before the
// answer; a refusal fails the subtask with the typed error; the run travels in union state.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { CommittedCheckpoint, CommittedCheckpointsQuery, Committer, CommittingSinkWriter, TwoPhaseCommittingSink } from '../../src/api/sink.ts'
import { CommittingSinkOperator, RUN_STATE } from '../../src/operators/committing-sink.ts'
import { isWeirError } from '../../src/errors.ts'
import { SinkSubtask } from '../helpers/sink-harness.ts'
import { decodeValue } from '../../src/runtime/network/batch-codec.ts'

interface Batch {
  readonly lines: string[]
}

/** A destination: committed lines, and per run the newest checkpoint per subtask. */
class Store {
  readonly lines: string[] = []
  readonly committed = new Map<string, Map<number, number>>()
  readonly events: string[] = []
  readonly queries: CommittedCheckpointsQuery[] = []
}

class MemorySink implements TwoPhaseCommittingSink<string, Batch> {
  /** Set: committedCheckpoints answers with a promise the test resolves. */
  pendingAnswer: ((answer: CommittedCheckpoint[] | Error) => void) | null = null
  constructor(private readonly store: Store, private readonly asynchronous: boolean) {}
  createWriter(): CommittingSinkWriter<string, Batch> {
    this.store.events.push('writer')
    let lines: string[] = []
    return {
      write: (line) => void lines.push(line),
      flush() {},
      close() {},
      prepareCommit: () => {
        const batch = { lines }
        lines = []
        return batch.lines.length > 0 ? [batch] : []
      },
    }
  }
  createCommitter(ctx: { subtaskIndex: number; run: string }): Committer<Batch> {
    this.store.events.push('committer')
    return {
      commit: (requests) => {
        for (const r of requests) {
          this.store.lines.push(...r.committable.lines)
          const run = this.store.committed.get(ctx.run) ?? new Map<number, number>()
          run.set(ctx.subtaskIndex, r.checkpointId)
          this.store.committed.set(ctx.run, run)
          this.store.events.push(`commit ${r.checkpointId}`)
        }
      },
      close() {},
    }
  }
  committedCheckpoints(query: CommittedCheckpointsQuery): CommittedCheckpoint[] | Promise<CommittedCheckpoint[]> {
    this.store.queries.push(query)
    const answer = [...(this.store.committed.get(query.run) ?? new Map<number, number>())].map(([subtaskIndex, checkpointId]) => ({ subtaskIndex, checkpointId }))
    if (!this.asynchronous) return answer
    return new Promise((resolve, reject) => {
      this.pendingAnswer = (given) => (given instanceof Error ? reject(given) : resolve(given))
    })
  }
}

/** A run that committed checkpoints 1 (a, b) and 2 (c), then died; returns checkpoint 1's stored state. */
async function committedTwo(store: Store, sink: MemorySink): Promise<Uint8Array> {
  const s = new SinkSubtask<string>(sink, { jobId: 'first-job' })
  s.write('a', 'b')
  const c1 = await s.checkpoint(1)
  await s.complete(1)
  s.write('c')
  await s.checkpoint(2)
  await s.complete(2)
  s.crash()
  store.events.length = 0
  return c1
}

test('the run a fresh start begins (the job id) is stored as union operator state and asked about on a restore', async () => {
  const store = new Store()
  const sink = new MemorySink(store, false)
  const c1 = await committedTwo(store, sink)
  const stored = decodeValue<{ operatorState: Record<string, { mode: string; values: unknown[] }> }>(c1)
  assert.deepEqual(stored.operatorState[RUN_STATE], { mode: 'union', values: ['first-job'] })
  const s = new SinkSubtask<string>(sink, { jobId: 'second-job', restored: [c1], restoredFrom: 2 })
  assert.deepEqual(store.queries.map((q) => q.run), ['first-job'], 'the restore asks about the run it continues, not its own job id')
  assert.equal((s.operator as CommittingSinkOperator<string, Batch>).run, 'first-job')
  s.crash()
})

test('a synchronous refusal is thrown by open, before the committer or the writer exist', async () => {
  const store = new Store()
  const sink = new MemorySink(store, false)
  const c1 = await committedTwo(store, sink)
  assert.throws(() => new SinkSubtask<string>(sink, { jobId: 'second-job', restored: [c1], restoredFrom: 1 }), (e) => isWeirError(e) && e.code === 'WEIR_RESTORE_BEHIND_COMMITTED_OUTPUT' && /checkpoint 1 .*checkpoint 2/.test(e.message))
  assert.deepEqual(store.events, [], 'no writer, no committer, no commit')
  assert.deepEqual(store.lines, ['a', 'b', 'c'])
})

test('while an asynchronous answer is awaited nothing runs and input is held back; a refusal then fails the subtask', async () => {
  const store = new Store()
  const sink = new MemorySink(store, true)
  const c1 = await committedTwo(store, new MemorySink(store, false))
  const s = new SinkSubtask<string>(sink, { jobId: 'second-job', restored: [c1], restoredFrom: 1 })
  const operator = s.operator as CommittingSinkOperator<string, Batch>
  assert.ok(operator.opening, 'opening is pending')
  assert.equal(operator.isBlocked(), true, 'the task feeds it no records meanwhile')
  operator.onIdle() // an idle task flushes its operators: harmless before the writer exists
  assert.deepEqual(store.events, [], 'no writer, no committer yet')
  sink.pendingAnswer!([{ subtaskIndex: 0, checkpointId: 2 }])
  await s.opened()
  assert.equal(s.failures.length, 1)
  const e = s.failures[0]
  assert.ok(isWeirError(e) && e.code === 'WEIR_RESTORE_BEHIND_COMMITTED_OUTPUT', String(e))
  assert.deepEqual(store.events, [], 'refused: still no writer, committer or commit')
})

test('an asynchronous answer that allows the restore opens the sink then: restored committables are committed, input flows', async () => {
  const store = new Store()
  const first = new MemorySink(store, false)
  const s1 = new SinkSubtask<string>(first, { jobId: 'first-job' })
  s1.write('a')
  const c1 = await s1.checkpoint(1) // completed, but the subtask died before it heard so
  s1.crash()
  store.events.length = 0
  const sink = new MemorySink(store, true)
  const s = new SinkSubtask<string>(sink, { jobId: 'second-job', restored: [c1], restoredFrom: 1 })
  sink.pendingAnswer!([])
  await s.whenCommitted()
  assert.equal(s.failures.length, 0)
  assert.deepEqual(store.events, ['committer', 'writer', 'commit 1'], 'commits run off the task thread, after open')
  assert.equal((s.operator as CommittingSinkOperator<string, Batch>).isBlocked(), false)
  s.write('b')
  await s.checkpoint(2)
  await s.complete(2)
  assert.deepEqual(store.lines, ['a', 'b'])
})

test('a failing asynchronous answer fails the subtask naming what it was doing (a restart may help)', async () => {
  const store = new Store()
  const sink = new MemorySink(store, true)
  const c1 = await committedTwo(store, new MemorySink(store, false))
  const s = new SinkSubtask<string>(sink, { jobId: 'second-job', restored: [c1], restoredFrom: 1 })
  sink.pendingAnswer!(new Error('connection refused'))
  await s.opened()
  const e = s.failures[0]
  assert.ok(isWeirError(e) && e.code === 'WEIR_SINK_FAILED' && e.retriable, String(e))
  assert.match((e as Error).message, /reading which checkpoints it committed: connection refused/)
})

test('a restore from a checkpoint without a stored run (written before runs existed) is not checked and begins a new run', async () => {
  const store = new Store()
  const sink = new MemorySink(store, false)
  const c1 = await committedTwo(store, sink)
  const stored = decodeValue<{ state: unknown }>(c1)
  const { encodeValue } = await import('../../src/runtime/network/batch-codec.ts')
  const legacy = encodeValue({ state: stored.state, operatorState: null })
  const s = new SinkSubtask<string>(sink, { jobId: 'second-job', restored: [legacy], restoredFrom: 1 })
  assert.deepEqual(store.queries, [])
  assert.equal((s.operator as CommittingSinkOperator<string, Batch>).run, 'second-job')
  s.crash()
})
