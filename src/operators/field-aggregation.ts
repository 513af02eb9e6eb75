// Rolling sum / min / max of one numeric field on a keyed stream (Flink's SumAggregator and
// ComparableAggregator behind sum(), min(), max()): emits, after every record, the key's first
// record with the field replaced by the aggregate. One state entry per key holds the aggregate:
// a copy of the key's first record, owned by this operator, with the aggregate in the field.
// On the heap backend the entry is changed in place while no snapshot can see it
// (InPlaceValueState), so a record costs one state lookup and one copy of the record: the
// emitted output, which later records never change (Flink's rule without object reuse). After a
// snapshot froze the entry, the first record of its key copies it into the live layer; on LMDB
// every record reads, copies and writes the entry.

import { BaseOperator } from './operator.ts'
import type { KeySelector } from '../api/functions.ts'
import { ValueStateDescriptor, type ValueState } from '../api/state.ts'
import type { InPlaceValueState } from '../state/keyed-state-backend.ts'

export type AggregationKind = 'sum' | 'min' | 'max'

export class FieldAggregationOperator<T> extends BaseOperator<T, T> {
  private aggregate!: ValueState<T | undefined>
  /** The aggregate state's in-place access, when its backend offers one (heap). */
  private inPlace: InPlaceValueState<T | undefined> | null = null
  private readonly isSum: boolean
  private readonly isMin: boolean

  constructor(private readonly kind: AggregationKind, private readonly field: string | number, private readonly keySelector: KeySelector<T, unknown>) {
    super()
    this.isSum = kind === 'sum'
    this.isMin = kind === 'min'
  }

  override open(): void {
    this.aggregate = this.ctx.keyedBackend!.getState(new ValueStateDescriptor<T | undefined>(`_${this.kind}`))
    const state = this.aggregate as Partial<InPlaceValueState<T | undefined>>
    this.inPlace = typeof state.valueForChange === 'function' ? (state as InPlaceValueState<T | undefined>) : null
  }

  processElement(record: T): void {
    let value: unknown
    try {
      this.ctx.keyedBackend!.setCurrentKey(this.keySelector(record))
      value = (record as Record<string | number, unknown>)[this.field]
      if (typeof value !== 'number') throw new TypeError(`${this.kind}(${JSON.stringify(this.field)}): field ${JSON.stringify(this.field)} is not a number in ${JSON.stringify(record)}`)
    } catch (e) {
      throw this.userError(e)
    }
    const field = this.field
    const owned = this.inPlace !== null ? (this.inPlace.valueForChange() as Record<string | number, unknown> | undefined) : undefined
    if (owned !== undefined) {
      owned[field] = this.combine(owned[field] as number, value)
      this.output.collect(copyRecord(owned) as T)
      return
    }
    const last = this.aggregate.value() as Record<string | number, unknown> | undefined
    if (last === undefined) {
      // In place (heap), the stored entry is a copy: the record itself goes downstream.
      this.aggregate.update((this.inPlace !== null ? copyRecord(record as Record<string | number, unknown>) : record) as T)
      this.output.collect(record)
      return
    }
    const next = copyRecord(last)
    next[field] = this.combine(last[field] as number, value)
    this.aggregate.update(next as T)
    // In place from now on (heap): the output must be another copy. Without in-place access
    // (LMDB serializes what it stores) the stored copy is the output, as before.
    this.output.collect((this.inPlace !== null ? copyRecord(next) : next) as T)
  }

  private combine(current: number, value: number): number {
    return this.isSum ? current + value : this.isMin ? (value < current ? value : current) : value > current ? value : current
  }
}

/** A shallow copy of a tuple or a flat record. */
function copyRecord(record: Record<string | number, unknown>): Record<string | number, unknown> {
  return (Array.isArray(record) ? record.slice() : { ...record }) as Record<string | number, unknown>
}
