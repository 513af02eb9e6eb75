// Rolling sum / min / max of one numeric field on a keyed stream (Flink's SumAggregator and
// ComparableAggregator behind sum(), min(), max()): emits, after every record, the key's first
// record with the field replaced by the aggregate. The aggregate is kept as a plain number and
// the first record apart from it, so an update stores a number instead of a fresh record: the
// state stays small and the garbage collector does not have to promote a copy per record.

import { BaseOperator } from './operator.ts'
import type { KeySelector } from '../api/functions.ts'
import { ValueStateDescriptor, type ValueState } from '../api/state.ts'

export type AggregationKind = 'sum' | 'min' | 'max'

export class FieldAggregationOperator<T> extends BaseOperator<T, T> {
  private first!: ValueState<T | undefined>
  private aggregate!: ValueState<number | undefined>
  private readonly isSum: boolean
  private readonly isMin: boolean

  constructor(private readonly kind: AggregationKind, private readonly field: string | number, private readonly keySelector: KeySelector<T, unknown>) {
    super()
    this.isSum = kind === 'sum'
    this.isMin = kind === 'min'
  }

  override open(): void {
    const backend = this.ctx.keyedBackend!
    this.first = backend.getState(new ValueStateDescriptor<T | undefined>(`_${this.kind}_first`))
    this.aggregate = backend.getState(new ValueStateDescriptor<number | undefined>(`_${this.kind}_value`))
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
    const current = this.aggregate.value()
    if (current === undefined) {
      this.first.update(record)
      this.aggregate.update(value)
      this.output.collect(record)
      return
    }
    const next = this.isSum ? current + value : this.isMin ? (value < current ? value : current) : value > current ? value : current
    this.aggregate.update(next)
    const template = this.first.value() as T
    const out = (Array.isArray(template) ? template.slice() : { ...(template as object) }) as Record<string | number, unknown>
    out[this.field] = next
    this.output.collect(out as T)
  }
}
