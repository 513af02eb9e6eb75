// What a window operator is built from (WindowedStream collects it): the assigner, trigger,
// evictor, lateness, late-data tag, how contents are kept (reduced, aggregated or listed) and
// the function that emits a window.

import type { KeySelector, ReduceFunction } from '../../api/functions.ts'
import type { AggregateFunction } from '../../api/state.ts'
import type { WindowAssigner } from '../../api/windowing/assigners.ts'
import type { Trigger } from '../../api/windowing/triggers.ts'
import type { Evictor } from '../../api/windowing/evictors.ts'
import type { Window } from '../../api/windowing/windows.ts'
import type { ProcessWindowFunction } from '../../api/windowing/window-functions.ts'

export type WindowContents =
  | { readonly kind: 'reduce'; readonly reduce: ReduceFunction<unknown> }
  | { readonly kind: 'aggregate'; readonly aggregate: AggregateFunction<unknown, unknown, unknown> }
  | { readonly kind: 'list' }

export interface WindowSpec {
  readonly assigner: WindowAssigner<unknown, Window>
  /** null: the assigner's default. */
  readonly trigger: Trigger<unknown, Window> | null
  readonly evictor: Evictor<unknown, Window> | null
  readonly allowedLateness: number
  readonly lateDataTag: string | null
  readonly contents: WindowContents
  /** null: emit the reduced or aggregated value itself. */
  readonly windowFunction: ProcessWindowFunction<unknown, unknown, unknown, Window> | null
  /** windowAll: the function takes no key. */
  readonly allWindows: boolean
  readonly keySelector: KeySelector<unknown, unknown>
}

/** The reduce function as a plain function. */
export function reducer(fn: ReduceFunction<unknown>): (a: unknown, b: unknown) => unknown {
  return typeof fn === 'function' ? fn : fn.reduce.bind(fn)
}
