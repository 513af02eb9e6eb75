// Seeded simulation of the checkpoint coordinator: random intervals, pauses, concurrency,
// timeouts, tolerable failures, retention, slow and failing storage, slow and declining tasks,
// task failures and attempts whose tasks are not all running. Every random choice comes from
// one seed; a checker verifies the protocol's invariants after every event (safety), then the
// faults stop and checkpoints must keep completing (liveness).
//
// Replay one seed: WEIR_SEED=1234 node --import tsx --test test/checkpoint/coordinator-simulation.test.ts
// A longer search: WEIR_SIM_SEEDS=5000 (seeds per test; default 200).
// The simulated job and the invariant checker are simulation/simulation.ts, the seeds' parameters simulation/params.ts.

import { test } from 'node:test'
import { SeededRandom } from '../../src/testing/random.ts'
import { chooseParams, regimeOf, REGIMES, type Regime } from './simulation/params.ts'
import { LIVENESS_COMPLETIONS, Simulation, Violation } from './simulation/simulation.ts'

const SEEDS_PER_TEST = Number(process.env.WEIR_SIM_SEEDS ?? 200)

async function runSeed(seed: number): Promise<{ completions: number; failJobs: number; failovers: number; outcomes: ReadonlyMap<string, number> }> {
  console.log(`seed=${seed}`)
  const params = chooseParams(seed, new SeededRandom(seed).fork('params'))
  const sim = new Simulation(seed, params)
  try {
    await sim.safety()
    const { completed, boundMs } = await sim.liveness()
    if (completed < LIVENESS_COMPLETIONS) {
      throw new Error(sim.describe('liveness', `only ${completed} checkpoint(s) completed within ${boundMs} simulated ms after the faults stopped; expected at least ${LIVENESS_COMPLETIONS}`))
    }
    await sim.shutdown()
  } catch (e) {
    if (e instanceof Violation) throw new Error(sim.describe('correctness', e.message))
    if (e instanceof Error && e.message.startsWith('[')) throw e
    throw new Error(sim.describe('crash', e instanceof Error ? `${e.stack}` : String(e)))
  }
  return { completions: sim.completionCount, failJobs: sim.failJobs, failovers: sim.failovers, outcomes: sim.outcomes }
}

const replaySeed = process.env.WEIR_SEED === undefined ? null : Number(process.env.WEIR_SEED)
if (replaySeed !== null && !Number.isSafeInteger(replaySeed)) throw new Error(`WEIR_SEED must be an integer, got '${process.env.WEIR_SEED}'`)

/** Outcomes each regime's seeds must produce between them, so the runs cannot pass vacuously. */
const MUST_SEE: Record<Regime, readonly string[]> = {
  'one-at-a-time': ['COMPLETED', 'EXPIRED', 'TASK_FAILURE', 'COORDINATOR_SHUTDOWN'],
  concurrent: ['COMPLETED', 'EXPIRED', 'TASK_FAILURE', 'SUBSUMED'],
  flaky: ['COMPLETED', 'EXPIRED', 'TASK_FAILURE', 'DECLINED', 'STORAGE_FAILURE', 'STATE_TOO_LARGE', 'FINALIZE_FAILED'],
}

const DESCRIPTIONS: Record<Regime, string> = {
  'one-at-a-time': 'with a min pause (one checkpoint at a time)',
  concurrent: 'with concurrent checkpoints and no min pause',
  flaky: 'with flaky storage and declining tasks',
}

REGIMES.forEach((regime, r) => {
  const seeds = replaySeed !== null
    ? (regimeOf(replaySeed) === regime ? [replaySeed] : [])
    : Array.from({ length: SEEDS_PER_TEST }, (_, i) => REGIMES.length * (i + 1) + r)
  test(`the coordinator keeps its invariants under random faults and completes checkpoints once they stop, ${DESCRIPTIONS[regime]}`, { skip: seeds.length === 0 ? `WEIR_SEED=${replaySeed} is a ${regimeOf(replaySeed!)} seed` : false }, async () => {
    let completions = 0
    let failJobs = 0
    let failovers = 0
    const outcomes = new Map<string, number>()
    for (const seed of seeds) {
      const result = await runSeed(seed)
      completions += result.completions
      failJobs += result.failJobs
      failovers += result.failovers
      for (const [k, n] of result.outcomes) outcomes.set(k, (outcomes.get(k) ?? 0) + n)
    }
    console.log(`${regime}: ${seeds.length} seeds, failJob ${failJobs}, failovers ${failovers}, outcomes ${JSON.stringify(Object.fromEntries([...outcomes].sort()))}`)
    // The runs must exercise the interesting paths, not pass vacuously.
    if (completions < seeds.length * LIVENESS_COMPLETIONS) throw new Error(`only ${completions} completions over ${seeds.length} seeds`)
    if (replaySeed === null && (failJobs === 0 || failovers === 0)) throw new Error(`the faults never failed the job (failJob ${failJobs}, failovers ${failovers})`)
    const unseen = replaySeed === null ? MUST_SEE[regime].filter((k) => !outcomes.has(k)) : []
    if (unseen.length > 0) throw new Error(`no checkpoint ended with ${unseen.join(', ')} over ${seeds.length} seeds: the simulation no longer covers them`)
  })
})
