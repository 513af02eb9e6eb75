import { test } from 'node:test'
import assert from 'node:assert/strict'
import { FieldAggregationOperator } from '../../src/operators/field-aggregation.ts'
import { HeapKeyedStateBackend } from '../../src/state/heap/keyed-state-backend.ts'
import type { OperatorContext } from '../../src/operators/operator.ts'
import type { KeyedStateBackend } from '../../src/state/keyed-state-backend.ts'

/** Counts the state reads and writes the operator makes through the backend's value states. */
function countingBackend(): { backend: KeyedStateBackend; reads: () => number; writes: () => number; states: string[] } {
  const heap = new HeapKeyedStateBackend(128)
  let reads = 0
  let writes = 0
  const states: string[] = []
  const backend = Object.create(heap) as KeyedStateBackend
  backend.getState = ((descriptor: { name: string }) => {
    states.push(descriptor.name)
    const inner = heap.getState(descriptor as never) as { value(): unknown; update(v: unknown): void; clear(): void }
    return {
      value: () => (reads++, inner.value()),
      update: (v: unknown) => (writes++, inner.update(v)),
      clear: () => inner.clear(),
    }
  }) as KeyedStateBackend['getState']
  backend.setCurrentKey = (k: unknown) => heap.setCurrentKey(k)
  return { backend, reads: () => reads, writes: () => writes, states }
}

function run(kind: 'sum' | 'min' | 'max', records: Array<[string, number, string]>) {
  const counting = countingBackend()
  const out: unknown[] = []
  const op = new FieldAggregationOperator<[string, number, string]>(kind, 1, (r) => r[0])
  op.setup({ keyedBackend: counting.backend, location: { operator: 'sum', subtask: 0 } } as unknown as OperatorContext, { collect: (r: unknown) => out.push(r) } as never)
  op.open()
  for (const r of records) op.processElement(r)
  return { out, ...counting }
}

test('sum keeps one state entry per key and touches it once for reading and once for writing per record', () => {
  const { out, reads, writes, states } = run('sum', [['a', 1, 'x'], ['b', 5, 'y'], ['a', 2, 'z'], ['a', 3, 'w']])
  assert.deepEqual(out, [['a', 1, 'x'], ['b', 5, 'y'], ['a', 3, 'x'], ['a', 6, 'x']])
  assert.deepEqual(states, ['_sum'])
  assert.equal(reads(), 4)
  assert.equal(writes(), 4)
})

test('min and max keep the first record of the key with the extreme value in the field', () => {
  const records: Array<[string, number, string]> = [['a', 4, 'first'], ['a', 2, 'second'], ['a', 9, 'third']]
  assert.deepEqual(run('min', records).out.at(-1), ['a', 2, 'first'])
  assert.deepEqual(run('max', records).out.at(-1), ['a', 9, 'first'])
})

test('an emitted aggregate is not changed by later records of its key', () => {
  const { out } = run('sum', [['a', 1, 'x'], ['a', 1, 'x'], ['a', 1, 'x']])
  assert.deepEqual(out, [['a', 1, 'x'], ['a', 2, 'x'], ['a', 3, 'x']])
})
