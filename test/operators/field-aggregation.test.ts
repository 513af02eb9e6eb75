import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LmdbKeyedStateBackend } from '../../src/state/lmdb/lmdb-keyed-state-backend.ts'
import { FieldAggregationOperator } from '../../src/operators/field-aggregation.ts'
import { HeapKeyedStateBackend } from '../../src/state/heap/keyed-state-backend.ts'
import type { OperatorContext } from '../../src/operators/operator.ts'
import type { KeyedStateBackend } from '../../src/state/keyed-state-backend.ts'
import { entryChunks, type CanonicalEntryList } from '../../src/state/entry-chunks.ts'

/** A snapshot's entries as one flat list (a heap snapshot builds them in chunks). */
const flat = (entries: CanonicalEntryList) => entryChunks(entries).flat()

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

/** The operator on a real heap backend (in-place aggregates), with every emitted record kept. */
function onHeap(backend = new HeapKeyedStateBackend(128)) {
  const out: Array<[string, number, string]> = []
  const op = new FieldAggregationOperator<[string, number, string]>('sum', 1, (r) => r[0])
  op.setup({ keyedBackend: backend, location: { operator: 'sum', subtask: 0 } } as unknown as OperatorContext, { collect: (r: [string, number, string]) => out.push(r) } as never)
  op.open()
  return { backend, op, out }
}

test('on the heap, emitted aggregates and the input records stay as they were while the aggregate changes in place', () => {
  const { op, out } = onHeap()
  const inputs: Array<[string, number, string]> = [['a', 1, 'x'], ['a', 2, 'y'], ['b', 5, 'z'], ['a', 3, 'w']]
  for (const r of inputs) op.processElement(r)
  assert.deepEqual(out, [['a', 1, 'x'], ['a', 3, 'x'], ['b', 5, 'z'], ['a', 6, 'x']])
  assert.deepEqual(inputs, [['a', 1, 'x'], ['a', 2, 'y'], ['b', 5, 'z'], ['a', 3, 'w']])
  assert.equal(new Set(out).size, out.length, 'every emitted record is an object of its own')
})

test('on the heap, a snapshot keeps the aggregates of its capture while later records change them, before and after its release', async () => {
  const { backend, op, out } = onHeap()
  op.processElement(['a', 1, 'x'])
  op.processElement(['a', 1, 'x'])
  const first = backend.captureSnapshot(1, { savepoint: false })
  op.processElement(['b', 7, 'y'])
  const materialized = await backend.materializeSnapshot(first)
  const entries = () => {
    const s = materialized as { states: Record<string, { entries: CanonicalEntryList }> }
    return flat(s.states._sum!.entries).filter((_v, i) => i % 3 !== 0)
  }
  assert.deepEqual(entries(), ['a', ['a', 2, 'x']])
  // Released: the layers fold back together (between records, in slices) and the aggregate is
  // changed in place again; the materialized snapshot (serialized later) must not follow.
  const table = (backend as unknown as { tables: Map<string, { data: { frozen: unknown[]; live: Map<unknown, unknown> } }> }).tables.get('_sum')!.data
  while (table.frozen.length > 0) await new Promise((resolve) => setImmediate(resolve))
  assert.ok(table.live.has('a'), 'folded back into one table')
  for (let i = 0; i < 5; i++) op.processElement(['a', 100, 'x'])
  assert.deepEqual(entries(), ['a', ['a', 2, 'x']])
  assert.deepEqual(out.at(-1), ['a', 502, 'x'])
  const second = await backend.materializeSnapshot(backend.captureSnapshot(2, { savepoint: false }))
  const s2 = second as { states: Record<string, { entries: CanonicalEntryList }> }
  assert.deepEqual(flat(s2.states._sum!.entries).filter((_v, i) => i % 3 !== 0).sort(), ['a', ['a', 502, 'x'], 'b', ['b', 7, 'y']].sort())
})

test('on the heap, aggregates restored from a snapshot go on from their values', async () => {
  const { backend, op } = onHeap()
  op.processElement(['a', 4, 'x'])
  const snapshot = await backend.materializeSnapshot(backend.captureSnapshot(1, { savepoint: false }))
  const restored = new HeapKeyedStateBackend(128)
  restored.restore(snapshot, { start: 0, end: 127 })
  const again = onHeap(restored)
  again.op.processElement(['a', 1, 'y'])
  again.op.processElement(['a', 1, 'y'])
  assert.deepEqual(again.out, [['a', 5, 'x'], ['a', 6, 'x']])
})

/** A word count's sum: pairs of (word, n) keyed by the word, on a given backend. */
function pairs(kind: 'sum' | 'min' | 'max', backend: KeyedStateBackend = new HeapKeyedStateBackend(128), field: 0 | 1 = 1) {
  const out: unknown[] = []
  const op = new FieldAggregationOperator<[unknown, unknown]>(kind, field, (r) => r[1 - field])
  op.setup({ keyedBackend: backend, location: { operator: kind, subtask: 0 } } as unknown as OperatorContext, { collect: (r: unknown) => out.push(r) } as never)
  op.open()
  return { backend, op, out }
}

test('a pair of the key and a number keeps only the number as its aggregate, and emits the same records as the general form', async () => {
  const { backend, op, out } = pairs('sum')
  const inputs: Array<[string, number]> = [['a', 1], ['b', 5], ['a', 2], ['a', 3]]
  for (const r of inputs) op.processElement(r)
  assert.deepEqual(out, [['a', 1], ['b', 5], ['a', 3], ['a', 6]])
  assert.deepEqual(inputs, [['a', 1], ['b', 5], ['a', 2], ['a', 3]], 'input records are not changed')
  assert.equal(new Set(out).size, out.length, 'every emitted record is an object of its own')
  const s = (await backend.materializeSnapshot(backend.captureSnapshot(1, { savepoint: false }))) as { states: Record<string, { entries: CanonicalEntryList }> }
  assert.deepEqual(flat(s.states._sum!.entries).filter((_v, i) => i % 3 !== 0).sort(), ['a', 6, 'b', 5].sort())
  // The general form (a third element) gives the same records for the same pairs.
  const general = run('sum', inputs.map(([w, n]) => [w, n, ''] as [string, number, string])).out.map((r) => (r as unknown[]).slice(0, 2))
  assert.deepEqual(general, out)
})

test('the compact form works with the field first, for min and max, and after a snapshot froze the aggregate', async () => {
  const min = pairs('min', undefined, 0)
  for (const r of [[4, 'a'], [2, 'a'], [9, 'a']] as Array<[number, string]>) min.op.processElement(r)
  assert.deepEqual(min.out, [[4, 'a'], [2, 'a'], [2, 'a']])
  const max = pairs('max')
  max.op.processElement(['a', 4])
  const capture = max.backend.captureSnapshot(1, { savepoint: false })
  max.op.processElement(['a', 9])
  max.op.processElement(['a', 1])
  const s = (await max.backend.materializeSnapshot(capture)) as { states: Record<string, { entries: CanonicalEntryList }> }
  assert.deepEqual(flat(s.states._max!.entries).slice(1), ['a', 4])
  assert.deepEqual(max.out, [['a', 4], ['a', 9], ['a', 9]])
})

test('pairs that do not carry their key, or whose key is not a string, keep the general form', () => {
  // keyed by something else than the pair's other element
  const out: unknown[] = []
  const op = new FieldAggregationOperator<[string, number]>('sum', 1, (r) => r[0].toUpperCase())
  op.setup({ keyedBackend: new HeapKeyedStateBackend(128), location: { operator: 'sum', subtask: 0 } } as unknown as OperatorContext, { collect: (r: unknown) => out.push(r) } as never)
  op.open()
  op.processElement(['a', 1])
  op.processElement(['A', 2])
  assert.deepEqual(out, [['a', 1], ['a', 3]], 'the first record of the key, with the sum')
  const numeric = pairs('sum')
  numeric.op.processElement([7, 1])
  numeric.op.processElement([7, 1])
  assert.deepEqual(numeric.out, [[7, 1], [7, 2]])
})

test('restored general-form aggregates of pairs go on in that form', async () => {
  const first = pairs('sum')
  first.op.processElement(['a', 1])
  const snapshot = (await first.backend.materializeSnapshot(first.backend.captureSnapshot(1, { savepoint: false }))) as { states: Record<string, { entries: CanonicalEntryList }> }
  // What an older version wrote: the record as the aggregate.
  const entries = flat(snapshot.states._sum!.entries)
  entries[2] = ['a', 10]
  snapshot.states._sum = { ...snapshot.states._sum!, entries }
  const restored = new HeapKeyedStateBackend(128)
  restored.restore(snapshot as never, { start: 0, end: 127 })
  const again = pairs('sum', restored)
  again.op.processElement(['a', 1])
  again.op.processElement(['a', 2])
  assert.deepEqual(again.out, [['a', 11], ['a', 13]])
})

test('compact aggregates taken on the heap go on from a savepoint on LMDB, and back', async () => {
  const root = mkdtempSync(join(tmpdir(), 'weir-field-aggregation-test-'))
  after(() => rmSync(root, { recursive: true, force: true }))
  const heap = pairs('sum')
  for (const r of [['a', 1], ['b', 2], ['a', 3]] as Array<[string, number]>) heap.op.processElement(r)
  const savepoint = await heap.backend.materializeSnapshot(heap.backend.captureSnapshot(1, { savepoint: true }))
  const lmdbBackend = new LmdbKeyedStateBackend({ type: 'lmdb', localDir: join(root, 'local'), incremental: false, jobId: 'j', attempt: 0, sharedDir: join(root, 'shared') }, { maxParallelism: 128, operatorUid: 'sum', subtaskIndex: 0 })
  try {
    lmdbBackend.restore(savepoint, { start: 0, end: 127 })
    const onLmdb = pairs('sum', lmdbBackend)
    onLmdb.op.processElement(['a', 10])
    onLmdb.op.processElement(['b', 1])
    assert.deepEqual(onLmdb.out, [['a', 14], ['b', 3]])
    const back = await lmdbBackend.materializeSnapshot(lmdbBackend.captureSnapshot(2, { savepoint: true }))
    const again = pairs('sum', (() => {
      const b = new HeapKeyedStateBackend(128)
      b.restore(back, { start: 0, end: 127 })
      return b
    })())
    again.op.processElement(['a', 1])
    assert.deepEqual(again.out, [['a', 15]])
  } finally {
    lmdbBackend.dispose()
  }
})
