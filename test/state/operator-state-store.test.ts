// OperatorStateBackend (split list, union list and broadcast state of one operator in one
// subtask) and redistributeOperatorState (Flink's rules on a restore at another parallelism).

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { OperatorStateBackend, redistributeOperatorState, type OperatorStateSnapshot } from '../../src/state/operator-state-store.ts'
import { ListStateDescriptor, MapStateDescriptor } from '../../src/api/state.ts'
import { isWeirError } from '../../src/errors.ts'

const list = (name: string) => new ListStateDescriptor<number>(name)
const map = (name: string) => new MapStateDescriptor<string, number>(name)

test('split list state: add, addAll, update, clear, get', () => {
  const b = new OperatorStateBackend()
  assert.equal(b.isEmpty, true)
  const s = b.getListState(list('offsets'))
  assert.deepEqual(s.get(), [])
  s.add(1)
  s.addAll([2, 3])
  assert.deepEqual(s.get(), [1, 2, 3])
  s.update([7])
  assert.deepEqual(s.get(), [7])
  s.clear()
  assert.deepEqual(s.get(), [])
  assert.equal(b.isEmpty, false)
  assert.deepEqual(b.snapshot(), { offsets: { mode: 'split', values: [] } })
})

test('the same descriptor twice gives the same state', () => {
  const b = new OperatorStateBackend()
  b.getListState(list('a')).add(1)
  b.getListState(list('a')).add(2)
  assert.deepEqual(b.getListState(list('a')).get(), [1, 2])
  b.getUnionListState(list('u')).add(3)
  assert.deepEqual(b.getUnionListState(list('u')).get(), [3])
  b.getBroadcastState(map('m')).put('x', 1)
  assert.equal(b.getBroadcastState(map('m')).get('x'), 1)
})

test('union list state and broadcast state snapshot with their modes', () => {
  const b = new OperatorStateBackend()
  b.getListState(list('split')).addAll([1, 2])
  b.getUnionListState(list('union')).add(3)
  const bs = b.getBroadcastState(map('rules'))
  bs.put('a', 1)
  bs.putAll([['b', 2], ['c', 3]])
  bs.remove('c')
  assert.equal(bs.contains('a'), true)
  assert.equal(bs.contains('c'), false)
  assert.deepEqual([...bs.keys()], ['a', 'b'])
  assert.deepEqual([...bs.values()], [1, 2])
  assert.deepEqual([...bs.entries()], [['a', 1], ['b', 2]])
  assert.equal(bs.isEmpty(), false)
  assert.deepEqual(b.snapshot(), {
    split: { mode: 'split', values: [1, 2] },
    union: { mode: 'union', values: [3] },
    rules: { mode: 'broadcast', values: [['a', 1], ['b', 2]] },
  })
  bs.clear()
  assert.equal(bs.isEmpty(), true)
})

test('restored state is what the snapshot held, and a copy of it', () => {
  const restored: OperatorStateSnapshot = {
    split: { mode: 'split', values: [1, 2] },
    union: { mode: 'union', values: [3] },
    rules: { mode: 'broadcast', values: [['a', 1]] },
  }
  const b = new OperatorStateBackend(restored)
  const s = b.getListState(list('split'))
  assert.deepEqual(s.get(), [1, 2])
  s.add(9)
  assert.deepEqual(b.getUnionListState(list('union')).get(), [3])
  const r = b.getBroadcastState(map('rules'))
  assert.equal(r.get('a'), 1)
  r.put('z', 26)
  assert.deepEqual(restored.split!.values, [1, 2], 'the restored snapshot is not changed by later writes')
  assert.deepEqual(restored.rules!.values, [['a', 1]])
})

test('mode mismatches fail naming the state', () => {
  const b = new OperatorStateBackend()
  b.getListState(list('offsets'))
  assert.throws(() => b.getUnionListState(list('offsets')), (e: Error) => isWeirError(e) && /'offsets'/.test(e.message) && /split/.test(e.message) && /union/.test(e.message))

  const restored = new OperatorStateBackend({ seen: { mode: 'union', values: [1] }, rules: { mode: 'broadcast', values: [] } })
  assert.throws(() => restored.getListState(list('seen')), (e: Error) => isWeirError(e) && /'seen'/.test(e.message))
  assert.throws(() => restored.getBroadcastState(map('seen')), (e: Error) => isWeirError(e) && /'seen'/.test(e.message))
  assert.throws(() => restored.getListState(list('rules')), (e: Error) => isWeirError(e) && /'rules'/.test(e.message))
})

test('a list state and a broadcast state of the same name cannot both be registered (they would overwrite each other in the snapshot)', () => {
  const b = new OperatorStateBackend()
  b.getListState(list('x')).add(1)
  assert.throws(() => b.getBroadcastState(map('x')), (e: Error) => isWeirError(e) && /'x'/.test(e.message), 'list then broadcast')
  const c = new OperatorStateBackend()
  c.getBroadcastState(map('y')).put('k', 1)
  assert.throws(() => c.getUnionListState(list('y')), (e: Error) => isWeirError(e) && /'y'/.test(e.message), 'broadcast then list')
})

test('the snapshot is a copy: later changes do not reach it', () => {
  const b = new OperatorStateBackend()
  const s = b.getListState(list('split'))
  s.addAll([1, 2])
  const u = b.getUnionListState(list('union'))
  u.add(5)
  const m = b.getBroadcastState(map('rules'))
  m.put('a', 1)
  const snap = b.snapshot()
  s.add(3)
  s.update([100])
  u.clear()
  m.put('a', 2)
  m.put('b', 3)
  assert.deepEqual(snap, {
    split: { mode: 'split', values: [1, 2] },
    union: { mode: 'union', values: [5] },
    rules: { mode: 'broadcast', values: [['a', 1]] },
  })
  // ... and changing the snapshot does not change the state.
  snap.split!.values.push(99)
  assert.deepEqual(s.get(), [100])
})

test('restored state that the function did not ask for (yet) is kept in the next snapshot', () => {
  const restored: OperatorStateSnapshot = { rules: { mode: 'broadcast', values: [['a', 1]] }, ids: { mode: 'split', values: [1, 2] } }
  const b = new OperatorStateBackend(restored)
  // Flink's operator state backend registers every restored state at restore time.
  assert.equal(b.isEmpty, false)
  assert.deepEqual(b.snapshot(), restored)
})

// ---- redistributeOperatorState ----

const split = (...values: unknown[]) => ({ mode: 'split' as const, values })

test('split list state 2 -> 3: every element once, contiguous even shares, in old subtask order', () => {
  const old: OperatorStateSnapshot[] = [{ s: split(1, 2, 3, 4) }, { s: split(5, 6, 7) }]
  const shares = [0, 1, 2].map((i) => redistributeOperatorState(old, i, 3).s!.values)
  assert.deepEqual(shares.flat(), [1, 2, 3, 4, 5, 6, 7])
  const sizes = shares.map((v) => v.length)
  assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `even: ${sizes}`)
  for (let i = 0; i < 3; i++) assert.equal(redistributeOperatorState(old, i, 3).s!.mode, 'split')
})

test('split list state 3 -> 1 gets everything; fewer elements than subtasks leave some empty', () => {
  const old: OperatorStateSnapshot[] = [{ s: split('a') }, { s: split() }, { s: split('b', 'c') }]
  assert.deepEqual(redistributeOperatorState(old, 0, 1).s!.values, ['a', 'b', 'c'])
  const four = [0, 1, 2, 3].map((i) => redistributeOperatorState(old, i, 4).s!.values)
  assert.deepEqual(four.flat().sort(), ['a', 'b', 'c'])
  assert.equal(four.filter((v) => v.length === 0).length, 1)
})

test('union list state: every new subtask gets the union of all old lists', () => {
  const old: OperatorStateSnapshot[] = [{ u: { mode: 'union', values: [1] } }, { u: { mode: 'union', values: [2, 3] } }]
  for (const p of [1, 2, 3]) {
    for (let i = 0; i < p; i++) assert.deepEqual(redistributeOperatorState(old, i, p).u, { mode: 'union', values: [1, 2, 3] })
  }
})

test('broadcast state: every new subtask gets a copy of it', () => {
  const entry = { mode: 'broadcast' as const, values: [['a', 1], ['b', 2]] }
  const old: OperatorStateSnapshot[] = [{ r: entry }, { r: { mode: 'broadcast', values: [['a', 1], ['b', 2]] } }]
  const shares = [0, 1, 2].map((i) => redistributeOperatorState(old, i, 3).r!)
  for (const s of shares) assert.deepEqual(s, entry)
  // Also when only some old subtasks had it.
  assert.deepEqual(redistributeOperatorState([undefined, { r: entry }], 2, 3).r, entry)
})

test('several states at once, and states only some old subtasks had', () => {
  const old: (OperatorStateSnapshot | undefined)[] = [
    { s: split(1, 2), u: { mode: 'union', values: ['x'] } },
    undefined,
    { s: split(3) },
  ]
  const shares = [0, 1].map((i) => redistributeOperatorState(old, i, 2))
  assert.deepEqual(shares.flatMap((s) => s.s!.values), [1, 2, 3])
  for (const s of shares) assert.deepEqual(s.u, { mode: 'union', values: ['x'] })
})

test('empty: no old state gives no state', () => {
  assert.deepEqual(redistributeOperatorState([], 0, 2), {})
  assert.deepEqual(redistributeOperatorState([undefined, undefined], 1, 2), {})
  assert.deepEqual(redistributeOperatorState([{}, {}], 0, 3), {})
  assert.deepEqual(redistributeOperatorState([{ s: split() }], 2, 3), { s: split() })
})
