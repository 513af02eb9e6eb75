import { test } from 'node:test'
import assert from 'node:assert/strict'
import { StreamEnvironment } from '../../src/api/environment.ts'
import { Configuration, type RawConfig } from '../../src/config/configuration.ts'
import { buildJobGraph } from '../../src/graph/job-graph.ts'
import { readCheckpointOptions } from '../../src/checkpoint/checkpoint-options.ts'
import { CheckpointCoordinator, type CoordinatorAttempt } from '../../src/checkpoint/coordinator.ts'
import type { CheckpointBarrier } from '../../src/runtime/network/events.ts'
import type { TaskAck } from '../../src/checkpoint/state-handle.ts'
import type { WeirError } from '../../src/errors.ts'
import { SimulatedClock } from '../../src/testing/simulated-clock.ts'
import { SimulatedCheckpointStorage, type StorageOperation } from '../../src/testing/simulated-storage.ts'
import { WAIT_MS } from '../helpers/deadlines.ts'

/** An attempt that records what the coordinator tells it. */
class RecordingAttempt implements CoordinatorAttempt {
  readonly triggered: number[] = []
  readonly completed: number[] = []
  readonly aborted: number[] = []
  readonly failures: WeirError[] = []
  running = true
  constructor(readonly taskKeys: readonly string[]) {}
  allTasksRunning(): boolean {
    return this.running
  }
  sendTrigger(barrier: CheckpointBarrier): void {
    this.triggered.push(barrier.id)
  }
  sendComplete(id: number): void {
    this.completed.push(id)
  }
  sendAborted(id: number): void {
    this.aborted.push(id)
  }
  snapshotEnumerators(id: number): Record<string, unknown> {
    return { src: { id } }
  }
  failJob(error: WeirError): void {
    this.failures.push(error)
  }
}

function setup(raw: RawConfig = {}, latency: Partial<Record<StorageOperation, number>> = {}) {
  const e = new StreamEnvironment([], new Configuration({ 'parallelism.default': 1 }))
  e.fromSequence(1, 10).uid('src').map((x) => [x % 2, x] as [number, number]).keyBy((t) => t[0]).sum(1).uid('sum').print().uid('sink')
  const graph = buildJobGraph(e.transformations, { defaultParallelism: 1, maxParallelism: -1, chaining: true })
  const clock = new SimulatedClock(0)
  const storage = new SimulatedCheckpointStorage(clock, { latency: (op) => latency[op] ?? 0, fails: () => false })
  const options = readCheckpointOptions(new Configuration({ 'execution.checkpointing.interval': 100, ...raw }))
  const coordinator = new CheckpointCoordinator(options, storage, { jobId: 'job', jobName: 'job', graph }, 0, clock)
  const tasks = graph.vertices.flatMap((v) => Array.from({ length: v.parallelism }, (_, i) => `${v.id}/${i}`))
  return { clock, storage, coordinator, tasks }
}

function ack(task: string): TaskAck {
  const [vertex, subtask] = task.split('/').map(Number) as [number, number]
  return { vertex, subtask, handle: { type: 'file', path: `task-${vertex}-${subtask}-0.state`, size: 10 }, stateSize: 8, syncMs: 1, asyncMs: 1, alignmentMs: 0 }
}

async function advance(clock: SimulatedClock, ms: number): Promise<void> {
  await clock.advanceSettled(ms)
}

test('the first checkpoint triggers one interval after the attempt starts, the next one interval later', async () => {
  const { clock, coordinator, tasks } = setup()
  const attempt = new RecordingAttempt(tasks)
  coordinator.startAttempt(attempt)
  await advance(clock, 99)
  assert.deepEqual(attempt.triggered, [])
  await advance(clock, 1)
  assert.deepEqual(attempt.triggered, [1])
  for (const t of tasks) coordinator.onAck(1, ack(t))
  await advance(clock, 100)
  assert.deepEqual(attempt.triggered, [1, 2])
})

test('a checkpoint every task acknowledged is finalized, retained and reported complete', async () => {
  const { clock, coordinator, storage, tasks } = setup({}, { finalize: 30 })
  const attempt = new RecordingAttempt(tasks)
  coordinator.startAttempt(attempt)
  await advance(clock, 100)
  for (const t of tasks.slice(1)) coordinator.onAck(1, ack(t))
  await advance(clock, 50)
  assert.equal(storage.isFinalizing(1), false, 'not finalized before the last acknowledgement')
  coordinator.onAck(1, ack(tasks[0]!))
  await advance(clock, 29)
  assert.deepEqual(attempt.completed, [], 'not complete before the metadata is written')
  await advance(clock, 1)
  assert.deepEqual(attempt.completed, [1])
  assert.deepEqual(coordinator.completed.map((c) => c.id), [1])
  assert.equal(storage.held.get(1)?.checkpointId, 1)
  assert.deepEqual(storage.held.get(1)?.coordinators, { src: { id: 1 } })
  assert.equal(coordinator.history[0]!.status, 'COMPLETED')
  assert.equal(coordinator.history[0]!.durationMs, 80)
})

test('a declined checkpoint is aborted and the tasks are told', async () => {
  const { clock, coordinator, tasks } = setup({ 'execution.checkpointing.tolerable-failed-checkpoints': 1 })
  const attempt = new RecordingAttempt(tasks)
  coordinator.startAttempt(attempt)
  await advance(clock, 100)
  coordinator.onDecline(1, tasks[0]!, 'the snapshot failed')
  assert.deepEqual(attempt.aborted, [1])
  assert.match(coordinator.history[0]!.failureReason!, /^a task declined the checkpoint: task .*the snapshot failed/)
  assert.deepEqual(attempt.failures, [])
})

test('a checkpoint expires exactly at the timeout, and one counted failure too many fails the job', async () => {
  const { clock, coordinator, tasks } = setup({ 'execution.checkpointing.timeout': 250 })
  const attempt = new RecordingAttempt(tasks)
  coordinator.startAttempt(attempt)
  await advance(clock, 100 + 249)
  assert.deepEqual(attempt.aborted, [])
  await advance(clock, 1)
  assert.deepEqual(attempt.aborted, [1])
  assert.equal(attempt.failures.length, 1)
  assert.equal(attempt.failures[0]!.code, 'WEIR_CHECKPOINT_FAILED')
  assert.match(attempt.failures[0]!.message, /tolerable-failed-checkpoints \(0\)/)
})

test('when not all tasks run, the trigger is skipped until the next interval', async () => {
  const { clock, coordinator, tasks } = setup()
  const attempt = new RecordingAttempt(tasks)
  attempt.running = false
  coordinator.startAttempt(attempt)
  await advance(clock, 150)
  attempt.running = true
  await advance(clock, 49)
  assert.deepEqual(attempt.triggered, [])
  await advance(clock, 1)
  assert.deepEqual(attempt.triggered, [1])
})

test('regression: a completion is reported at once, not after the older checkpoints are deleted, so an attempt ending meanwhile cannot lose it', async () => {
  // Before the fix, complete() awaited the discard of dropped checkpoints before sendComplete:
  // an attempt that ended in that gap was never told, and the next attempt was told instead.
  const { clock, coordinator, storage, tasks } = setup({}, { discard: 500 })
  const first = new RecordingAttempt(tasks)
  coordinator.startAttempt(first)
  await advance(clock, 100)
  for (const t of tasks) coordinator.onAck(1, ack(t))
  await advance(clock, 100)
  for (const t of tasks) coordinator.onAck(2, ack(t))
  await advance(clock, 0)
  assert.deepEqual(first.completed, [1, 2], 'checkpoint 2 is reported while checkpoint 1 is still being deleted')
  assert.equal(storage.isDiscarding(1), true)
  assert.deepEqual(coordinator.completed.map((c) => c.id), [2])
  coordinator.stopAttempt('TASK_FAILURE')
  const second = new RecordingAttempt(tasks)
  coordinator.startAttempt(second)
  await advance(clock, 1000)
  assert.deepEqual(second.completed.filter((id) => id <= 2), [], 'the next attempt is not told of checkpoints it did not take')
  assert.equal(storage.held.has(1), false)
})

test('shutdown deletes the retained checkpoints when the policy says so and keeps them otherwise', async () => {
  for (const [retention, status, kept] of [
    ['NO_EXTERNALIZED_CHECKPOINTS', 'CANCELED', false],
    ['DELETE_ON_CANCELLATION', 'FAILED', true],
    ['RETAIN_ON_CANCELLATION', 'CANCELED', true],
  ] as const) {
    const { clock, coordinator, storage, tasks } = setup({ 'execution.checkpointing.externalized-checkpoint-retention': retention })
    coordinator.startAttempt(new RecordingAttempt(tasks))
    await advance(clock, 100)
    for (const t of tasks) coordinator.onAck(1, ack(t))
    await advance(clock, 0)
    const done = coordinator.shutdown(status)
    await clock.runUntilIdle()
    await done
    assert.equal(storage.held.has(1), kept, `${retention} x ${status}`)
  }
})

test('shared files are deleted once no retained checkpoint references them, and an aborted checkpoint releases its new ones', async () => {
  const { mkdtempSync, writeFileSync, existsSync, rmSync } = await import('node:fs')
  const { join } = await import('node:path')
  const { tmpdir } = await import('node:os')
  const dir = mkdtempSync(join(tmpdir(), 'weir-shared-'))
  const file = (name: string) => {
    const path = join(dir, name)
    writeFileSync(path, name)
    return path
  }
  const base = file('base')
  const delta2 = file('delta-2')
  const delta3 = file('delta-3')
  const orphan4 = file('delta-4')
  const { clock, coordinator, tasks } = setup({ 'state.checkpoints.num-retained': 1, 'execution.checkpointing.tolerable-failed-checkpoints': 5 })
  const attempt = new RecordingAttempt(tasks)
  coordinator.startAttempt(attempt)
  const complete = async (id: number, files: string[]) => {
    await advance(clock, 100)
    for (const t of tasks) coordinator.onAck(id, { ...ack(t), sharedFiles: t === tasks[0] ? files : [] })
    await advance(clock, 1)
  }
  await complete(1, [base])
  await complete(2, [base, delta2])
  await complete(3, [delta3])
  assert.deepEqual(attempt.completed, [1, 2, 3])
  // Deletions run in the background: wait for them (a fixed pause failed on a loaded machine).
  await until(() => !existsSync(base) && !existsSync(delta2), 'the dropped checkpoints\' shared files to be deleted')
  assert.equal(existsSync(base), false, 'base: only the dropped checkpoints 1 and 2 referenced it')
  assert.equal(existsSync(delta2), false)
  assert.equal(existsSync(delta3), true, 'the retained checkpoint 3 references it')
  // Checkpoint 4 is declined after one task acknowledged with a new file: the file goes.
  await advance(clock, 100)
  coordinator.onAck(4, { ...ack(tasks[0]!), sharedFiles: [delta3, orphan4] })
  coordinator.onDecline(4, tasks[1] ?? tasks[0]!, 'failed')
  await until(() => !existsSync(orphan4), 'the aborted checkpoint\'s new file to be deleted')
  assert.equal(existsSync(orphan4), false)
  assert.equal(existsSync(delta3), true, 'still referenced by checkpoint 3')
  rmSync(dir, { recursive: true, force: true })
})

/** Polls `condition` (real time: file deletions run in the background) until it holds, or fails after WAIT_MS. */
async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS
  while (!condition()) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

test('an intermediate savepoint is not reported complete to the tasks (sinks commit nothing for it); a stop-with-savepoint is', async () => {
  // A restart restores the latest checkpoint, never an intermediate savepoint (Flink since 1.15):
  // output committed for the savepoint would be written again after such a restart.
  const { coordinator, tasks } = setup({ 'execution.checkpointing.interval': 3_600_000 })
  const attempt = new RecordingAttempt(tasks)
  coordinator.startAttempt(attempt)
  const { mkdtempSync, rmSync } = await import('node:fs')
  const { join } = await import('node:path')
  const { tmpdir } = await import('node:os')
  const dir = mkdtempSync(join(tmpdir(), 'weir-coordinator-savepoint-'))
  try {
    const intermediate = coordinator.triggerSavepoint(dir)
    await until(() => attempt.triggered.length === 1, 'the savepoint trigger')
    for (const t of tasks) coordinator.onAck(attempt.triggered[0]!, ack(t))
    await intermediate
    assert.deepEqual(attempt.completed, [], 'the tasks do not hear of an intermediate savepoint')
    const stop = coordinator.triggerSavepoint(dir, { stop: true })
    await until(() => attempt.triggered.length === 2, 'the stop-with-savepoint trigger')
    for (const t of tasks) coordinator.onAck(attempt.triggered[1]!, ack(t))
    await stop
    assert.deepEqual(attempt.completed, [attempt.triggered[1]], 'a stop-with-savepoint commits its output: the job ends with it')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('a completed checkpoint is recorded for high availability before any task hears of it; a failed record aborts it', async () => {
  const { clock, coordinator, storage, tasks } = setup({ 'execution.checkpointing.tolerable-failed-checkpoints': 5 })
  const attempt = new RecordingAttempt(tasks)
  const recorded: number[] = []
  let release!: () => void
  let failNext = false
  coordinator.recordCompleted = (c) => {
    if (failNext) return Promise.reject(new Error('the store is unreachable'))
    recorded.push(c.id)
    return new Promise<void>((resolve) => (release = resolve))
  }
  coordinator.startAttempt(attempt)
  await advance(clock, 100)
  for (const t of tasks) coordinator.onAck(1, ack(t))
  await advance(clock, 0)
  assert.deepEqual(recorded, [1], 'recorded once finalized')
  assert.deepEqual(attempt.completed, [], 'no task hears of it while the record is being written')
  release()
  await advance(clock, 0)
  assert.deepEqual(attempt.completed, [1])
  failNext = true
  await advance(clock, 100)
  for (const t of tasks) coordinator.onAck(2, ack(t))
  await advance(clock, 0)
  assert.deepEqual(attempt.completed, [1], 'a checkpoint that could not be recorded never completes')
  assert.deepEqual(attempt.aborted, [2])
  assert.equal(storage.held.has(2), false, 'and its files are discarded')
  assert.deepEqual(coordinator.completed.map((c) => c.id), [1])
})
