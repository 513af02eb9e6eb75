// The random parameters of one seed of the coordinator simulation (../coordinator-simulation.test.ts):
// the regime (one checkpoint at a time, concurrent, flaky), the checkpoint options, the faults'
// rates and the job's shape, all drawn from one SeededRandom; and the failure reason of a
// checkpoint's statistics.

import { StreamEnvironment } from '../../../src/api/environment.ts'
import { Configuration } from '../../../src/config/configuration.ts'
import { buildJobGraph, type JobGraph } from '../../../src/graph/job-graph.ts'
import type { CheckpointStats } from '../../../src/checkpoint/coordinator.ts'
import { CHECKPOINT_FAILURE_REASONS, type CheckpointFailureReason } from '../../../src/checkpoint/protocol/failure-reason.ts'
import type { RetentionPolicy, TerminalStatus } from '../../../src/checkpoint/protocol/retention.ts'
import type { SeededRandom } from '../../../src/testing/random.ts'

export type Regime = 'one-at-a-time' | 'concurrent' | 'flaky'
export const REGIMES: readonly Regime[] = ['one-at-a-time', 'concurrent', 'flaky']
export const regimeOf = (seed: number): Regime => REGIMES[seed % REGIMES.length]!

export interface Params {
  readonly regime: Regime
  readonly intervalMs: number
  readonly minPauseMs: number
  readonly maxConcurrent: number
  readonly timeoutMs: number
  readonly tolerableFailures: number
  readonly numRetained: number
  readonly retention: RetentionPolicy
  readonly finalizeLatencyMax: number
  readonly discardLatencyMax: number
  readonly storageFailureP: number
  readonly ackLatencyMax: number
  readonly declineP: number
  readonly duplicateAckP: number
  readonly taskFailureMeanMs: number
  readonly outageMeanMs: number
  readonly restartDelayMax: number
  readonly deployMax: number
  readonly parallelism: readonly [number, number]
  readonly safetyMs: number
  readonly shutdownStatus: TerminalStatus
}

export function chooseParams(seed: number, r: SeededRandom): Params {
  const regime = regimeOf(seed)
  const timeoutMs = r.int(40, 1500)
  return {
    regime,
    intervalMs: r.int(10, 400),
    minPauseMs: regime === 'one-at-a-time' ? r.int(1, 300) : regime === 'concurrent' ? 0 : r.pick([0, r.int(1, 200)]),
    maxConcurrent: regime === 'one-at-a-time' ? r.int(1, 4) : r.int(2, 5),
    timeoutMs,
    tolerableFailures: r.pick([0, 0, 1, 2, 5, 1000]),
    numRetained: r.int(1, 4),
    retention: r.pick(['DELETE_ON_CANCELLATION', 'RETAIN_ON_CANCELLATION', 'NO_EXTERNALIZED_CHECKPOINTS'] as const),
    finalizeLatencyMax: r.pick([0, 5, 50, 200]),
    discardLatencyMax: r.pick([0, 5, 50, 200]),
    storageFailureP: regime === 'flaky' ? r.pick([0.05, 0.2, 0.5]) : r.pick([0, 0, 0.02, 0.1]),
    ackLatencyMax: r.pick([5, 50, Math.floor(timeoutMs / 2), timeoutMs * 2]),
    declineP: regime === 'flaky' ? r.pick([0.01, 0.05, 0.2]) : r.pick([0, 0, 0.005, 0.02]),
    duplicateAckP: r.pick([0, 0.05]),
    taskFailureMeanMs: r.pick([500, 2000, 10_000, Infinity]),
    outageMeanMs: r.pick([300, 2000, Infinity]),
    restartDelayMax: r.pick([0, 20, 300]),
    deployMax: r.pick([0, 30, 300]),
    parallelism: [r.int(1, 3), r.int(1, 3)],
    safetyMs: r.int(1000, 4000),
    shutdownStatus: r.pick(['FINISHED', 'FAILED', 'CANCELED', 'SUSPENDED'] as const),
  }
}

/** source(p0) -> map | keyBy | sum(p1) -> print, through the public API. */
export function jobGraph(p: readonly [number, number]): JobGraph {
  const e = new StreamEnvironment([], new Configuration({ 'parallelism.default': p[1] }))
  e.fromSequence(1, 100).setParallelism(p[0]).uid('src')
    .map((x) => [String(x % 7), x] as [string, number]).setParallelism(p[0]).uid('map')
    .keyBy((t) => t[0])
    .sum(1).uid('sum')
    .print().uid('sink')
  return buildJobGraph(e.transformations, { defaultParallelism: p[1], maxParallelism: -1, chaining: true })
}

export function reasonOf(stats: CheckpointStats): CheckpointFailureReason | null {
  const text = stats.failureReason
  if (text === null) return null
  for (const [reason, info] of Object.entries(CHECKPOINT_FAILURE_REASONS)) {
    if (text === info.message || text.startsWith(`${info.message}: `)) return reason as CheckpointFailureReason
  }
  return null
}
