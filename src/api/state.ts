// Keyed state primitives and their descriptors. A descriptor names a state and gives its
// default; the runtime binds the state to the current key of the record being processed.

export interface State {
  /** Removes the value for the current key. */
  clear(): void
}

export interface ValueState<T> extends State {
  /** The value for the current key, or the descriptor's default when none is set. */
  value(): T
  update(value: T): void
}

export class ValueStateDescriptor<T> {
  readonly kind = 'value' as const
  constructor(readonly name: string, readonly defaultValue?: T) {}
}

export type StateDescriptor = ValueStateDescriptor<unknown>
