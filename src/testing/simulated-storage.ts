// Checkpoint storage for simulations: finalize and discard take simulated time and fail on
// demand, and the storage records what it holds, so a checker can compare that with what the
// coordinator believes it retains.

import type { CheckpointLocation, CheckpointStorage, CompletedCheckpointRef } from '../checkpoint/storage/checkpoint-storage.ts'
import type { CheckpointMetadata } from '../checkpoint/metadata.ts'
import type { SimulatedClock } from './simulated-clock.ts'

export type StorageOperation = 'finalize' | 'discard' | 'discardAll'

export interface SimulatedStorageBehaviour {
  /** How long an operation takes, in simulated milliseconds. */
  latency(op: StorageOperation, checkpointId: number | null): number
  /** Whether an operation fails (decided when it starts). */
  fails(op: StorageOperation, checkpointId: number | null): boolean
}

export interface StorageEvent {
  readonly at: number
  readonly op: StorageOperation
  readonly checkpointId: number | null
  readonly phase: 'start' | 'ok' | 'failed'
}

const NO_FAULTS: SimulatedStorageBehaviour = { latency: () => 0, fails: () => false }

export class SimulatedCheckpointStorage implements CheckpointStorage {
  readonly type = 'filesystem'
  /** Checkpoints whose metadata is stored, by id. */
  readonly held = new Map<number, CheckpointMetadata>()
  /** Ids whose finalize succeeded at least once. */
  readonly finalized = new Set<number>()
  /** Held checkpoints whose last discard failed: garbage the coordinator gave up on. */
  readonly leaked = new Set<number>()
  readonly events: StorageEvent[] = []
  /** Called after every completed operation, before its promise settles. */
  onEvent: (event: StorageEvent) => void = () => {}
  private readonly inFlight = new Map<string, number>()
  private readonly forcedFailures = new Map<StorageOperation, number>()

  constructor(
    private readonly clock: SimulatedClock,
    public behaviour: SimulatedStorageBehaviour = NO_FAULTS,
    readonly baseDir = '/simulated/job',
  ) {}

  locationFor(checkpointId: number): CheckpointLocation {
    return { type: 'filesystem', dir: `${this.baseDir}/chk-${checkpointId}` }
  }

  /** Makes the next `count` operations of this kind fail, whatever the behaviour says. */
  failNext(op: StorageOperation, count = 1): void {
    this.forcedFailures.set(op, (this.forcedFailures.get(op) ?? 0) + count)
  }

  isFinalizing(checkpointId: number): boolean {
    return (this.inFlight.get(`finalize:${checkpointId}`) ?? 0) > 0
  }

  isDiscarding(checkpointId: number): boolean {
    return (this.inFlight.get(`discard:${checkpointId}`) ?? 0) > 0 || (this.inFlight.get('discardAll:null') ?? 0) > 0
  }

  get operationsInFlight(): number {
    let n = 0
    for (const c of this.inFlight.values()) n += c
    return n
  }

  finalize(metadata: CheckpointMetadata): Promise<CompletedCheckpointRef> {
    const id = metadata.checkpointId
    return this.run('finalize', id, () => {
      this.held.set(id, metadata)
      this.finalized.add(id)
      this.leaked.delete(id)
      return { id, dir: `${this.baseDir}/chk-${id}`, metadata }
    })
  }

  discard(checkpointId: number): Promise<void> {
    return this.run('discard', checkpointId, () => {
      this.held.delete(checkpointId)
      this.leaked.delete(checkpointId)
    }, () => {
      if (this.held.has(checkpointId)) this.leaked.add(checkpointId)
    })
  }

  discardAll(): Promise<void> {
    return this.run('discardAll', null, () => {
      this.held.clear()
      this.leaked.clear()
    })
  }

  private run<T>(op: StorageOperation, id: number | null, succeed: () => T, failed: () => void = () => {}): Promise<T> {
    const forced = this.forcedFailures.get(op) ?? 0
    if (forced > 0) this.forcedFailures.set(op, forced - 1)
    const fails = forced > 0 || this.behaviour.fails(op, id)
    const key = `${op}:${id}`
    this.inFlight.set(key, (this.inFlight.get(key) ?? 0) + 1)
    this.record(op, id, 'start')
    return new Promise<T>((resolve, reject) => {
      this.clock.setTimer(() => {
        this.inFlight.set(key, this.inFlight.get(key)! - 1)
        if (fails) {
          failed()
          this.record(op, id, 'failed')
          reject(new Error(`simulated storage failure: ${op}${id === null ? '' : ` of checkpoint ${id}`}`))
        } else {
          const value = succeed()
          this.record(op, id, 'ok')
          resolve(value)
        }
      }, this.behaviour.latency(op, id))
    })
  }

  private record(op: StorageOperation, checkpointId: number | null, phase: StorageEvent['phase']): void {
    const event = { at: this.clock.now(), op, checkpointId, phase }
    this.events.push(event)
    if (phase !== 'start') this.onEvent(event)
  }
}
