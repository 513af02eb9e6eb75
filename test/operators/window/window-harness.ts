// Builds a window operator the way WindowedStream does, inside a KeyedOperatorHarness.

import { KeyedOperatorHarness, type HarnessOptions } from '../../../src/testing/operator-harness.ts'
import { WindowOperator } from '../../../src/operators/window/window-operator.ts'
import { SlicedWindowOperator, canSlice } from '../../../src/operators/window/sliced-window-operator.ts'
import type { WindowSpec } from '../../../src/operators/window/window-spec.ts'

export type Pair = [string, number]
export const byKey = (p: Pair) => p[0]
export const sumPairs = (a: Pair, b: Pair): Pair => [a[0], a[1] + b[1]]

export function windowHarness(spec: Partial<WindowSpec> & Pick<WindowSpec, 'assigner' | 'contents'>, options: HarnessOptions = {}, forceGeneral = false) {
  const full: WindowSpec = {
    trigger: null, evictor: null, allowedLateness: 0, lateDataTag: null, windowFunction: null, allWindows: false,
    keySelector: byKey as (v: unknown) => unknown,
    ...spec,
  }
  const op = !forceGeneral && canSlice(full) ? new SlicedWindowOperator(full) : new WindowOperator(full)
  return new KeyedOperatorHarness<Pair>(op, byKey, options)
}

/** Emitted records as "value@timestamp" strings, sorted (records of one firing have no defined order). */
export function emitted(h: KeyedOperatorHarness<Pair>): string[] {
  return h.output.filter((e) => e.kind === 'record').map((e) => `${JSON.stringify((e as { value: unknown }).value)}@${(e as { timestamp: number | null }).timestamp}`).sort()
}
