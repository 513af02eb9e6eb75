// State objects both keyed backends share: they only read, write and remove the current key's
// value through the backend's accessor, so one implementation serves the heap and LMDB.

import type { ValueState, ListState, ReducingState, AggregatingState } from '../api/state.ts'

/** How a state object reaches the current key's stored value in its table. */
export interface StateAccess<Table> {
  read(table: Table): unknown
  write(table: Table, value: unknown): void
  remove(table: Table): void
}

export class AccessValueState<T, Table> implements ValueState<T> {
  constructor(private readonly access: StateAccess<Table>, private readonly table: Table, private readonly defaultValue: T | undefined) {}
  value(): T {
    const v = this.access.read(this.table)
    return (v === undefined ? this.defaultValue : v) as T
  }
  update(value: T): void {
    this.access.write(this.table, value)
  }
  clear(): void {
    this.access.remove(this.table)
  }
}

/** A backend whose lists a ListState may extend in place while the backend owns them. */
export interface ListAccess<Table> extends StateAccess<Table> {
  /** `current` if it was made since the last snapshot (no snapshot shares it), else a copy; a new list for none. */
  mutableList<T>(current: T[] | undefined): T[]
  /** Marks a new list as made since the last snapshot. */
  ownList<T>(list: T[]): T[]
  /** Whether a list extended in place must still be written back (the write is how the backend sees the change). */
  writesBack(table: Table): boolean
}

const EMPTY: readonly never[] = Object.freeze([])

export class AccessListState<T, Table> implements ListState<T> {
  constructor(private readonly access: ListAccess<Table>, private readonly table: Table) {}
  get(): readonly T[] {
    return (this.access.read(this.table) as T[] | undefined) ?? EMPTY
  }
  add(value: T): void {
    this.addAll([value])
  }
  addAll(values: readonly T[]): void {
    if (values.length === 0) return
    const current = this.access.read(this.table) as T[] | undefined
    const list = this.access.mutableList(current)
    for (const v of values) list.push(v)
    if (list !== current || this.access.writesBack(this.table)) this.access.write(this.table, list)
  }
  update(values: readonly T[]): void {
    this.access.write(this.table, values.length === 0 ? undefined : this.access.ownList([...values]))
  }
  clear(): void {
    this.access.remove(this.table)
  }
}

export class AccessReducingState<T, Table> implements ReducingState<T> {
  constructor(private readonly access: StateAccess<Table>, private readonly table: Table, private readonly reduce: (a: T, b: T) => T) {}
  get(): T | undefined {
    return this.access.read(this.table) as T | undefined
  }
  add(value: T): void {
    const current = this.access.read(this.table) as T | undefined
    this.access.write(this.table, current === undefined ? value : this.reduce(current, value))
  }
  clear(): void {
    this.access.remove(this.table)
  }
}

export class AccessAggregatingState<IN, ACC, OUT, Table> implements AggregatingState<IN, OUT> {
  constructor(
    private readonly access: StateAccess<Table>,
    private readonly table: Table,
    private readonly fn: { createAccumulator(): ACC; add(v: IN, acc: ACC): ACC; getResult(acc: ACC): OUT },
  ) {}
  get(): OUT | undefined {
    const acc = this.access.read(this.table) as ACC | undefined
    return acc === undefined ? undefined : this.fn.getResult(acc)
  }
  add(value: IN): void {
    const acc = (this.access.read(this.table) as ACC | undefined) ?? this.fn.createAccumulator()
    this.access.write(this.table, this.fn.add(value, acc))
  }
  clear(): void {
    this.access.remove(this.table)
  }
}
