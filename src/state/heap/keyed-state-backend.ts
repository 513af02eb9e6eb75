// Keyed state on the heap: one Map per registered state, from key to value. The operator sets
// the current key before calling the user's function; state objects read and write the entry
// of that key. Composite keys (arrays, objects) are stored under their JSON text so that equal
// keys share one entry.

import type { ValueState, ValueStateDescriptor } from '../../api/state.ts'
import { UserError } from '../../errors.ts'
import { assignToKeyGroup, type KeyGroupRange } from '../key-groups.ts'

/** The serialized form of one operator's keyed state: flat [keyGroup, key, value, ...] per state. */
export interface KeyedStateSnapshot {
  readonly maxParallelism: number
  readonly states: Record<string, unknown[]>
}

/** What the synchronous phase captures: copies of the tables (values shared, not copied). */
export interface HeapSnapshotCapture {
  readonly tables: Array<[string, Map<unknown, unknown>]>
  readonly compositeKeys: Map<string, unknown>
}

export class HeapKeyedStateBackend {
  /** The key as the user's selector returned it. */
  currentKey: unknown = undefined
  /** The form the key is stored under. */
  currentMapKey: unknown = undefined
  private readonly tables = new Map<string, Map<unknown, unknown>>()
  private readonly states = new Map<string, HeapValueState<unknown>>()

  /** Original form of composite (array or object) keys, by their stored JSON text. */
  private readonly compositeKeys = new Map<string, unknown>()

  setCurrentKey(key: unknown): void {
    this.currentKey = key
    if (typeof key === 'object' && key !== null) {
      const text = JSON.stringify(key)
      this.currentMapKey = text
      this.compositeKeys.set(text, key)
    } else {
      this.currentMapKey = key
    }
  }

  /**
   * Synchronous phase of a snapshot: copies every table's entries (not the values: state values
   * must not be mutated after update(), like records after collect()). Cost is a native Map
   * copy per table; encoding happens later, in encodeSnapshot.
   */
  captureSnapshot(): HeapSnapshotCapture {
    return { tables: [...this.tables].map(([name, t]) => [name, new Map(t)]), compositeKeys: new Map(this.compositeKeys) }
  }

  /** Asynchronous phase: turns a capture into its serializable form, with each entry's key group. */
  static encodeSnapshot(capture: HeapSnapshotCapture, maxParallelism: number): KeyedStateSnapshot {
    const states: Record<string, unknown[]> = {}
    for (const [name, table] of capture.tables) {
      const flat: unknown[] = new Array(table.size * 3)
      let i = 0
      for (const [mapKey, value] of table) {
        const key = typeof mapKey === 'string' && capture.compositeKeys.has(mapKey) ? capture.compositeKeys.get(mapKey) : mapKey
        flat[i++] = assignToKeyGroup(key, maxParallelism)
        flat[i++] = key
        flat[i++] = value
      }
      states[name] = flat
    }
    return { maxParallelism, states }
  }

  /** Loads the entries of a snapshot whose key groups fall in `range` (several snapshots may be restored into one backend). */
  restore(snapshot: KeyedStateSnapshot, range: KeyGroupRange): void {
    for (const [name, flat] of Object.entries(snapshot.states)) {
      const table = this.table(name)
      for (let i = 0; i < flat.length; i += 3) {
        const kg = flat[i] as number
        if (kg < range.start || kg > range.end) continue
        this.setCurrentKey(flat[i + 1])
        table.set(this.currentMapKey, flat[i + 2])
      }
    }
    this.currentKey = undefined
    this.currentMapKey = undefined
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
