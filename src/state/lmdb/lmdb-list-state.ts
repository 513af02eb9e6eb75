// ListState on the LMDB backend: the whole list is one value (MessagePack array) per user key,
// extended in place while it is owned (made since the last capture), copied otherwise.

import type { ListState } from '../../api/state.ts'
import type { Table } from './write-generations.ts'
import type { LmdbKeyedStateBackend } from './lmdb-keyed-state-backend.ts'

const EMPTY: readonly never[] = Object.freeze([])

export class LmdbListState<T> implements ListState<T> {
  constructor(private readonly backend: LmdbKeyedStateBackend, private readonly table: Table) {}
  get(): readonly T[] {
    return (this.backend.read(this.table) as T[] | undefined) ?? EMPTY
  }
  add(value: T): void {
    this.addAll([value])
  }
  addAll(values: readonly T[]): void {
    if (values.length === 0) return
    const list = this.backend.mutableList(this.backend.read(this.table) as T[] | undefined)
    for (const v of values) list.push(v)
    this.backend.write(this.table, list)
  }
  update(values: readonly T[]): void {
    this.backend.write(this.table, values.length === 0 ? undefined : this.backend.ownList([...values]))
  }
  clear(): void {
    this.backend.remove(this.table)
  }
}
