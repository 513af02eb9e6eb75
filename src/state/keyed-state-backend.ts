// The contract of a keyed state backend, shared by the heap and the LMDB backend, and the
// canonical snapshot format both write for savepoints (so a job can switch backends through a
// savepoint). A backend holds every keyed state of one operator in one subtask; the operator
// sets the current key before the user's function runs, and states read and write that key's
// entry.

import type { StateDescriptor, ValueState, ListState, MapState, ReducingState, AggregatingState, StateKind, StateTtlConfig } from '../api/state.ts'
import type { ValueStateDescriptor, ListStateDescriptor, MapStateDescriptor, ReducingStateDescriptor, AggregatingStateDescriptor } from '../api/state.ts'
import type { KeyGroupRange } from './key-groups.ts'
import { UserError } from '../errors.ts'
import type { CanonicalEntryList } from './entry-chunks.ts'

/** One state's entries in canonical form: flat [keyGroup, key, value, ...]. */
export interface CanonicalStateEntries {
  readonly kind: StateKind
  /** Values are [value, lastWriteTimestamp] pairs when the state has a TTL. */
  readonly ttl: boolean
  /** Flat as read from a file; in chunks as a snapshot builds them (entry-chunks.ts). */
  readonly entries: CanonicalEntryList
}

/**
 * A keyed-state snapshot. `canonical` holds every entry (savepoints, heap checkpoints); a
 * backend may write its own format for checkpoints (LMDB's incremental files), which only it
 * reads back.
 */
export type KeyedStateSnapshot =
  | { readonly format: 'canonical'; readonly maxParallelism: number; readonly states: Record<string, CanonicalStateEntries> }
  | { readonly format: string; readonly maxParallelism: number; readonly [field: string]: unknown }

export type StateFor<D> =
  D extends ValueStateDescriptor<infer T> ? ValueState<T>
  : D extends ListStateDescriptor<infer T> ? ListState<T>
  : D extends MapStateDescriptor<infer K, infer V> ? MapState<K, V>
  : D extends ReducingStateDescriptor<infer T> ? ReducingState<T>
  : D extends AggregatingStateDescriptor<infer IN, any, infer OUT> ? AggregatingState<IN, OUT>
  : never

/** What the synchronous phase of a snapshot captured; only the backend that made it reads it. */
export type SnapshotCapture = unknown

export interface SnapshotOptions {
  /** A savepoint: always the canonical format, self-contained. */
  readonly savepoint: boolean
}

export interface KeyedStateBackend {
  readonly type: 'hashmap' | 'lmdb'
  /** The key as the user's key selector returned it. */
  readonly currentKey: unknown
  /** The current key in the form it is stored under (composite keys as their JSON text). */
  readonly currentMapKey: unknown
  setCurrentKey(key: unknown): void
  /** Registers (or returns the registered) state of a descriptor. */
  getState<D extends StateDescriptor>(descriptor: D): StateFor<D>
  /** Synchronous phase: a consistent view of every state, cheap however large the state. */
  captureSnapshot(checkpointId: number, options: SnapshotOptions): SnapshotCapture
  /** Asynchronous phase: the capture in serializable form (may write files of its own). */
  materializeSnapshot(capture: SnapshotCapture): Promise<KeyedStateSnapshot>
  /** Loads the entries of a snapshot whose key groups fall in `range`. */
  restore(snapshot: KeyedStateSnapshot, range: KeyGroupRange): void
  /** Every key that has state in `stateName`, for inspection and tests. */
  keys(stateName: string): Iterable<unknown>
  /** Checkpoint `id` completed: a backend may release what older checkpoints held. */
  notifyCheckpointComplete?(checkpointId: number): void
  /** Frees resources (local files) when the task ends. */
  dispose(): void
}

/**
 * A value state that lets its only writer change the current key's value in place (the heap
 * backend's, for the built-in aggregations): `valueForChange` returns the value when no snapshot,
 * taken or being written, can see it, so changing it in place needs no copy and no write; it
 * returns undefined when the value is absent or a snapshot may hold it (then copy it, change the
 * copy and update() with it). Valid only when every value the caller writes is an object it owns
 * and never hands out (it emits copies).
 */
export interface InPlaceValueState<T> extends ValueState<T> {
  valueForChange(): T | undefined
  /** value() right after valueForChange() found nothing: the same answer without looking where valueForChange already did. */
  valueAfterMiss(): T
}

export function checkDescriptorKind(name: string, registered: StateKind, requested: StateKind): void {
  if (registered !== requested) {
    throw new UserError('WEIR_INVALID_JOB', `state '${name}' is already registered as ${registered} state; it cannot also be ${requested} state`)
  }
}

/** The TTL rules both backends apply. */
export class TtlPolicy {
  readonly ttlMs: number
  readonly refreshOnRead: boolean
  readonly returnExpired: boolean
  readonly cleanupFullSnapshot: boolean
  readonly cleanupIncrementally: number
  constructor(config: StateTtlConfig, readonly now: () => number = Date.now) {
    this.ttlMs = config.ttlMs
    this.refreshOnRead = config.updateType === 'OnReadAndWrite'
    this.returnExpired = config.stateVisibility === 'ReturnExpiredIfNotCleanedUp'
    this.cleanupFullSnapshot = config.cleanupFullSnapshot ?? true
    this.cleanupIncrementally = config.cleanupIncrementally ?? 5
  }
  isExpired(lastWrite: number, now = this.now()): boolean {
    return now - lastWrite >= this.ttlMs
  }
}
