// Rolling reduce on a keyed stream (Flink's StreamGroupedReduce, behind reduce, sum, min and
// max): keeps the reduced value per key in keyed state and emits it after every record.

import { BaseOperator } from './operator.ts'
import { openFunction, closeFunction, type ReduceFunction, type KeySelector } from '../api/functions.ts'
import type { ValueState } from '../api/state.ts'
import { ValueStateDescriptor } from '../api/state.ts'

export class GroupedReduceOperator<T> extends BaseOperator<T, T> {
  private readonly fn: (a: T, b: T) => T
  private state!: ValueState<T | undefined>
  constructor(private readonly userFunction: ReduceFunction<T>, private readonly keySelector: KeySelector<T, unknown>) {
    super()
    this.fn = typeof userFunction === 'function' ? userFunction : userFunction.reduce.bind(userFunction)
  }
  protected override functionForState(): unknown {
    return this.userFunction
  }
  override open(): void {
    this.notificationTarget = this.userFunction
    this.state = this.ctx.keyedBackend!.getValueState(new ValueStateDescriptor<T | undefined>('_reduce'))
    openFunction(this.userFunction, this.ctx.runtimeContext)
  }
  processElement(record: T): void {
    let next: T
    try {
      this.ctx.keyedBackend!.setCurrentKey(this.keySelector(record))
      const current = this.state.value()
      next = current === undefined ? record : this.fn(current, record)
    } catch (e) {
      throw this.userError(e)
    }
    this.state.update(next)
    this.output.collect(next)
  }
  override close(): void {
    closeFunction(this.userFunction)
  }
}

/** Flink's field aggregations: the first record's other fields, with the field summed / min'd / max'd. */
export function fieldAggregation<T>(kind: 'sum' | 'min' | 'max', field: string | number, where: string): (a: T, b: T) => T {
  const combine = kind === 'sum' ? (x: number, y: number) => x + y : kind === 'min' ? Math.min : Math.max
  return (a: T, b: T): T => {
    const av = (a as Record<string | number, unknown>)[field]
    const bv = (b as Record<string | number, unknown>)[field]
    if (typeof av !== 'number' || typeof bv !== 'number') {
      throw new TypeError(`${where}: field ${JSON.stringify(field)} is not a number in ${JSON.stringify(typeof av !== 'number' ? a : b)}`)
    }
    const result = (Array.isArray(a) ? a.slice() : { ...(a as object) }) as Record<string | number, unknown>
    result[field] = combine(av, bv)
    return result as T
  }
}
