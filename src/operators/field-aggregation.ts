// Rolling sum / min / max of one numeric field on a keyed stream (Flink's SumAggregator and
// ComparableAggregator behind sum(), min(), max()): emits, after every record, the key's first
// record with the field replaced by the aggregate. One state entry per key holds the aggregate,
// in one of two forms:
//
// - compact: the aggregate alone, a number. Used when the key's first record is a pair whose
//   other element is the key itself (a string), as in a word count's [word, 1] keyed by
//   pair[0]: that record with the field replaced is rebuilt from the key and the number, so no
//   copy of it need be kept. A record costs one state read and one write of a number (on the
//   heap the write finds the entry the read just found) and one new pair, the output.
// - record: a copy of the key's first record, owned by this operator, with the aggregate in the
//   field. On the heap the entry is changed in place while no snapshot can see it
//   (InPlaceValueState), so a record costs one state lookup and one copy of the record: the
//   emitted output, which later records never change (Flink's rule without object reuse). After
//   a snapshot froze the entry, the first record of its key copies it into the live layer; on
//   LMDB every record reads, copies and writes the entry.
//
// A key keeps the form its first record gave it (restored entries too: a snapshot holds either).

import { BaseOperator } from './operator.ts'
import type { KeySelector } from '../api/functions.ts'
import { ValueStateDescriptor, type ValueState } from '../api/state.ts'
import type { InPlaceValueState } from '../state/keyed-state-backend.ts'

export type AggregationKind = 'sum' | 'min' | 'max'

export class FieldAggregationOperator<T> extends BaseOperator<T, T> {
  private aggregate!: ValueState<unknown>
  /** The aggregate state's in-place access, when its backend offers one (heap). */
  private inPlace: InPlaceValueState<unknown> | null = null
  private readonly isSum: boolean
  private readonly isMin: boolean
  /** The element of a pair that is not the field (compact form), or -1: the field is not 0 or 1. */
  private readonly keyIndex: number

  constructor(private readonly kind: AggregationKind, private readonly field: string | number, private readonly keySelector: KeySelector<T, unknown>) {
    super()
    this.isSum = kind === 'sum'
    this.isMin = kind === 'min'
    this.keyIndex = field === 1 ? 0 : field === 0 ? 1 : -1
  }

  override open(): void {
    this.aggregate = this.ctx.keyedBackend!.getState(new ValueStateDescriptor<unknown>(`_${this.kind}`))
    const state = this.aggregate as Partial<InPlaceValueState<unknown>>
    this.inPlace = typeof state.valueForChange === 'function' ? (state as InPlaceValueState<unknown>) : null
  }

  processElement(record: T): void {
    let key: unknown
    let value: unknown
    try {
      key = this.keySelector(record)
      this.ctx.keyedBackend!.setCurrentKey(key)
      value = (record as Record<string | number, unknown>)[this.field]
      if (typeof value !== 'number') throw new TypeError(`${this.kind}(${JSON.stringify(this.field)}): field ${JSON.stringify(this.field)} is not a number in ${JSON.stringify(record)}`)
    } catch (e) {
      throw this.userError(e)
    }
    const field = this.field
    // The live layer first (heap): a record there may be changed in place.
    let stored = this.inPlace !== null ? this.inPlace.valueForChange() : undefined
    if (typeof stored === 'object' && stored !== null) {
      const owned = stored as Record<string | number, unknown>
      owned[field] = this.combine(owned[field] as number, value)
      this.output.collect(copyRecord(owned) as T)
      return
    }
    if (stored === undefined) stored = this.inPlace !== null ? this.inPlace.valueAfterMiss() : this.aggregate.value()
    if (typeof stored === 'number') {
      const next = this.combine(stored, value)
      this.aggregate.update(next)
      this.output.collect(this.rebuild(key as string, next) as T)
      return
    }
    if (stored === undefined) {
      if (this.keyIndex >= 0 && typeof key === 'string' && Array.isArray(record) && record.length === 2 && record[this.keyIndex] === key) {
        this.aggregate.update(value)
      } else {
        // In place (heap), the stored entry is a copy: the record itself goes downstream.
        this.aggregate.update(this.inPlace !== null ? copyRecord(record as Record<string | number, unknown>) : record)
      }
      this.output.collect(record)
      return
    }
    const last = stored as Record<string | number, unknown>
    const next = copyRecord(last)
    next[field] = this.combine(last[field] as number, value)
    this.aggregate.update(next)
    // In place from now on (heap): the output must be another copy. Without in-place access
    // (LMDB serializes what it stores) the stored copy is the output, as before.
    this.output.collect((this.inPlace !== null ? copyRecord(next) : next) as T)
  }

  /** The key's first record (a pair of the key and the field) with `aggregate` in the field. */
  private rebuild(key: string, aggregate: number): unknown[] {
    return this.keyIndex === 0 ? [key, aggregate] : [aggregate, key]
  }

  private combine(current: number, value: number): number {
    return this.isSum ? current + value : this.isMin ? (value < current ? value : current) : value > current ? value : current
  }
}

/** A shallow copy of a tuple or a flat record. */
function copyRecord(record: Record<string | number, unknown>): Record<string | number, unknown> {
  return (Array.isArray(record) ? record.slice() : { ...record }) as Record<string | number, unknown>
}
