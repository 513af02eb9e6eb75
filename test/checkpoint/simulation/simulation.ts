// The simulated job around a real CheckpointCoordinator: attempts that start, fail over and
// report tasks not running, tasks that acknowledge or decline late, twice or from a dead
// attempt, slow and failing storage, all driven by seeded randomness on a simulated clock; and
// the checker of the protocol's invariants, run after every event. Used by
// ../coordinator-simulation.test.ts, which runs the phases (safety, liveness, shutdown) per seed.

import { Configuration } from '../../../src/config/configuration.ts'
import type { JobGraph } from '../../../src/graph/job-graph.ts'
import { readCheckpointOptions, type CheckpointOptions } from '../../../src/checkpoint/checkpoint-options.ts'
import { CheckpointCoordinator, type CheckpointStats, type CoordinatorAttempt } from '../../../src/checkpoint/coordinator.ts'
import { CHECKPOINT_FAILURE_REASONS } from '../../../src/checkpoint/protocol/failure-reason.ts'
import { deleteOnTermination } from '../../../src/checkpoint/protocol/retention.ts'
import type { CheckpointBarrier } from '../../../src/runtime/network/events.ts'
import type { TaskAck } from '../../../src/checkpoint/state-handle.ts'
import type { WeirError } from '../../../src/errors.ts'
import { SeededRandom } from '../../../src/testing/random.ts'
import { SimulatedClock } from '../../../src/testing/simulated-clock.ts'
import { SimulatedCheckpointStorage } from '../../../src/testing/simulated-storage.ts'
import { jobGraph, reasonOf, type Params } from './params.ts'

/** How to replay one seed, printed with every failure. */
export const REPLAY = 'node --import tsx --test test/checkpoint/coordinator-simulation.test.ts'
/** Completions the liveness phase must see. */
export const LIVENESS_COMPLETIONS = 3

export class Violation extends Error {}

class FakeAttempt implements CoordinatorAttempt {
  alive = true
  readonly startedAt: number
  constructor(private readonly sim: Simulation, readonly number: number, readonly taskKeys: readonly string[], readonly runningFrom: number) {
    this.startedAt = sim.clock.now()
  }
  allTasksRunning(): boolean {
    return this.alive && this.sim.clock.now() >= this.runningFrom && this.sim.clock.now() >= this.sim.outageUntil
  }
  sendTrigger(barrier: CheckpointBarrier, final: boolean): void {
    this.sim.onTrigger(this, barrier, final)
  }
  sendComplete(checkpointId: number): void {
    this.sim.onComplete(this, checkpointId)
  }
  sendAborted(checkpointId: number): void {
    this.sim.onAborted(this, checkpointId)
  }
  snapshotEnumerators(checkpointId: number): Record<string, unknown> {
    return { src: { checkpointId } }
  }
  failJob(error: WeirError): void {
    this.sim.onFailJob(this, error)
  }
}

export class Simulation {
  readonly clock = new SimulatedClock(1_000_000)
  readonly storage: SimulatedCheckpointStorage
  readonly coordinator: CheckpointCoordinator
  readonly options: CheckpointOptions
  readonly graph: JobGraph
  readonly taskKeys: string[]
  private readonly rTasks: SeededRandom
  private readonly rStorage: SeededRandom
  private readonly rFaults: SeededRandom
  /** Faults on (safety phase) or off (liveness phase). */
  faults = true
  outageUntil = -Infinity
  private attempt: FakeAttempt | null = null
  private attempts = 0
  private failoverScheduled = false
  private shutDown = false

  // What the checker knows.
  private readonly trace: string[] = []
  private violation: string | null = null
  private readonly stats = new Map<number, CheckpointStats>()
  private readonly triggeredIn = new Map<number, FakeAttempt>()
  private readonly acked = new Map<number, Set<string>>()
  private readonly active = new Set<number>()
  private readonly told = new Set<number>()
  private readonly completions: number[] = []
  private readonly completedSet = new Set<number>()
  private lastTriggerId = 0
  private lastTriggerAt = -Infinity
  private lastEndAt = -Infinity
  private consecutiveCounted = 0
  private expectedFailJobs = 0
  /** How checkpoints ended, by failure reason (or COMPLETED), to show the run covered them. */
  readonly outcomes = new Map<string, number>()
  failJobs = 0
  failovers = 0

  constructor(readonly seed: number, readonly params: Params) {
    const root = new SeededRandom(seed)
    this.rTasks = root.fork('tasks')
    this.rStorage = root.fork('storage')
    this.rFaults = root.fork('faults')
    this.options = readCheckpointOptions(new Configuration({
      'execution.checkpointing.interval': params.intervalMs,
      'execution.checkpointing.min-pause': params.minPauseMs,
      'execution.checkpointing.max-concurrent-checkpoints': params.maxConcurrent,
      'execution.checkpointing.timeout': params.timeoutMs,
      'execution.checkpointing.tolerable-failed-checkpoints': params.tolerableFailures,
      'execution.checkpointing.externalized-checkpoint-retention': params.retention,
      'state.checkpoints.num-retained': params.numRetained,
    }))
    this.storage = new SimulatedCheckpointStorage(this.clock, {
      latency: (op) => this.rStorage.int(0, op === 'finalize' ? params.finalizeLatencyMax : params.discardLatencyMax),
      fails: () => this.faults && this.rStorage.chance(params.storageFailureP),
    })
    this.storage.onEvent = (e) => this.log(`storage ${e.op} ${e.checkpointId ?? ''} ${e.phase}`)
    this.graph = jobGraph(params.parallelism)
    this.taskKeys = this.graph.vertices.flatMap((v) => Array.from({ length: v.parallelism }, (_, i) => `${v.id}/${i}`))
    this.coordinator = new CheckpointCoordinator(this.options, this.storage, { jobId: `sim-${seed}`, jobName: 'simulated job', graph: this.graph }, 0, this.clock)
  }

  private get effectiveMax(): number {
    return this.params.minPauseMs > 0 ? 1 : this.params.maxConcurrent
  }

  log(line: string): void {
    this.trace.push(`t=${this.clock.now()} ${line}`)
    if (this.trace.length > 60) this.trace.shift()
  }

  private fail(what: string): void {
    if (this.violation === null) this.violation = `at t=${this.clock.now()}: ${what}`
  }

  // ---- the job around the coordinator ----

  startAttempt(): void {
    const deploy = this.rFaults.int(0, this.params.deployMax)
    const attempt = new FakeAttempt(this, ++this.attempts, this.taskKeys, this.clock.now() + deploy)
    this.attempt = attempt
    this.failoverScheduled = false
    this.log(`start attempt ${attempt.number} (tasks running from t=${attempt.runningFrom})`)
    this.lastTriggerAt = this.clock.now()
    this.coordinator.startAttempt(attempt)
    this.scheduleTaskFailure(attempt)
  }

  private scheduleTaskFailure(attempt: FakeAttempt): void {
    if (!Number.isFinite(this.params.taskFailureMeanMs)) return
    this.clock.setTimer(() => {
      if (attempt.alive && this.faults && !this.shutDown) this.failover('a task failed')
    }, this.rFaults.exponential(this.params.taskFailureMeanMs))
  }

  scheduleOutages(): void {
    if (!Number.isFinite(this.params.outageMeanMs)) return
    const next = (): void => {
      if (!this.faults || this.shutDown) return
      const length = this.rFaults.int(1, 400)
      this.outageUntil = this.clock.now() + length
      this.log(`tasks not all running until t=${this.outageUntil}`)
      this.clock.setTimer(next, length + this.rFaults.exponential(this.params.outageMeanMs))
    }
    this.clock.setTimer(next, this.rFaults.exponential(this.params.outageMeanMs))
  }

  private failover(why: string): void {
    const attempt = this.attempt
    if (!attempt || !attempt.alive) return
    this.failovers++
    attempt.alive = false
    this.attempt = null
    this.log(`attempt ${attempt.number} fails (${why}): stopAttempt(TASK_FAILURE)`)
    this.coordinator.stopAttempt('TASK_FAILURE')
    this.clock.setTimer(() => {
      if (!this.shutDown) this.startAttempt()
    }, this.rFaults.int(0, this.params.restartDelayMax))
  }

  get completionCount(): number {
    return this.completions.length
  }

  private ackLatency(): number {
    const max = this.faults ? this.params.ackLatencyMax : Math.max(1, Math.min(this.params.timeoutMs - 1, 50))
    return this.rTasks.int(1, max)
  }

  // ---- what the coordinator tells the attempt, checked as it happens ----

  onTrigger(attempt: FakeAttempt, barrier: CheckpointBarrier, final: boolean): void {
    const id = barrier.id
    const now = this.clock.now()
    this.log(`trigger ${id} in attempt ${attempt.number}${final ? ' (final)' : ''}`)
    this.scan()
    if (!attempt.alive || attempt !== this.attempt) this.fail(`checkpoint ${id} was triggered in attempt ${attempt.number}, which is not the running attempt`)
    if (this.shutDown) this.fail(`checkpoint ${id} was triggered after shutdown`)
    if (id <= this.lastTriggerId) this.fail(`checkpoint id ${id} does not increase (last ${this.lastTriggerId})`)
    if (!attempt.allTasksRunning()) this.fail(`checkpoint ${id} was triggered while not all tasks run`)
    if (now - this.lastTriggerAt < this.params.intervalMs) this.fail(`checkpoint ${id} was triggered ${now - this.lastTriggerAt} ms after the previous trigger or attempt start; the interval is ${this.params.intervalMs} ms`)
    if (this.active.size + 1 > this.effectiveMax) this.fail(`checkpoint ${id} makes ${this.active.size + 1} in progress (${[...this.active].join(', ')} and it); at most ${this.effectiveMax} allowed`)
    if (this.params.minPauseMs > 0 && now - this.lastEndAt < this.params.minPauseMs) this.fail(`checkpoint ${id} was triggered ${now - this.lastEndAt} ms after the last checkpoint ended; min pause is ${this.params.minPauseMs} ms`)
    const stats = this.coordinator.history.at(-1)
    if (!stats || stats.id !== id) {
      this.fail(`no statistics recorded for checkpoint ${id} when it was triggered`)
      return
    }
    if (stats.total !== this.taskKeys.length) this.fail(`checkpoint ${id} waits for ${stats.total} tasks, the job has ${this.taskKeys.length}`)
    this.stats.set(id, stats)
    this.triggeredIn.set(id, attempt)
    this.acked.set(id, new Set())
    this.active.add(id)
    this.lastTriggerId = id
    this.lastTriggerAt = now
    for (const task of attempt.taskKeys) this.scheduleTaskResponse(attempt, id, task)
  }

  private scheduleTaskResponse(attempt: FakeAttempt, id: number, task: string): void {
    const declines = this.faults && this.rTasks.chance(this.params.declineP)
    const latency = this.ackLatency()
    const lateFromDeadAttempt = this.rTasks.chance(0.5)
    const deliver = (): void => {
      if (!attempt.alive && !lateFromDeadAttempt) return
      if (declines) {
        const reason = this.rTasks.pick(['simulated: the snapshot failed', 'cannot write checkpoint file /chk/task-0-0-0.state: no space left on the device (ENOSPC)', 'STATE_TOO_LARGE: 6000000 bytes'])
        this.log(`task ${task} declines ${id}: ${reason}`)
        // Storage failures reach the coordinator as typed errors (a StorageError's code).
        this.coordinator.onDecline(id, task, reason, reason.includes('(ENOSPC)') ? 'WEIR_STORAGE_FAILED' : undefined)
        return
      }
      const [vertex, subtask] = task.split('/').map(Number) as [number, number]
      const ack: TaskAck = { vertex, subtask, handle: { type: 'file', path: `task-${vertex}-${subtask}-${attempt.number}.state`, size: 64 }, stateSize: 50, syncMs: 1, asyncMs: 2, alignmentMs: 0 }
      this.log(`task ${task} acks ${id}`)
      this.acked.get(id)?.add(task)
      this.coordinator.onAck(id, ack)
    }
    this.clock.setTimer(deliver, latency)
    if (this.rTasks.chance(this.params.duplicateAckP)) this.clock.setTimer(deliver, latency + this.rTasks.int(0, 50))
  }

  onComplete(attempt: FakeAttempt, id: number): void {
    this.log(`complete ${id} (attempt ${attempt.number})`)
    const stats = this.stats.get(id)
    if (!stats) return this.fail(`sendComplete(${id}) for a checkpoint never triggered`)
    if (attempt !== this.triggeredIn.get(id)) this.fail(`sendComplete(${id}) went to attempt ${attempt.number}, but the checkpoint was triggered in attempt ${this.triggeredIn.get(id)!.number}`)
    if (!attempt.alive) this.fail(`sendComplete(${id}) went to attempt ${attempt.number}, which has ended`)
    if (id <= (this.completions.at(-1) ?? 0)) this.fail(`sendComplete(${id}) after sendComplete(${this.completions.at(-1)}): completions must increase`)
    if (this.told.has(id) || stats.status === 'FAILED') this.fail(`sendComplete(${id}) for a checkpoint that was aborted (${stats.failureReason})`)
    if (stats.status !== 'COMPLETED') this.fail(`sendComplete(${id}) while its statistics say ${stats.status}`)
    if (!this.storage.finalized.has(id)) this.fail(`sendComplete(${id}) before its metadata was finalized in storage`)
    const missing = attempt.taskKeys.filter((t) => !this.acked.get(id)!.has(t))
    if (missing.length > 0) this.fail(`sendComplete(${id}) although tasks ${missing.join(', ')} never acknowledged it`)
    this.completions.push(id)
    this.completedSet.add(id)
    this.consecutiveCounted = 0
  }

  onAborted(attempt: FakeAttempt, id: number): void {
    const stats = this.stats.get(id)
    if (!stats) return this.fail(`sendAborted(${id}) for a checkpoint never triggered`)
    const reason = reasonOf(stats)
    this.log(`abort ${id} (attempt ${attempt.number}): ${reason}`)
    if (stats.status !== 'FAILED' || reason === null) this.fail(`sendAborted(${id}) while its statistics say ${stats.status} (${stats.failureReason})`)
    if (this.completedSet.has(id)) this.fail(`sendAborted(${id}) after it was reported complete`)
    if (this.told.has(id)) this.fail(`sendAborted(${id}) twice`)
    if (!attempt.alive) this.fail(`sendAborted(${id}) went to attempt ${attempt.number}, which has ended`)
    this.told.add(id)
    if (reason === 'EXPIRED' && this.clock.now() - stats.triggeredAt !== this.params.timeoutMs) {
      this.fail(`checkpoint ${id} expired ${this.clock.now() - stats.triggeredAt} ms after its trigger; the timeout is ${this.params.timeoutMs} ms`)
    }
    if (reason !== null && CHECKPOINT_FAILURE_REASONS[reason].counts) {
      this.consecutiveCounted++
      if (this.consecutiveCounted > this.params.tolerableFailures) this.expectedFailJobs++
    }
  }

  onFailJob(attempt: FakeAttempt, error: WeirError): void {
    this.failJobs++
    this.log(`failJob (attempt ${attempt.number}): ${error.message}`)
    if (this.expectedFailJobs === 0) this.fail(`failJob was called with ${this.consecutiveCounted} consecutive counted failures; tolerable is ${this.params.tolerableFailures}: ${error.message}`)
    else this.expectedFailJobs--
    if (error.code !== 'WEIR_CHECKPOINT_FAILED') this.fail(`failJob with code ${error.code}`)
    if (!this.failoverScheduled) {
      this.failoverScheduled = true
      this.clock.setTimer(() => {
        if (!this.shutDown) this.failover('too many checkpoint failures')
      }, this.rFaults.int(0, 20))
    }
  }

  // ---- invariants checked after every event ----

  /** Notices checkpoints that ended since the last look. */
  private scan(): void {
    for (const id of [...this.active]) {
      const s = this.stats.get(id)!
      if (s.status === 'IN_PROGRESS') continue
      this.active.delete(id)
      const outcome = s.status === 'COMPLETED' ? 'COMPLETED' : (reasonOf(s) ?? 'UNKNOWN')
      this.outcomes.set(outcome, (this.outcomes.get(outcome) ?? 0) + 1)
      if (s.durationMs === null) this.fail(`checkpoint ${id} ended without a duration`)
      this.lastEndAt = Math.max(this.lastEndAt, s.triggeredAt + (s.durationMs ?? 0))
      if (s.status === 'COMPLETED' && !this.completedSet.has(id)) this.fail(`checkpoint ${id} completed but the tasks were never told (sendComplete)`)
      const reason = reasonOf(s)
      if (s.status === 'FAILED' && reason !== null && CHECKPOINT_FAILURE_REASONS[reason].counts && !this.told.has(id)) {
        this.fail(`checkpoint ${id} failed (${reason}, counted) but the tasks were never told (sendAborted)`)
      }
    }
  }

  check(): void {
    this.scan()
    const now = this.clock.now()
    if (this.expectedFailJobs > 0) this.fail(`${this.consecutiveCounted} consecutive counted failures exceed the tolerable ${this.params.tolerableFailures}, but failJob was not called`)
    if (this.active.size > this.effectiveMax) this.fail(`${this.active.size} checkpoints in progress (${[...this.active].join(', ')}); at most ${this.effectiveMax} allowed`)
    for (const id of this.active) {
      const s = this.stats.get(id)!
      if (s.acknowledged < s.total && now - s.triggeredAt > this.params.timeoutMs) this.fail(`checkpoint ${id} is still in progress ${now - s.triggeredAt} ms after its trigger; the timeout is ${this.params.timeoutMs} ms`)
    }
    const retained = this.coordinator.completed.map((c) => c.id)
    const expected = this.completions.slice(-this.params.numRetained)
    if (retained.length > this.params.numRetained) this.fail(`${retained.length} completed checkpoints retained (${retained.join(', ')}); num-retained is ${this.params.numRetained}`)
    // A completion in progress (metadata written, tasks not told yet) may already be retained.
    const completing = [...this.active].filter((id) => this.storage.finalized.has(id))
    if (!this.shutDown && completing.length === 0 && retained.join(',') !== expected.join(',')) this.fail(`the coordinator retains [${retained.join(', ')}], the newest completions are [${expected.join(', ')}]`)
    for (let i = 1; i < retained.length; i++) if (retained[i]! <= retained[i - 1]!) this.fail(`retained checkpoints are out of order: [${retained.join(', ')}]`)
    const newest = this.completions.at(-1)
    if (!this.shutDown && completing.length === 0 && newest !== undefined && !retained.includes(newest)) this.fail(`the newest completed checkpoint ${newest} is not retained ([${retained.join(', ')}])`)
    for (const id of retained) if (!this.storage.held.has(id)) this.fail(`retained checkpoint ${id} is not in storage`)
    for (const id of this.storage.held.keys()) {
      if (!retained.includes(id) && !this.storage.isDiscarding(id) && !this.storage.leaked.has(id)) {
        this.fail(`storage holds checkpoint ${id}, which is neither retained nor being discarded`)
      }
    }
    if (this.violation !== null) throw new Violation(this.violation)
  }

  // ---- phases ----

  async run(until: number): Promise<void> {
    await this.clock.advanceSettled(until - this.clock.now(), () => this.check())
    this.check()
  }

  async safety(): Promise<void> {
    this.startAttempt()
    this.scheduleOutages()
    await this.run(this.clock.now() + this.params.safetyMs)
  }

  /** Faults stop; returns how many checkpoints completed within the bound, and the bound. */
  async liveness(): Promise<{ completed: number; boundMs: number }> {
    this.faults = false
    this.outageUntil = -Infinity
    const p = this.params
    const ackBound = Math.max(1, Math.min(p.timeoutMs - 1, 50))
    const perCheckpoint = p.intervalMs + p.minPauseMs + ackBound + p.finalizeLatencyMax + p.discardLatencyMax + 1
    // In-flight checkpoints from the faulty phase may still expire, fail the job and restart it.
    const recovery = 2 * (p.ackLatencyMax + p.timeoutMs + 20 + p.restartDelayMax + p.deployMax + p.finalizeLatencyMax + p.discardLatencyMax)
    const boundMs = recovery + (LIVENESS_COMPLETIONS + 1) * perCheckpoint
    const before = this.completions.length
    await this.run(this.clock.now() + boundMs)
    return { completed: this.completions.length - before, boundMs }
  }

  async shutdown(): Promise<void> {
    const status = this.params.shutdownStatus
    const retainedBefore = this.coordinator.completed.map((c) => c.id)
    this.shutDown = true
    this.log(`shutdown(${status})`)
    const done = this.coordinator.shutdown(status)
    await this.clock.runUntilIdle(100_000, () => this.scan())
    await done
    this.scan()
    if (this.active.size > 0) this.fail(`checkpoints ${[...this.active].join(', ')} are still in progress after shutdown`)
    const held = [...this.storage.held.keys()].filter((id) => !this.storage.leaked.has(id))
    if (deleteOnTermination(this.params.retention, status)) {
      if (held.length > 0) this.fail(`after shutdown(${status}) with ${this.params.retention}, storage still holds ${held.join(', ')}`)
    } else {
      if (held.sort((a, b) => a - b).join(',') !== retainedBefore.join(',')) this.fail(`after shutdown(${status}) with ${this.params.retention}, storage holds [${held.join(', ')}], expected the retained [${retainedBefore.join(', ')}]`)
    }
    if (this.storage.operationsInFlight > 0) this.fail('storage operations are still in flight after the clock went idle')
    if (this.violation !== null) throw new Violation(this.violation)
  }

  describe(kind: string, what: string): string {
    return [
      `[${kind}] seed=${this.seed}: ${what}`,
      `replay: WEIR_SEED=${this.seed} ${REPLAY}`,
      `params: ${JSON.stringify(this.params)}`,
      `last events:`,
      ...this.trace.map((l) => `  ${l}`),
    ].join('\n')
  }
}
