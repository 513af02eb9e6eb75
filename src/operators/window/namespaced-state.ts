// Keyed state scoped to a namespace (a window) as well as to the key: trigger state,
// ProcessWindowFunction.windowState() and window contents. Each descriptor is backed by one map
// state of the keyed backend, from namespace to value, so both backends store, checkpoint and
// rescale it like any other keyed state (through their public state API).

import type { MapState, StateDescriptor, ValueState, ReducingState, AggregatingState, ListState } from '../../api/state.ts'
import { MapStateDescriptor } from '../../api/state.ts'
import type { KeyedStateBackend, StateFor } from '../../state/keyed-state-backend.ts'
import { UserError } from '../../errors.ts'

/** The namespace the states read and write; the operator sets it before calling the user. */
export class Namespace {
  current = ''
}

export class NamespacedStateStore {
  private readonly states = new Map<string, { kind: string; state: unknown; map: MapState<string, unknown>; descriptor: StateDescriptor }>()

  constructor(private readonly backend: KeyedStateBackend, private readonly ns: Namespace, private readonly prefix: string) {}

  getState<D extends StateDescriptor>(descriptor: D): StateFor<D> {
    const known = this.states.get(descriptor.name)
    if (known) {
      if (known.kind !== descriptor.kind) throw new UserError('WEIR_INVALID_JOB', `window state '${descriptor.name}' is already registered as ${known.kind} state; it cannot also be ${descriptor.kind} state`)
      return known.state as StateFor<D>
    }
    const map = this.backend.getState(new MapStateDescriptor<string, unknown>(`${this.prefix}${descriptor.name}`))
    const state = this.create(descriptor, map)
    this.states.set(descriptor.name, { kind: descriptor.kind, state, map, descriptor })
    return state as StateFor<D>
  }

  /** Merges the values of `sources` into `target` (session windows), then removes the sources. */
  merge(descriptor: StateDescriptor, target: string, sources: readonly string[]): void {
    this.getState(descriptor)
    const { map } = this.states.get(descriptor.name)!
    let acc = map.get(target)
    for (const s of sources) {
      const v = map.get(s)
      if (v === undefined) continue
      map.remove(s)
      acc = acc === undefined ? v : this.combine(descriptor, acc, v)
    }
    if (acc !== undefined) map.put(target, acc)
  }

  /** Removes the values of every registered state for a namespace. */
  clearNamespace(ns: string): void {
    for (const { map } of this.states.values()) map.remove(ns)
  }

  private combine(d: StateDescriptor, a: unknown, b: unknown): unknown {
    switch (d.kind) {
      case 'reducing':
        return d.reduce(a, b)
      case 'aggregating':
        if (!d.aggregate.merge) throw new UserError('WEIR_INVALID_JOB', `merging windows need AggregateFunction.merge in state '${d.name}'`)
        return d.aggregate.merge(a, b)
      case 'list':
        return [...(a as unknown[]), ...(b as unknown[])]
      default:
        throw new UserError('WEIR_INVALID_JOB', `${d.kind} state '${d.name}' cannot be merged when windows merge; use reducing, aggregating or list state`)
    }
  }

  private create(d: StateDescriptor, map: MapState<string, unknown>): unknown {
    const ns = this.ns
    switch (d.kind) {
      case 'value': {
        const s: ValueState<unknown> = {
          value: () => { const v = map.get(ns.current); return v === undefined ? d.defaultValue : v },
          update: (v) => map.put(ns.current, v),
          clear: () => map.remove(ns.current),
        }
        return s
      }
      case 'reducing': {
        const s: ReducingState<unknown> = {
          get: () => map.get(ns.current),
          add: (v) => { const cur = map.get(ns.current); map.put(ns.current, cur === undefined ? v : d.reduce(cur, v)) },
          clear: () => map.remove(ns.current),
        }
        return s
      }
      case 'aggregating': {
        const f = d.aggregate
        const s: AggregatingState<unknown, unknown> = {
          get: () => { const acc = map.get(ns.current); return acc === undefined ? undefined : f.getResult(acc) },
          add: (v) => { const acc = map.get(ns.current) ?? f.createAccumulator(); map.put(ns.current, f.add(v, acc)) },
          clear: () => map.remove(ns.current),
        }
        return s
      }
      case 'list': {
        const s: ListState<unknown> = {
          get: () => (map.get(ns.current) as unknown[] | undefined) ?? [],
          add: (v) => map.put(ns.current, [...((map.get(ns.current) as unknown[] | undefined) ?? []), v]),
          addAll: (vs) => map.put(ns.current, [...((map.get(ns.current) as unknown[] | undefined) ?? []), ...vs]),
          update: (vs) => map.put(ns.current, [...vs]),
          clear: () => map.remove(ns.current),
        }
        return s
      }
      default:
        throw new UserError('WEIR_INVALID_JOB', `map state '${d.name}' is not available per window; use value, list, reducing or aggregating state`)
    }
  }
}

/**
 * The elements of each window with their timestamps (windows without an incremental
 * aggregate, or with an evictor): entry `${ns}#${i}` per element and a count per namespace, so
 * an append writes two entries and never copies the window.
 */
export class ListContents {
  private readonly elements: MapState<string, [unknown, number]>
  private readonly counts: MapState<string, number>
  constructor(backend: KeyedStateBackend) {
    this.elements = backend.getState(new MapStateDescriptor<string, [unknown, number]>('window-elements'))
    this.counts = backend.getState(new MapStateDescriptor<string, number>('window-element-count'))
  }
  add(ns: string, value: unknown, timestamp: number): void {
    const n = this.counts.get(ns) ?? 0
    this.elements.put(`${ns}#${n}`, [value, timestamp])
    this.counts.put(ns, n + 1)
  }
  size(ns: string): number {
    return this.counts.get(ns) ?? 0
  }
  get(ns: string): Array<[unknown, number]> {
    const n = this.counts.get(ns) ?? 0
    const out: Array<[unknown, number]> = new Array(n)
    for (let i = 0; i < n; i++) out[i] = this.elements.get(`${ns}#${i}`)!
    return out
  }
  clear(ns: string): void {
    const n = this.counts.get(ns) ?? 0
    for (let i = 0; i < n; i++) this.elements.remove(`${ns}#${i}`)
    this.counts.remove(ns)
  }
  replace(ns: string, entries: ReadonlyArray<readonly [unknown, number]>): void {
    this.clear(ns)
    entries.forEach((e, i) => this.elements.put(`${ns}#${i}`, [e[0], e[1]]))
    if (entries.length > 0) this.counts.put(ns, entries.length)
  }
  /** Appends the elements of `sources` to `target` (merging session windows). */
  merge(target: string, sources: readonly string[]): void {
    let n = this.counts.get(target) ?? 0
    for (const s of sources) {
      for (const e of this.get(s)) this.elements.put(`${target}#${n++}`, e)
      this.clear(s)
    }
    if (n > 0) this.counts.put(target, n)
  }
}
