// Keyed state primitives and their descriptors (Flink's names). A descriptor names a state and
// gives its default or its combining function; the runtime binds the state to the key of the
// record being processed. Values handed to state must not be mutated afterwards (like records
// after collect()): snapshots share them instead of copying.

export interface State {
  /** Removes the value for the current key. */
  clear(): void
}

export interface ValueState<T> extends State {
  /** The value for the current key, or the descriptor's default when none is set. */
  value(): T
  update(value: T): void
}

export interface ListState<T> extends State {
  /** The elements for the current key (an empty array when there are none). Do not modify it. */
  get(): readonly T[]
  add(value: T): void
  addAll(values: readonly T[]): void
  /** Replaces the elements. */
  update(values: readonly T[]): void
}

export interface MapState<K, V> extends State {
  get(key: K): V | undefined
  put(key: K, value: V): void
  putAll(entries: Iterable<readonly [K, V]>): void
  remove(key: K): void
  contains(key: K): boolean
  entries(): IterableIterator<[K, V]>
  keys(): IterableIterator<K>
  values(): IterableIterator<V>
  isEmpty(): boolean
}

/** Adds values into one, with a ReduceFunction. */
export interface ReducingState<T> extends State {
  get(): T | undefined
  add(value: T): void
}

/** Adds values into an accumulator, with an AggregateFunction; get() gives the result. */
export interface AggregatingState<IN, OUT> extends State {
  get(): OUT | undefined
  add(value: IN): void
}

export interface AggregateFunction<IN, ACC, OUT> {
  createAccumulator(): ACC
  add(value: IN, accumulator: ACC): ACC
  getResult(accumulator: ACC): OUT
  merge?(a: ACC, b: ACC): ACC
}

/** Time-to-live of keyed state, in processing time (Flink's StateTtlConfig). */
export interface StateTtlConfig {
  /** How long a value lives after it was last written (or read, with OnReadAndWrite). */
  readonly ttlMs: number
  /** What refreshes the timestamp: writes only (default) or reads too. */
  readonly updateType?: 'OnCreateAndWrite' | 'OnReadAndWrite'
  /** Whether an expired value that is still stored may be returned (default: never). */
  readonly stateVisibility?: 'NeverReturnExpired' | 'ReturnExpiredIfNotCleanedUp'
  /** Drop expired values from full snapshots (default true). */
  readonly cleanupFullSnapshot?: boolean
  /** Check this many entries for expiry on every state access (0: off; default 5, as Flink's incremental cleanup). */
  readonly cleanupIncrementally?: number
}

/** A declared change of a state's type: values stored as `fromTypeName` are converted on restore. */
export interface StateMigration {
  /** The stored type: the old descriptor's type name (or the serializer identity a refusal names). */
  readonly fromTypeName: string
  readonly convert: (old: unknown) => unknown
}

abstract class Descriptor {
  ttl: StateTtlConfig | null = null
  /** The name of the state's key and value types, recorded in checkpoints and checked on restore. */
  typeName: string | null = null
  migration: StateMigration | null = null
  constructor(readonly name: string) {}
  /**
   * Names the state's type (e.g. 'count:number', 'Order/v2'); a restore refuses state stored
   * under another type name. Change it together with withMigration when the type changes.
   */
  withTypeName(typeName: string): this {
    this.typeName = typeName
    return this
  }
  /**
   * Converts restored values stored under type `fromTypeName` (value, list and map state: each
   * value, element or map value), instead of refusing the restore.
   */
  withMigration(fromTypeName: string, convert: (old: unknown) => unknown): this {
    this.migration = { fromTypeName, convert }
    return this
  }
  /** Turns on time-to-live for this state. */
  enableTimeToLive(config: StateTtlConfig): this {
    if (!(config.ttlMs > 0)) throw new RangeError(`state '${this.name}': ttlMs must be positive, got ${config.ttlMs}`)
    this.ttl = config
    return this
  }
}

export class ValueStateDescriptor<T> extends Descriptor {
  readonly kind = 'value' as const
  constructor(name: string, readonly defaultValue?: T) {
    super(name)
  }
}

export class ListStateDescriptor<T> extends Descriptor {
  readonly kind = 'list' as const
  declare readonly __element?: T
}

export class MapStateDescriptor<K, V> extends Descriptor {
  readonly kind = 'map' as const
  declare readonly __entry?: [K, V]
}

export class ReducingStateDescriptor<T> extends Descriptor {
  readonly kind = 'reducing' as const
  constructor(name: string, readonly reduce: (a: T, b: T) => T) {
    super(name)
  }
}

export class AggregatingStateDescriptor<IN, ACC, OUT> extends Descriptor {
  readonly kind = 'aggregating' as const
  constructor(name: string, readonly aggregate: AggregateFunction<IN, ACC, OUT>) {
    super(name)
  }
}

export type StateDescriptor =
  | ValueStateDescriptor<any>
  | ListStateDescriptor<any>
  | MapStateDescriptor<any, any>
  | ReducingStateDescriptor<any>
  | AggregatingStateDescriptor<any, any, any>

export type StateKind = StateDescriptor['kind']

/** Operator (non-keyed) state, registered in initializeState through the context's operator state store. */
export interface OperatorStateStore {
  /** Split evenly between subtasks on rescale. */
  getListState<T>(descriptor: ListStateDescriptor<T>): ListState<T>
  /** Every subtask gets the whole list (the union of all subtasks' lists) on restore. */
  getUnionListState<T>(descriptor: ListStateDescriptor<T>): ListState<T>
  /** Broadcast state: the same map on every subtask, written only from the broadcast side. */
  getBroadcastState<K, V>(descriptor: MapStateDescriptor<K, V>): MapState<K, V>
}
