// Rolling sum / min / max of one numeric field on a keyed stream (Flink's SumAggregator and
// ComparableAggregator behind sum(), min(), max()): emits, after every record, the key's first
// record with the field replaced by the aggregate. One state entry per key holds the last
// emitted record (the first record's other fields, the aggregate in the field), so a record
// costs one read and one write of state and one copy of the record: the copy is the output,
// and also the next stored value. The emitted record must not be changed downstream (Flink's
// rule without object reuse for values a function keeps).

import { BaseOperator } from './operator.ts'
import type { KeySelector } from '../api/functions.ts'
import { ValueStateDescriptor, type ValueState } from '../api/state.ts'

export type AggregationKind = 'sum' | 'min' | 'max'

export class FieldAggregationOperator<T> extends BaseOperator<T, T> {
  private aggregate!: ValueState<T | undefined>
  private readonly isSum: boolean
  private readonly isMin: boolean

  constructor(private readonly kind: AggregationKind, private readonly field: string | number, private readonly keySelector: KeySelector<T, unknown>) {
    super()
    this.isSum = kind === 'sum'
    this.isMin = kind === 'min'
  }

  override open(): void {
    this.aggregate = this.ctx.keyedBackend!.getState(new ValueStateDescriptor<T | undefined>(`_${this.kind}`))
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
    const last = this.aggregate.value() as Record<string | number, unknown> | undefined
    if (last === undefined) {
      this.aggregate.update(record)
      this.output.collect(record)
      return
    }
    const current = last[this.field] as number
    const next = this.isSum ? current + value : this.isMin ? (value < current ? value : current) : value > current ? value : current
    const out = (Array.isArray(last) ? last.slice() : { ...last }) as Record<string | number, unknown>
    out[this.field] = next
    this.aggregate.update(out as T)
    this.output.collect(out as T)
  }
}
