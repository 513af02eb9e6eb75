// Operator (non-keyed) state of one operator in one subtask: named lists and broadcast maps.
// On a restore at another parallelism, Flink's rules apply: a list (split) state's elements are
// divided evenly among the new subtasks, a union list gives every subtask every element, and
// broadcast state (identical everywhere) is copied to every subtask.

import type { ListState, ListStateDescriptor, MapState, MapStateDescriptor, OperatorStateStore } from '../api/state.ts'
import { UserError } from '../errors.ts'

export type OperatorStateMode = 'split' | 'union' | 'broadcast'

/** The stored form of one named operator state. */
export interface OperatorStateEntry {
  readonly mode: OperatorStateMode
  /** List elements, or [key, value] pairs for broadcast state. */
  readonly values: unknown[]
}

export type OperatorStateSnapshot = Record<string, OperatorStateEntry>

export class OperatorStateBackend implements OperatorStateStore {
  private readonly lists = new Map<string, { mode: OperatorStateMode; values: unknown[] }>()
  private readonly maps = new Map<string, Map<unknown, unknown>>()
  private readonly restored: OperatorStateSnapshot

  constructor(restored: OperatorStateSnapshot = {}) {
    this.restored = restored
    // Restored state is kept even if the function never asks for it again (Flink does the same):
    // a subtask that sees no records before the next savepoint must not lose it.
    for (const [name, entry] of Object.entries(restored)) {
      if (entry.mode === 'broadcast') this.maps.set(name, new Map(entry.values as Array<[unknown, unknown]>))
      else this.lists.set(name, { mode: entry.mode, values: [...entry.values] })
    }
  }

  getListState<T>(descriptor: ListStateDescriptor<T>): ListState<T> {
    return this.list(descriptor.name, 'split') as ListState<T>
  }

  getUnionListState<T>(descriptor: ListStateDescriptor<T>): ListState<T> {
    return this.list(descriptor.name, 'union') as ListState<T>
  }

  getBroadcastState<K, V>(descriptor: MapStateDescriptor<K, V>): MapState<K, V> {
    const list = this.lists.get(descriptor.name)
    if (list) throw this.modeError(descriptor.name, list.mode, 'broadcast')
    let map = this.maps.get(descriptor.name)
    if (!map) {
      const r = this.restored[descriptor.name]
      if (r && r.mode !== 'broadcast') throw this.modeError(descriptor.name, r.mode, 'broadcast')
      map = new Map((r?.values ?? []) as Array<[unknown, unknown]>)
      this.maps.set(descriptor.name, map)
    }
    return new BroadcastMapState(map) as unknown as MapState<K, V>
  }

  /** Synchronous phase: copies of every state (elements shared, not copied). */
  snapshot(): OperatorStateSnapshot {
    const out: OperatorStateSnapshot = {}
    for (const [name, l] of this.lists) out[name] = { mode: l.mode, values: [...l.values] }
    for (const [name, m] of this.maps) out[name] = { mode: 'broadcast', values: [...m] }
    return out
  }

  get isEmpty(): boolean {
    return this.lists.size === 0 && this.maps.size === 0
  }

  private list(name: string, mode: OperatorStateMode): ListState<unknown> {
    if (this.maps.has(name)) throw this.modeError(name, 'broadcast', mode)
    let l = this.lists.get(name)
    if (l && l.mode !== mode) throw this.modeError(name, l.mode, mode)
    if (!l) {
      const r = this.restored[name]
      if (r && r.mode !== mode) throw this.modeError(name, r.mode, mode)
      l = { mode, values: [...(r?.values ?? [])] }
      this.lists.set(name, l)
    }
    const entry = l
    return {
      get: () => entry.values,
      add: (v) => void entry.values.push(v),
      addAll: (vs) => void entry.values.push(...vs),
      update: (vs) => void (entry.values = [...vs]),
      clear: () => void (entry.values = []),
    }
  }

  private modeError(name: string, was: OperatorStateMode, now: OperatorStateMode): UserError {
    return new UserError('WEIR_INVALID_JOB', `operator state '${name}' is ${was} state; it cannot be used as ${now} state`)
  }
}

class BroadcastMapState<K, V> implements MapState<K, V> {
  constructor(private readonly map: Map<K, V>) {}
  get(key: K) { return this.map.get(key) }
  put(key: K, value: V) { this.map.set(key, value) }
  putAll(entries: Iterable<readonly [K, V]>) { for (const [k, v] of entries) this.map.set(k, v) }
  remove(key: K) { this.map.delete(key) }
  contains(key: K) { return this.map.has(key) }
  entries() { return this.map.entries() }
  keys() { return this.map.keys() }
  values() { return this.map.values() }
  isEmpty() { return this.map.size === 0 }
  clear() { this.map.clear() }
}

/**
 * The operator state a new subtask `index` of `parallelism` gets from the old subtasks' states
 * (in old subtask order): split lists divided into contiguous even shares, union lists whole,
 * broadcast state from the first old subtask that has it.
 */
export function redistributeOperatorState(old: readonly (OperatorStateSnapshot | undefined)[], index: number, parallelism: number): OperatorStateSnapshot {
  const names = new Set<string>()
  for (const s of old) if (s) for (const n of Object.keys(s)) names.add(n)
  const out: OperatorStateSnapshot = {}
  for (const name of names) {
    const entries = old.map((s) => s?.[name]).filter((e): e is OperatorStateEntry => e !== undefined)
    const mode = entries[0]!.mode
    if (mode === 'broadcast') {
      out[name] = { mode, values: entries[0]!.values }
    } else {
      const all = entries.flatMap((e) => e.values)
      if (mode === 'union') out[name] = { mode, values: all }
      else out[name] = { mode, values: all.slice(Math.floor((all.length * index) / parallelism), Math.floor((all.length * (index + 1)) / parallelism)) }
    }
  }
  return out
}
