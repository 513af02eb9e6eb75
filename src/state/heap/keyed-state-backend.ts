// Keyed state on the heap: one Map per registered state, from key to value. The operator sets
// the current key before calling the user's function; state objects read and write the entry
// of that key. Composite keys (arrays, objects) are stored under their JSON text so that equal
// keys share one entry.

import type { ValueState, ValueStateDescriptor } from '../../api/state.ts'
import { UserError } from '../../errors.ts'

export class HeapKeyedStateBackend {
  /** The key as the user's selector returned it. */
  currentKey: unknown = undefined
  /** The form the key is stored under. */
  currentMapKey: unknown = undefined
  private readonly tables = new Map<string, Map<unknown, unknown>>()
  private readonly states = new Map<string, HeapValueState<unknown>>()

  setCurrentKey(key: unknown): void {
    this.currentKey = key
    this.currentMapKey = typeof key === 'object' && key !== null ? JSON.stringify(key) : key
  }

  getValueState<T>(descriptor: ValueStateDescriptor<T>): ValueState<T> {
    const existing = this.states.get(descriptor.name)
    if (existing) {
      if (existing.kind !== descriptor.kind) throw new UserError('WEIR_INVALID_JOB', `state '${descriptor.name}' is already registered as ${existing.kind} state`)
      return existing as ValueState<T>
    }
    const state = new HeapValueState<T>(this, this.table(descriptor.name), descriptor.defaultValue)
    this.states.set(descriptor.name, state as HeapValueState<unknown>)
    return state
  }

  /** The raw table of a state, by name (for snapshots and tests). */
  table(name: string): Map<unknown, unknown> {
    let t = this.tables.get(name)
    if (!t) {
      t = new Map()
      this.tables.set(name, t)
    }
    return t
  }

  stateNames(): string[] {
    return [...this.tables.keys()]
  }
}

class HeapValueState<T> implements ValueState<T> {
  readonly kind = 'value'
  constructor(private readonly backend: HeapKeyedStateBackend, private readonly map: Map<unknown, unknown>, private readonly defaultValue: T | undefined) {}

  value(): T {
    const v = this.map.get(this.backend.currentMapKey)
    return (v === undefined ? this.defaultValue : v) as T
  }
  update(value: T): void {
    if (value === undefined || value === null) this.map.delete(this.backend.currentMapKey)
    else this.map.set(this.backend.currentMapKey, value)
  }
  clear(): void {
    this.map.delete(this.backend.currentMapKey)
  }
}
